"""Jekyll builds: into a temporary folder that replaces `_site/` only when the build succeeded, so a refused
or failed build leaves the published site exactly as it was."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ToolError


def jekyll(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "BUNDLE_GEMFILE": str(root / "Gemfile"), "JEKYLL_ENV": "production"}
    return subprocess.run(["bundle", "exec", "jekyll", *args], cwd=root, env=env, **kwargs)


def build(root: Path, site: Path | None = None) -> Path:
    site = site or root / "_site"
    # A hidden folder beside _site: Jekyll ignores dot-folders, and the final rename stays on one disk.
    staging = Path(tempfile.mkdtemp(prefix=".site-build-", dir=root))
    try:
        done = jekyll(root, "build", "--source", str(root), "--destination", str(staging),
                      capture_output=True, text=True)
        if done.returncode != 0:
            raise ToolError(f"Jekyll could not build the site:\n{(done.stderr or done.stdout).strip()[-3000:]}")
        old = site.with_name(f".{site.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if site.exists():
            site.rename(old)
        staging.rename(site)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return site


def serve(root: Path, host: str = "127.0.0.1", port: int = 4000) -> int:
    """Serve with Jekyll's own watcher; returns when the user stops it."""
    return jekyll(root, "serve", "--host", host, "--port", str(port), "--watch").returncode
