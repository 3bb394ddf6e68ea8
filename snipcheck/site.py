"""Jekyll builds: into a temporary folder that replaces `_site/` only when the build succeeded, so a refused
or failed build leaves the published site exactly as it was."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import ToolError
from .files import make_publishable


# What Jekyll prints beside its message on a fatal error: Ruby's stack of each exception in the chain, the
# --trace advice, colours. The message (and our plugin's "Snippets:" lines) is what the author needs.
NOISE = re.compile(r"^\s*from \S+:\d+:in |^\S+\.rb:\d+:in `|--trace|additional information or backtrace|^[\s-]*$")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def jekyll_errors(output: str) -> str:
    lines = [COLOUR.sub("", line).rstrip() for line in output.splitlines()]
    return "\n".join(line for line in lines if not NOISE.search(line)).strip()[-3000:]


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
        make_publishable(self.staging)  # it becomes _site/: 0755 (mkdtemp makes it 0700), or a web server gets 403
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
                raise ToolError(f"Jekyll could not build the site:\n{jekyll_errors(output)}")
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
