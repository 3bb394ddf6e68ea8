"""`invoke setup`: make sure Jekyll and its plugins are installed, from Debian's packages where it can,
then let Bundler resolve the Gemfile against them. Fast and silent when nothing is missing."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from .errors import ToolError

JEKYLL_PACKAGES = ["ruby", "jekyll", "ruby-bundler", "ruby-jekyll-feed", "ruby-jekyll-seo-tag",
                   "ruby-jekyll-sitemap", "ruby-html-proofer", "ruby-webrick",
                   "jekyll-theme-minima"]  # the theme `jekyll new` gives a blog: `bundle install --local` finds it
SANDBOX_PACKAGES = ["bubblewrap"]  # the jail snippets run in
BROWSER_PACKAGES = ["chromium"]


DPKG_STATUS = Path("/var/lib/dpkg/status")  # dpkg rewrites it on every install and removal


def missing_packages(packages: list[str], checked: Path | None = None) -> list[str]:
    """Which of `packages` are not installed. With `checked` (a stamp file), a check that found none missing
    is not repeated while dpkg's status file stays as it was: `dpkg-query` costs a hundredth of a second at the
    start of every command."""
    state = _dpkg_state(packages)
    if checked is not None and state and _read(checked) == state:
        return []
    done = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *packages],
                          capture_output=True, text=True)
    installed = {line.split()[0] for line in done.stdout.splitlines() if line.split()[1:2] == ["ii"]}
    missing = [p for p in packages if p not in installed]
    if checked is not None and state and not missing:
        _stamp(checked, state)
    return missing


def _dpkg_state(packages: list[str]) -> str:
    try:
        stat = DPKG_STATUS.stat()
    except OSError:
        return ""
    return f"{stat.st_mtime_ns} {stat.st_size} {stat.st_ino} {' '.join(sorted(packages))}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def browser_wanted(packages: list[str]) -> bool:
    return any(p in packages for p in BROWSER_PACKAGES)


def _as_root(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return argv
    if shutil.which("sudo"):
        return ["sudo", *argv]
    raise ToolError(f"Installing needs root: run `sudo {' '.join(argv)}`, then `invoke setup` again.")


def install_packages(packages: list[str], say=print, checked: Path | None = None) -> None:
    if not (shutil.which("dpkg-query") and shutil.which("apt-get")):
        if shutil.which("bundle") and (not browser_wanted(packages) or shutil.which("chromium")):
            return  # not Debian: Bundler fetches the gems itself
        missing = packages
    else:
        missing = missing_packages(packages, checked)
    if not missing:
        return
    if not shutil.which("apt-get"):
        raise ToolError("This is not a Debian/Ubuntu machine, so install these yourself: Ruby with Bundler, "
                        "then `bundle install` (Jekyll 4.3 and the plugins in the Gemfile); for browser tests, "
                        f"Chromium. Missing here: {', '.join(missing)}.")
    say(f"Installing Debian packages: {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                               *missing]):
        done = subprocess.run(_as_root(argv), env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ToolError(f"`{' '.join(argv)}` failed:\n{done.stderr.strip()[-1500:]}")


def _bundle_stamp(root: Path) -> tuple[Path, str]:
    """A stamp of the Gemfile and its lock as last resolved: `bundle check` alone costs half a second."""
    text = "".join((root / name).read_text() for name in ("Gemfile", "Gemfile.lock") if (root / name).exists())
    return root / ".bundle" / "snipcheck-resolved", hashlib.sha256(text.encode()).hexdigest()


def bundle(root: Path, say=print) -> None:
    """Resolve the Gemfile with the gems already on the machine; fetch from RubyGems only if that fails."""
    stamp, digest = _bundle_stamp(root)
    if stamp.exists() and stamp.read_text() == digest:
        return
    gemfile = {**os.environ, "BUNDLE_GEMFILE": str(root / "Gemfile")}
    if subprocess.run(["bundle", "check"], cwd=root, env=gemfile, capture_output=True).returncode == 0:
        return _stamp(stamp, digest)
    local = subprocess.run(["bundle", "install", "--local"], cwd=root, env=gemfile, capture_output=True, text=True)
    if local.returncode != 0:
        say("Some gems are not installed locally; asking RubyGems (`bundle install`).")
        remote = subprocess.run(["bundle", "install"], cwd=root, env=gemfile, capture_output=True, text=True)
        if remote.returncode != 0:
            raise ToolError(f"`bundle install` failed:\n{(remote.stderr or remote.stdout).strip()[-1500:]}")
    _stamp(stamp, digest)


def _stamp(stamp: Path, digest: str) -> None:
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only checkout: the check simply runs again next time
        pass


def ensure(root: Path, browser: bool = False, say=print) -> None:
    install_packages(JEKYLL_PACKAGES + SANDBOX_PACKAGES + (BROWSER_PACKAGES if browser else []), say,
                     root / ".cache" / "packages-checked")
    bundle(root, say)
