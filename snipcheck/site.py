"""Jekyll builds: into a temporary folder that replaces `_site/` only when the build succeeded, so a refused
or failed build leaves the published site exactly as it was."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ToolError


def jekyll_command(root: Path, *args: str) -> list[str]:
    """`bundle exec jekyll ARGS` for the site at `root`, whatever the caller's working directory."""
    return ["env", f"BUNDLE_GEMFILE={root / 'Gemfile'}", "bundle", "exec", "jekyll", *args]


def jekyll(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(jekyll_command(root, *args), cwd=root, **kwargs)


def build(root: Path, site: Path | None = None) -> Path:
    site = site or root / "_site"
    # A hidden folder beside _site: Jekyll ignores dot-folders, and the final rename stays on one disk.
    staging = Path(tempfile.mkdtemp(prefix=".site-build-", dir=root))
    try:
        done = jekyll(root, "build", "--source", str(root), "--destination", str(staging),
                      capture_output=True, text=True, env={**os.environ, "JEKYLL_ENV": "production"})
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
