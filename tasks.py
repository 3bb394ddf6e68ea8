"""Tasks of the blog: verify every code snippet of every post, then build the site with Jekyll.
`invoke --list` shows them; each one's work is done by the `snipcheck` package."""

import sys
import traceback
from pathlib import Path

from invoke import Exit, task

from snipcheck import bench as benchmarks, commands, preview, stylesheet, toolchain
from snipcheck.errors import EXIT_INTERRUPTED, EXIT_TOOL_BROKE, ToolError

ROOT = Path(__file__).resolve().parent
POST_HELP = "a post to work on (repeatable); default: every post in _posts/"


def _run(work, *args, **kwargs):
    """Turn our errors into a clean stop: the message and a distinct exit code, never a traceback."""
    try:
        return work(*args, **kwargs)
    except commands.Refused as err:
        raise Exit(str(err), err.code) from None
    except ToolError as err:
        raise Exit(str(err), EXIT_TOOL_BROKE) from None
    except KeyboardInterrupt:
        raise Exit(commands.INTERRUPTED, EXIT_INTERRUPTED) from None
    except Exception:  # a bug of ours: say so plainly, keep the details for the report
        log = ROOT / ".cache" / "last-error.txt"
        log.parent.mkdir(exist_ok=True)
        log.write_text(traceback.format_exc())
        raise Exit(f"snipcheck itself failed (a bug, not your post); the details are in {log.relative_to(ROOT)}. "
                   "Please report them.", EXIT_TOOL_BROKE) from None


@task(help={"browser": "also install Chromium, for the browser tests"})
def setup(c, browser=False):
    """Install what is missing: Jekyll and its plugins (Debian packages), then the Gemfile's gems."""
    _run(toolchain.ensure, ROOT, browser=browser)


@task(pre=[setup], iterable=["post"], help={"post": POST_HELP})
def extract(c, post=None):
    """Write every code block of the posts to snippets/<post>/NN.<ext>, exactly as the page shows it."""
    found = _run(commands.extract_posts, ROOT, post)
    print(f"Extracted {sum(len(s) for s in found.values())} snippets from {len(found)} posts into snippets/.")


SNIPPET_HELP = {"post": POST_HELP,
                "timeout": "seconds before a block is stopped (default: `snippets: timeout` in _config.yml, else 30)",
                "no_jail": "run snippets WITHOUT the bubblewrap jail, only where none can be made (they can then read "
                           "and change your files; also `snippets: {jail: false}` in _config.yml)",
                "update": "re-record what the snippets print (snippets/<post>/NN.out)",
                "jobs": "how many snippets run at once (default: one per 64 MB of free memory, 4 to 64)",
                "no_cache": "run every snippet, even those whose passing result is cached",
                "write_baseline": "write snippets/baseline.yml: the blocks that fail now, with why; later runs fail "
                                  "only on failures it does not list (review it, then commit it)"}


@task(pre=[setup], iterable=["post"], help=SNIPPET_HELP)
def test_snippets(c, post=None, timeout=0.0, update=False, jobs=0, no_cache=False, no_jail=False, write_baseline=False):
    """Extract, then verify every snippet under pytest, comparing what it prints with snippets/<post>/NN.out."""
    _run(commands.test_snippets, ROOT, post, float(timeout) or None, update, int(jobs), no_cache, no_jail,
         ["--snippet-write-baseline"] if write_baseline else [])


@task(pre=[setup], help={name: SNIPPET_HELP[name] for name in ("timeout", "jobs", "no_cache", "no_jail")})
def build(c, timeout=0.0, jobs=0, no_cache=False, no_jail=False):
    """Verify every snippet, then build the site into _site/ (left untouched when anything fails)."""
    built = _run(commands.build, ROOT, timeout=float(timeout) or None, jobs=int(jobs), no_cache=no_cache,
                 no_jail=no_jail)
    print(f"Built the site into {built.relative_to(ROOT)}/")


@task(pre=[setup], help={"port": "port to serve on (default 4000)", "timeout": SNIPPET_HELP["timeout"]})
def serve(c, port=4000, timeout=30.0):
    """Preview on http://127.0.0.1:4000: verify, serve, and on each save verify that post again and rebuild."""
    preview.serve(ROOT, port=int(port), timeout=float(timeout))


@task(pre=[setup], help={"browser": "run the browser tests too (installs Chromium)"})
def test(c, browser=True):
    """The whole test suite: the project's own tests, then every snippet of every post."""
    if browser:
        _run(toolchain.ensure, ROOT, browser=True)
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
    if via not in ("invoke", "pytest"):
        raise Exit("--via is 'invoke' or 'pytest'.", 2)
    _run(benchmarks.run, ROOT, int(posts), int(snippets), int(sleepers), float(sleep), serial, peers_on_sleep, via,
         float(timeout))


@task(help={"light": "Pygments style for light mode (default 'default')",
            "dark": "Pygments style for dark mode (default 'github-dark')"})
def styles(c, light=stylesheet.LIGHT, dark=stylesheet.DARK):
    """Regenerate assets/css/syntax.css, the code colours, from Pygments styles."""
    print(f"Wrote {stylesheet.write_pygments_css(ROOT / 'assets/css/syntax.css', light, dark).relative_to(ROOT)}")
