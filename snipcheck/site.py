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


class Build:
    """A `jekyll build` into a hidden folder beside `_site/` (Jekyll ignores dot-folders, and the final
    rename stays on one disk). It starts at once; `publish` waits for it and only then replaces `_site/`."""

    def __init__(self, root: Path):
        self.root = root
        self.staging = Path(tempfile.mkdtemp(prefix=".site-build-", dir=root))
        command = jekyll_command(root, "build", "--source", str(root), "--destination", str(self.staging))
        self.process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env={**os.environ, "JEKYLL_ENV": "production"})

    def cancel(self) -> None:
        self.process.kill()
        self.process.communicate()
        shutil.rmtree(self.staging, ignore_errors=True)

    def publish(self, site: Path) -> Path:
        try:
            output, _ = self.process.communicate()
            if self.process.returncode != 0:
                raise ToolError(f"Jekyll could not build the site:\n{output.strip()[-3000:]}")
            old = site.with_name(f".{site.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            if site.exists():
                site.rename(old)
            self.staging.rename(site)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        return site


def build(root: Path, site: Path | None = None) -> Path:
    return Build(root).publish(site or root / "_site")
