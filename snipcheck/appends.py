"""Adding to a blogger's own files (`_config.yml`, `.gitignore`, a theme's hook) without rewriting them: each
function takes the old text and returns the new one: the old one, byte for byte, with lines added (or entries, to
an `exclude: [a, b]` list); comments, order, quoting and line endings stay. Adding what is already there changes
nothing, as cog's update does when run twice.

The `exclude:` list is found with YAML's own parser (its node marks say where the list ends), the new entries
are spliced in there, and the result is parsed again: it must mean the old configuration with those entries
added, and nothing else, or nothing is changed."""

import fnmatch
import re

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

EXCLUDE_COMMENT = "Not pages of the site: what snipcheck writes and runs (added by `snipcheck init`)"


class CannotAdd(Exception):
    """The file cannot be extended safely; the message says what to add by hand."""


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _ended(text: str) -> str:
    """The text with a line break at its end (none is added to an empty text)."""
    return text if not text or text.endswith(("\n", "\r")) else text + _newline(text)


def _end_of_line(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _normal(entry: str) -> str:
    return entry.strip().strip("/")


def listed(entry: str, patterns: list) -> bool:
    """Whether `entry` (a path of the site) is named by one of `patterns`, or matched by a glob among them."""
    name = _normal(entry)
    return any(isinstance(p, str) and (_normal(p) == name or fnmatch.fnmatchcase(name, _normal(p))) for p in patterns)


def _by_hand(entries: list[str], why: str) -> CannotAdd:
    lines = "\n".join(f"      - {entry}" for entry in entries)
    return CannotAdd(f"{why}; add these to its `exclude:` list yourself:\n    exclude:\n{lines}")


def add_excludes(text: str, entries: list[str]) -> tuple[str, list[str]]:
    """`_config.yml` with `entries` added to its `exclude:` list (created at the end when it has none), and the
    entries that were missing."""
    try:
        node = yaml.compose(text)
        before = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise CannotAdd(f"it is not valid YAML ({err}): Jekyll cannot read it either; fix it, then run this "
                        "again") from None
    if node is not None and not isinstance(node, MappingNode) or not isinstance(before, dict):
        raise _by_hand(entries, "it is not a mapping of settings")
    found = None
    for key, value in (node.value if node else []):
        if isinstance(key, ScalarNode) and key.value == "exclude":
            found = (key, value)
    current = before.get("exclude")
    if current is not None and not isinstance(current, list):
        raise _by_hand(entries, "its `exclude:` is not a list")
    missing = [entry for entry in entries if not listed(entry, current or [])]
    if not missing:
        return text, []
    nl = _newline(text)
    if found is None:
        new = (_ended(text) + (nl if text.strip() else "") + f"# {EXCLUDE_COMMENT}{nl}exclude:{nl}"
               + "".join(f"  - {entry}{nl}" for entry in missing))
    else:
        new = _splice(text, *found, missing, nl)
    after = yaml.safe_load(new)
    expected = {**before, "exclude": (current or []) + missing}
    if after != expected or list(after) != list(expected):
        raise _by_hand(missing, "its `exclude:` is written in a way snipcheck does not extend")
    return new, missing


def _splice(text: str, key: ScalarNode, value, missing: list[str], nl: str) -> str:
    if isinstance(value, SequenceNode) and value.flow_style:  # exclude: [a, b]
        close = value.end_mark.index - 1
        if text[close:close + 1] != "]":
            raise _by_hand(missing, "its `exclude:` list does not end where YAML says")
        at = len(text[:close].rstrip())  # after the last item (or the `[`), before any line break
        sep = "" if text[at - 1] == "[" else " " if text[at - 1] == "," else ", "
        return text[:at] + sep + ", ".join(missing) + text[at:]
    if isinstance(value, SequenceNode) and value.value:  # a block list: new items under its last one, alike
        last = value.value[-1]
        line_start = text.rfind("\n", 0, last.start_mark.index) + 1
        dash = text.rfind("-", line_start, last.start_mark.index)
        if dash < 0:
            raise _by_hand(missing, "its `exclude:` list is not one item a line")
        indent, gap = text[line_start:dash], text[dash + 1:last.start_mark.index]
        if indent.strip() or gap.strip():
            raise _by_hand(missing, "its `exclude:` list is not one item a line")
        at = last.end_mark.index if last.end_mark.column == 0 else _end_of_line(text, last.end_mark.index)
        head = _ended(text[:at]) if at == len(text) else text[:at]
        return head + "".join(f"{indent}-{gap}{entry}{nl}" for entry in missing) + text[at:]
    if isinstance(value, ScalarNode) and value.tag == "tag:yaml.org,2002:null":  # `exclude:` with nothing
        at = _end_of_line(text, value.end_mark.index)
        head = text[:value.start_mark.index] + text[value.end_mark.index:at]  # drops a written `~` or `null`
        indent = " " * (key.start_mark.column + 2)
        return _ended(head) + "".join(f"{indent}- {entry}{nl}" for entry in missing) + text[at:]
    raise _by_hand(missing, "its `exclude:` is not a list")


def add_ignores(text: str, entries: list[str], comment: str) -> tuple[str, list[str]]:
    """`.gitignore` with the `entries` it does not ignore yet (itself or a folder above) appended under
    `# comment`, and those entries."""
    patterns = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "!"))]
    missing = [entry for entry in entries
               if not any(listed(folder, patterns) for folder in _self_and_folders(entry))]
    if not missing:
        return text, []
    nl = _newline(text)
    gap = nl if text.strip() else ""
    return _ended(text) + f"{gap}# {comment}{nl}" + "".join(f"{entry}{nl}" for entry in missing), missing


def _self_and_folders(entry: str) -> list[str]:
    parts = _normal(entry).split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def add_line(text: str, line: str, present: re.Pattern) -> str:
    """The text with `line` appended, unless `present` already matches somewhere in it."""
    return text if present.search(text) else _ended(text) + line + _newline(text)
