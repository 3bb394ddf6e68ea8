"""`invoke serve`: Jekyll's own server and watcher, plus ours on the posts: when a post is saved, its
snippets are verified again (unchanged ones come from the cache) and their results written to `_data/`,
which Jekyll then picks up, so the preview shows each block's new result without a restart. Failures
are shown in place on the page instead of stopping the preview. The preview is built into a folder of
its own (`.cache/preview/`): `_site/` changes only when `invoke build` succeeds."""

import signal
import subprocess
import time
from pathlib import Path

from . import commands
from .errors import ToolError, printable
from .find import posts_in
from .site import jekyll_command


def _posts(root: Path) -> dict[Path, int]:
    seen = {}
    for post in posts_in(root):
        try:
            seen[post] = post.stat().st_mtime_ns
        except OSError:
            continue  # saved away between the listing and now (an editor's rename)
    return seen


def _verify(root: Path, posts: list[Path] | None, **options) -> None:
    try:
        commands.test_snippets(root, [str(p) for p in posts] if posts else None, **options)
    except (commands.Refused, ToolError) as err:
        print(f"\n{printable(str(err))}\n(The preview shows each failure in place; fix the post and save it again.)\n")


def _stop(signum, frame):
    raise KeyboardInterrupt  # a SIGTERM stops the preview like Ctrl-C does: Jekyll's server goes with it


def serve(root: Path, host: str = "127.0.0.1", port: int = 4000, poll: float = 0.5, **options) -> int:
    signal.signal(signal.SIGTERM, _stop)
    _verify(root, None, **options)
    destination = root / ".cache" / "preview"
    server = subprocess.Popen(jekyll_command(root, "serve", "--host", host, "--port", str(port), "--watch",
                                             "--destination", str(destination)), cwd=root, env=None)
    seen = _posts(root)
    try:
        while server.poll() is None:
            time.sleep(poll)
            now = _posts(root)
            changed = [p for p, mtime in now.items() if seen.get(p) != mtime]
            seen = now
            if changed:
                print(printable(f"Changed: {', '.join(p.name for p in changed)}; verifying its snippets again."))
                _verify(root, changed, **options)
    except KeyboardInterrupt:
        pass
    finally:
        server.send_signal(signal.SIGINT)  # Jekyll's own way to stop (SIGTERM makes it print a stack)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0
