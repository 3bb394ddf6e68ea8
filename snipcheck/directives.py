"""Directives: instructions to the verifier that readers never see, written right before a code block as
an HTML comment or a Liquid comment, with the same words in both:

    <!-- snippet: skip needs a database -->
    {% comment %} snippet: expect ZeroDivisionError {% endcomment %}
    <!-- snippet: continue; timeout 10 -->
    <!-- snippet: setup
    import asyncio
    -->

Several may stand on one line, separated by `;`. `setup` takes the rest of the comment as code.
"""

import re
import textwrap
from dataclasses import dataclass, field

COMMENT = re.compile(r"<!--\s*snippet:(?P<html>.*?)-->|\{%-?\s*comment\s*-?%\}\s*snippet:(?P<liquid>.*?)"
                     r"\{%-?\s*endcomment\s*-?%\}", re.S)
USAGE = ("skip [reason] · expect <ExceptionType> · expect exit <N> · timeout <seconds> · continue · "
         "output · definitions · network · no timeline · setup <code>")


@dataclass
class Directives:
    skip: str | None = None  # the reason
    expect_exception: str | None = None
    expect_exit: int | None = None
    timeout: float | None = None
    session: bool = False  # `continue`: run after the previous blocks of the post, sharing their state
    output: bool = False  # the next block shows what this one prints
    definitions: bool = False  # only defines things on purpose: not a vacuous pass
    network: bool = False
    no_timeline: bool = False  # no figure of what its event loop did
    setup: str = ""
    lines: list[int] = field(default_factory=list)  # post lines of the comments, for error messages


@dataclass
class Found:
    start: int  # body line where the comment starts
    end: int  # body line where it ends
    text: str


class DirectiveError(Exception):
    def __init__(self, line: int, problem: str):
        self.line, self.problem = line, problem
        super().__init__(problem)


def find(body: str) -> list[Found]:
    found = []
    for match in COMMENT.finditer(body):
        start = body.count("\n", 0, match.start()) + 1
        text = match.group("html") if match.group("html") is not None else match.group("liquid")
        found.append(Found(start, start + match.group(0).count("\n"), text))
    return found


def parse(found: Found, into: Directives) -> None:
    head, _, rest = found.text.partition("\n")
    parts = [p.strip() for p in head.split(";")]
    for number, part in enumerate(parts):
        word, _, arg = part.partition(" ")
        arg = arg.strip()
        if not part:
            continue
        if word == "setup":  # the rest of the comment is code
            code = "; ".join([arg, *parts[number + 1:]]).strip("; ") + "\n" + rest
            into.setup += textwrap.dedent(code).strip("\n") + "\n"
            return
        if word == "skip":
            into.skip = arg or "skipped by the author"
        elif word == "expect" and re.fullmatch(r"exit\s+\d+", arg):
            into.expect_exit = int(arg.split()[1])
        elif word == "expect" and re.fullmatch(r"[A-Za-z_][\w.]*", arg):
            into.expect_exception = arg
        elif word == "timeout" and re.fullmatch(r"\d+(\.\d+)?", arg):
            into.timeout = float(arg)
        elif word == "no" and arg == "timeline":
            into.no_timeline = True
        elif word in ("continue", "output", "definitions", "network") and not arg:
            setattr(into, "session" if word == "continue" else word, True)
        else:
            raise DirectiveError(found.start, f"unknown snippet directive {part!r}; directives are: {USAGE}")
    if rest.strip():
        raise DirectiveError(found.start, "only `setup` takes more lines; write one directive comment per line")
