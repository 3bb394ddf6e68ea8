"""The errors an author can meet, each saying what went wrong, where, and what to do next."""

import functools
import os
import re
from pathlib import Path

# Distinct exit codes for distinct outcomes (as cog does): the caller can tell them apart.
EXIT_SNIPPET_FAILED = 1
EXIT_POST_MALFORMED = 2
EXIT_TOOL_BROKE = 3
EXIT_INTERRUPTED = 130  # as shells report Ctrl-C


# What a terminal obeys rather than shows (all of C0 but tab and newline, DEL, C1): escape sequences in a
# snippet's output or a post could retitle the builder's terminal, hide text, clear the screen or set its
# clipboard (OSC 52).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    r"""`text` from a snippet or a post, safe to print: control characters shown as `\x1b`, never obeyed (a
    carriage return before a newline is a Windows line end, and goes)."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text.replace("\r\n", "\n"))


def where(path: Path, line: int | None = None) -> str:
    """`_posts/file.md:12`, relative to the working directory when possible."""
    shown = _shown(str(path), os.getcwd())
    return f"{shown}:{line}" if line else shown


@functools.lru_cache(maxsize=4096)  # every block of a post names it: resolving costs a system call a folder
def _shown(path: str, cwd: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(cwd).resolve()))
    except ValueError:
        return path


class PostError(Exception):
    """A post cannot be read as Jekyll would read it; the build must refuse."""

    def __init__(self, path: Path, line: int | None, problem: str, fix: str = ""):
        self.path, self.line, self.problem, self.fix = path, line, problem, fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{where(self.path, self.line)}: {self.problem}"
        return printable(f"{text}\n    {self.fix}" if self.fix else text)  # it may quote the post


class ToolError(Exception):
    """Something outside the posts is missing or broken (Ruby, Jekyll, a folder)."""


class Refused(Exception):
    """The build must stop; `code` says why (a snippet failed, a post is malformed, the tool broke)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


INTERRUPTED = "Interrupted: every snippet process was stopped, and snippets/ holds only whole files."
