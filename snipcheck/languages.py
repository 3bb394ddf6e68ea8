"""What a block's language name means to us: the file extension its snippet gets, and what the label claims the
block is. Only names that mean Python run as Python: Pygments' Python lexer also serves Sage, Bazel and
Starlark, and Bash's serves zsh and ksh, but running or `bash -n`-checking those would be wrong."""

import functools
import re
import shutil

from pygments.lexers import find_lexer_class_by_name  # the class: making a lexer compiles its regexes
from pygments.util import ClassNotFound

PYTHON = {"python", "py", "python3", "py3"}
PYTHON2 = {"python2", "py2"}  # not run: Python 3 rejects or misreads Python 2
PYCON = {"pycon", "python-console"}
IPYTHON = {"ipython", "ipython3", "ipython-console"}
CONSOLE = {"console", "shell-session", "sh-session", "bash-session", "terminal"}
SHELLS = {"bash": "bash", "sh": "bash", "shell": "bash", "zsh": "zsh"}  # label → the shell whose syntax it is
DATA = {"json": "json", "yaml": "yaml", "yml": "yaml", "toml": "toml"}
TRACEBACK = {"pytb", "py3tb", "python-traceback", "pytraceback"}
TEXT = {"text", "txt", "plain", "plaintext", "none", "output", "log", "nohighlight"}

_OURS = {**dict.fromkeys(PYTHON, "python"), **dict.fromkeys(PYCON, "pycon"), **dict.fromkeys(IPYTHON, "ipython"),
         **dict.fromkeys(CONSOLE, "console"), **dict.fromkeys(TRACEBACK, "pytb"), **DATA, "sh": "bash",
         "shell": "bash"}
_BORROWED_LEXERS = {"python", "bash"}  # lexers that also serve languages we must not treat as these two
_EXTENSIONS = {"sage": ".sage", "bazel": ".bzl", "starlark": ".star", "pyi": ".pyi", "zsh": ".zsh", "ksh": ".ksh"}


@functools.cache  # asked for every block, many times: Pygments' lookup is slow
def canonical(lang: str | None) -> str:
    """The language's one name (`py` → `python`, `yml` → `yaml`), or `text` when none was given. Names that
    Pygments merely highlights like Python or Bash keep their own name (`sage`, `zsh`)."""
    if not lang:
        return "text"
    name = lang.strip().lower()
    if name in _OURS:
        return _OURS[name]
    try:
        alias = find_lexer_class_by_name(name).aliases[0]
    except ClassNotFound:
        return name
    return name if alias in _BORROWED_LEXERS else alias


@functools.cache
def extension(lang: str | None) -> str:
    """The language's usual file extension, from Pygments' file patterns; `.txt` when it has none."""
    name = (lang or "").strip().lower()
    if name in _EXTENSIONS:
        return _EXTENSIONS[name]
    try:
        patterns = find_lexer_class_by_name(name).filenames if name else []
    except ClassNotFound:
        patterns = []
    for pattern in patterns:
        if re.fullmatch(r"\*\.[A-Za-z0-9][\w-]*", pattern):
            return pattern[1:]
    return ".txt"


def claim(lang: str | None) -> str:
    """What the author's label says a block is: `python`, `python2`, `pycon`, `ipython`, `console`, `shell`,
    `json`, `yaml`, `toml`, `traceback`, `text` (no label, or plain text), or `other` (a language with no
    checker, including Python look-alikes such as `sage`). The block's content may say otherwise: see classify."""
    name = (lang or "").strip().lower()
    if not name or name in TEXT:
        return "text"
    for names, meaning in ((PYTHON, "python"), (PYTHON2, "python2"), (PYCON, "pycon"), (IPYTHON, "ipython"),
                           (CONSOLE, "console"), (SHELLS, "shell"), (TRACEBACK, "traceback")):
        if name in names:
            return meaning
    return DATA.get(name, "other")


def shell_of(lang: str | None) -> str:
    """The shell whose syntax a shell block is written in: `zsh` for zsh, else `bash` (also for `sh`)."""
    return SHELLS.get((lang or "").strip().lower(), "bash")


def shell_checker(shell: str) -> list[str] | None:
    """The command that syntax-checks a script of that shell without running it (`bash -n`), or None when the
    shell is not installed — then the block is "not verified: no zsh checker", never checked by another shell."""
    return [shell, "-n"] if shutil.which(shell) else None
