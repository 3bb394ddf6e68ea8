"""What a snippet printed is recorded once in `NN.out` beside it; later runs must print the same."""

import difflib
from pathlib import Path

from .files import write_atomic


def output_file(snippet_file: Path) -> Path:
    return snippet_file.with_name(snippet_file.name.split(".")[0] + ".out")


def read(path: Path) -> str:
    """The recorded output exactly, `\\r` included (progress lines): universal newlines would turn it into `\\n`."""
    with open(path, encoding="utf-8", newline="") as file:
        return file.read()


def check_output(path: Path, printed: str, update: bool) -> str | None:
    """Record `printed` the first time (or with `update`); else return a diff if it differs."""
    if update or not path.exists():
        write_atomic(path, printed)
        return None
    recorded = read(path)
    if recorded == printed:
        return None
    diff = difflib.unified_diff(recorded.splitlines(keepends=True), printed.splitlines(keepends=True),
                                f"{path} (recorded)", "printed now")
    return "output differs from the recorded output (run with --update to re-record):\n" + "".join(diff)
