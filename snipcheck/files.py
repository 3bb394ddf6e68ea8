"""Writing files so that a reader (or Ctrl-C) never sees a half-written one."""

import functools
import os
import tempfile
from pathlib import Path


@functools.cache  # read once: a run writes hundreds of files, and nothing of ours changes the umask
def umask() -> int:
    """The process's umask, read rather than set-and-restored: os.umask(0) would leave a window in which another
    thread creates files 0666."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def make_publishable(path: Path) -> None:
    """Readable by a web server running as another user, as a file written with open() would be (mkstemp and
    mkdtemp make 0600 and 0700): 0644 / 0755 under the usual umask."""
    path.chmod((0o777 if path.is_dir() else 0o666) & ~umask())


def _same(path: Path, text: str) -> bool:
    try:
        with open(path, encoding="utf-8", newline="") as file:  # exactly: `\r` is not `\n`
            return file.read() == text
    except (OSError, UnicodeDecodeError):
        return False


def write_atomic(path: Path, text: str) -> bool:
    """Write `text` to `path` through a temporary file and a rename, with the mode open() would give it.
    Returns False when already equal, so unchanged files keep their modification time (Jekyll's watcher
    and caches rely on it)."""
    if _same(path, text):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
