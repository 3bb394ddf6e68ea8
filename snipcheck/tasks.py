"""The invoke tasks of a blog, for the blog in `root`: its `tasks.py` is `namespace = blog_tasks(root)`. Each task
only parses its flags; the work is done by functions of the package, which tests call directly."""

import atexit
import gc
import traceback
from pathlib import Path

from invoke import Collection, Exit, task

from .errors import EXIT_INTERRUPTED, EXIT_TOOL_BROKE, INTERRUPTED, Refused, ToolError, printable

POST_HELP = "a post to work on (repeatable); default: every post in _posts/"
SNIPPET_HELP = {"post": POST_HELP,
                "timeout": "seconds before a block is stopped, whatever its own `timeout` directive says (default: "
                           "`snippets: timeout` in _config.yml, else 30, and a directive may ask for more)",
                "no_jail": "run snippets WITHOUT the bubblewrap jail, only where none can be made (they can then read "
                           "and change your files; also `snippets: {jail: false}` in _config.yml)",
                "update": "re-record what the snippets print (snippets/<post>/NN.out)",
                "jobs": "how many snippets run at once (default: one per 32 MB of free memory, 4 to 64)",
                "no_cache": "run every snippet, even those whose passing result is cached",
                "write_baseline": "write snippets/baseline.yml: the blocks that fail now, with why; later runs fail "
                                  "only on failures it does not list (review it, then commit it)",
                "timeline": "print what the event loop did in each asyncio example, as a text timeline"}


# At exit, Python looks for cycles in the whole heap (pytest's, Pygments'...) once more: a tenth of a second at the
# end of every command, for nothing, since all we write is closed by then. Frozen objects are not looked at.
atexit.register(gc.freeze)


def run(root: Path, work, *args, **kwargs):
    """Turn our errors into a clean stop: the message and a distinct exit code, never a traceback."""
    try:
        return work(*args, **kwargs)
    except Refused as err:
        raise Exit(printable(str(err)), err.code) from None  # (messages may quote posts and tools' output)
    except ToolError as err:
        raise Exit(printable(str(err)), EXIT_TOOL_BROKE) from None
    except KeyboardInterrupt:
        raise Exit(INTERRUPTED, EXIT_INTERRUPTED) from None
    except Exception:  # a bug of ours: say so plainly, keep the details for the report
        log = root / ".cache" / "last-error.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc())
        raise Exit(f"snipcheck itself failed (a bug, not your post); the details are in {log.relative_to(root)}. "
                   "Please report them.", EXIT_TOOL_BROKE) from None


def blog_tasks(root: Path) -> Collection:
    """setup, extract, test-snippets, build and serve, for the blog in `root`. Modules load when a task runs:
    `invoke --list`, or a run with nothing to verify, need not pay for them."""

    @task(help={"browser": "also install Chromium, for the browser tests"})
    def setup(c, browser=False):
        """Install what is missing: Jekyll, its plugins and bubblewrap (Debian packages), then the Gemfile's gems."""
        from . import toolchain
        run(root, toolchain.ensure, root, browser=browser)

    @task(pre=[setup], iterable=["post"], help={"post": POST_HELP})
    def extract(c, post=None):
        """Write every code block of the posts to snippets/<post>/NN.<ext>, exactly as the page shows it."""
        from . import commands
        found = run(root, commands.extract_posts, root, post)
        print(f"Extracted {sum(len(s) for s in found.values())} snippets from {len(found)} posts into snippets/.")

    @task(pre=[setup], iterable=["post"], help=SNIPPET_HELP)
    def test_snippets(c, post=None, timeout=0.0, update=False, jobs=0, no_cache=False, no_jail=False,
                      write_baseline=False, timeline=False):
        """Extract, then verify every snippet under pytest, comparing what it prints with snippets/<post>/NN.out."""
        extra = [flag for on, flag in ((write_baseline, "--snippet-write-baseline"), (timeline, "--snippet-timeline"))
                 if on]
        from . import commands
        run(root, commands.test_snippets, root, post, float(timeout) or None, update, int(jobs), no_cache, no_jail,
            extra)

    @task(pre=[setup], help={name: SNIPPET_HELP[name] for name in ("timeout", "jobs", "no_cache", "no_jail")})
    def build(c, timeout=0.0, jobs=0, no_cache=False, no_jail=False):
        """Verify every snippet, then build the site into _site/ (left untouched when anything fails)."""
        from . import commands
        built = run(root, commands.build, root, timeout=float(timeout) or None, jobs=int(jobs), no_cache=no_cache,
                    no_jail=no_jail)
        print(f"Built the site into {built.relative_to(root)}/")

    @task(pre=[setup], help={"port": "port to serve on (default 4000)", "timeout": SNIPPET_HELP["timeout"]})
    def serve(c, port=4000, timeout=0.0):
        """Preview on http://127.0.0.1:4000: verify, serve, and on each save verify that post again and rebuild."""
        from . import preview
        preview.serve(root, port=int(port), timeout=float(timeout) or None)

    return Collection(setup, extract, test_snippets, build, serve)
