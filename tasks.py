"""Tasks of this blog: verify every code snippet of every post, then build the site with Jekyll (the tasks every
blog gets from `snipcheck init`), and the project's own: its tests, its benchmark and its code colours.
`invoke --list` shows them; each one's work is done by the `snipcheck` package."""

import sys
from pathlib import Path

from invoke import Exit, task

from snipcheck.tasks import blog_tasks, run

ROOT = Path(__file__).resolve().parent
namespace = blog_tasks(ROOT)
setup, test_snippets = namespace["setup"], namespace["test-snippets"]


@task(pre=[setup], help={"browser": "run the browser tests too (installs Chromium)"})
def test(c, browser=True):
    """The whole test suite: the project's own tests, then every snippet of every post."""
    if browser:
        from snipcheck import toolchain
        run(ROOT, toolchain.ensure, ROOT, browser=True)
    code = c.run(f"{sys.executable} -m pytest tests", warn=True, pty=False).exited
    test_snippets(c)
    if code:
        raise Exit("The project's tests failed (see above).", 1)


BENCH_HELP = {"posts": "posts of the trivial corpus (default 10)",
              "snippets": "trivial asyncio snippets per post (default 20: 200 in all)",
              "sleepers": "snippets of the sleeping corpus, 10 to a post (default 60)",
              "sleep": "seconds each of those waits on the event loop (default 1)",
              "serial": "also time ours on the sleeping corpus one snippet at a time (default on)",
              "peers_on_sleep": "also run Sybil and pytest-markdown-docs on the sleeping corpus: serially, about "
                                "sleepers x sleep seconds each (default on)",
              "via": "how ours runs: 'invoke' (`invoke test-snippets`, default) or 'pytest' "
                     "(`pytest _posts -p snipcheck.pytest_plugin`)",
              "timeout": "seconds any one command may take; past it, it is stopped and shown as timed out "
                         "(default 120)"}


@task(pre=[setup], auto_shortflags=False, help=BENCH_HELP)
def bench(c, posts=10, snippets=20, sleepers=60, sleep=1.0, serial=True, peers_on_sleep=True, via="invoke",
          timeout=120.0):
    """Time verification beside Sybil and pytest-markdown-docs on generated posts (cold, warm, memory, build)."""
    from snipcheck import bench as benchmarks
    if via not in ("invoke", "pytest"):
        raise Exit("--via is 'invoke' or 'pytest'.", 2)
    run(ROOT, benchmarks.run, ROOT, int(posts), int(snippets), int(sleepers), float(sleep), serial, peers_on_sleep, via,
         float(timeout))


@task(help={"light": "Pygments style for light mode (default 'default')",
            "dark": "Pygments style for dark mode (default 'github-dark')"})
def styles(c, light="", dark=""):
    """Regenerate assets/css/syntax.css, the code colours, from Pygments styles."""
    from snipcheck import stylesheet
    light, dark = light or stylesheet.LIGHT, dark or stylesheet.DARK
    print(f"Wrote {stylesheet.write_pygments_css(ROOT / 'assets/css/syntax.css', light, dark).relative_to(ROOT)}")


for extra in (test, bench, styles):
    namespace.add_task(extra)
