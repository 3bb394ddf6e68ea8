"""A post as Jekyll reads it: UTF-8 text, YAML front matter, and the Markdown body after it."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import PostError

# Jekyll's own front matter pattern (Jekyll::Document::YAML_FRONT_MATTER_REGEXP).
FRONT_MATTER = re.compile(r"\A(---\s*\n.*?\n?)^((---|\.\.\.)\s*$\n?)", re.M | re.S)


@dataclass
class Post:
    path: Path
    body: str  # the Markdown after the front matter, with "\n" line ends
    body_line: int  # the post file's line number of the body's first line
    front_matter: dict = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return self.path.stem


def decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise PostError(path, line, f"not UTF-8: byte 0x{data[err.start]:02x} at offset {err.start}",
                        "Save the post as UTF-8 (Jekyll reads posts as UTF-8).") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_post(path: Path) -> Post:
    """Read a post, or raise PostError saying where it is malformed."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise PostError(path, None, f"cannot be read: {err.strerror}",
                        "Check that the post is a readable file.") from None
    text = decode(path, raw)
    match = FRONT_MATTER.match(text)
    if not match:
        first = "the post is empty" if not text.strip() else "no front matter"
        raise PostError(path, 1, f"{first}: Jekyll would publish it as a bare page, without its layout or title",
                        "Start the post with front matter, e.g. '---', 'title: My post', '---'.")
    try:
        data = yaml.load(match.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 1  # the mark counts from the first '---' line, 0-based
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise PostError(path, line, f"front matter is not valid YAML: {problem}",
                        "Fix the YAML between the '---' lines (Jekyll would silently drop this post).") from None
    if not isinstance(data, dict):
        raise PostError(path, 2, "front matter must be a YAML mapping of 'key: value' lines")
    return Post(path, text[match.end():], match.group(0).count("\n") + 1, data)
