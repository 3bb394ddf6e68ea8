"""What a block's language means to us: the file extension its snippet gets, and how it is verified."""

import re

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

PYTHON = {"python", "py", "python3", "py3"}


def canonical(lang: str | None) -> str:
    """The language as Pygments names it (`py` → `python`), or `text` when none was given."""
    if not lang:
        return "text"
    try:
        return get_lexer_by_name(lang).aliases[0]
    except ClassNotFound:
        return lang.lower()


def extension(lang: str | None) -> str:
    """The language's usual file extension, from Pygments' file patterns; `.txt` when it has none."""
    try:
        patterns = get_lexer_by_name(lang).filenames if lang else []
    except ClassNotFound:
        patterns = []
    for pattern in patterns:
        if re.fullmatch(r"\*\.[A-Za-z0-9][\w-]*", pattern):
            return pattern[1:]
    return ".txt"
