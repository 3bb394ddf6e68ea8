"""Jekyll's first pass over a post: Liquid. Only the tags that decide what becomes a code block matter here.

`{% raw %}` keeps its text, `{% comment %}` removes it, `{% highlight %}` becomes the same HTML block
Jekyll puts in its place (so kramdown sees the same structure), and whitespace control `{%-`/`-%}`
trims like Liquid. Every other tag and `{{ output }}` is left as text, and remembered: inside a code
block it would be rendered by Jekyll, not shown as written.
"""

import html
import re
from dataclasses import dataclass, field

BLOCKS = {"highlight", "if", "unless", "for", "case", "capture", "tablerow"}  # Liquid block tags to balance
TAG = re.compile(r"\{%(-?)\s*(\w*)(.*?)(-?)%\}|\{\{(-?).*?(-?)\}\}", re.S)
# Jekyll's Tags::HighlightBlock::SYNTAX: a language, then options such as linenos or hl_lines="1 2".
HIGHLIGHT_SYNTAX = re.compile(r'^([a-zA-Z0-9.+#_-]+)((\s+\w+(=(\w+|"([0-9]+\s)*[0-9]+"))?)*)$')


@dataclass
class Highlight:
    """A `{% highlight %}` block: its code as Jekyll shows it and the body line of its first code line."""
    lang: str
    options: str
    code: str
    first_line: int
    tag_line: int


@dataclass
class Rendered:
    text: str  # what kramdown will read
    line_of: list[int]  # line_of[i] = body line (1-based) that output line i+1 came from
    highlights: list[Highlight] = field(default_factory=list)
    liquid_lines: set[int] = field(default_factory=set)  # body lines where Liquid would render something
    figure_lines: set[int] = field(default_factory=set)  # output lines (0-based) of highlight figures


class LiquidError(Exception):
    def __init__(self, line: int, problem: str, fix: str = ""):
        self.line, self.problem, self.fix = line, problem, fix
        super().__init__(problem)


class _Output:
    """Output text that remembers, for each of its lines, the source line it came from."""

    def __init__(self, source: str):
        self.source, self.parts, self.line_of = source, [], [1]

    def line_at(self, pos: int) -> int:
        return self.source.count("\n", 0, pos) + 1

    def add(self, text: str, pos: int) -> None:
        """Add `text`, whose first character came from source offset `pos`; its lines follow on from there."""
        if not text:
            return
        first = self.line_at(pos)
        if not self.parts or self.parts[-1].endswith("\n"):
            self.line_of[-1] = first  # an output line belongs to where its first character came from
        self.line_of.extend(first + i + 1 for i in range(text.count("\n")))
        self.parts.append(text)

    def rstrip(self) -> None:
        """`{%-`: drop all whitespace before the tag, as Liquid does."""
        text = "".join(self.parts)
        kept = text.rstrip()
        del self.line_of[kept.count("\n") + 1:]
        self.parts = [kept]


def _closing(source: str, name: str, start: int, opener_line: int) -> re.Match:
    # Liquid's raw tag looks for its end without whitespace control on the left: `{%- endraw %}` is text.
    left = "" if name == "raw" else "-?"
    end = re.compile(r"\{%" + left + r"\s*end" + name + r"\s*-?%\}").search(source, start)
    if end is None:
        raise LiquidError(opener_line, f"'{{% {name} %}}' is never closed",
                          f"Add '{{% end{name} %}}' after the block (Jekyll itself would crash here).")
    return end


def _check_blocks(source: str, start: int, stop: int, line_at) -> None:
    """Liquid still parses the tags inside a comment: a block opened there must be closed there."""
    opened = []
    for match in TAG.finditer(source, start, stop):
        name = match.group(2)
        if name in BLOCKS:
            opened.append((name, line_at(match.start())))
        elif name and name.startswith("end") and opened and opened[-1][0] == name[3:]:
            opened.pop()
    if opened:
        name, line = opened[-1]
        raise LiquidError(line, f"'{{% {name} %}}' inside a comment is never closed (Liquid reads tags in comments)",
                          f"Add '{{% end{name} %}}', or remove the tag.")


def _highlight_body(body: str) -> tuple[str, bool]:
    """A highlight tag's body as Liquid renders it: `{% raw %}` sections give their text. Also whether
    anything else in it is Liquid (which Jekyll would render, so the page would not show it as written)."""
    parts, pos, liquid = [], 0, False
    while (match := TAG.search(body, pos)) is not None:
        parts.append(body[pos:match.start()])
        if match.group(2) == "raw" and (end := re.compile(r"\{%\s*endraw\s*-?%\}").search(body, match.end())):
            parts.append(body[match.end():end.start()])
            pos = end.end()
        else:
            parts.append(match.group(0))
            liquid, pos = True, match.end()
    return "".join(parts) + body[pos:], liquid


def _figure(lang: str, options: str, code: str, index: int) -> str:
    """The block Jekyll renders for a highlight tag, with the same line structure (Rouge, a table for
    linenos) and the newline the Markdown converter puts on each side (its highlighter_prefix/suffix)."""
    code = code.removesuffix("\n")
    body = html.escape(code, quote=False)
    head = f'<figure class="highlight" data-snippet="{index}"><pre><code class="language-{lang.replace("+", "-")}">'
    if re.search(r"\blinenos\b", options):
        gutter = "".join(f"{n}\n" for n in range(1, code.count("\n") + 2))
        body = (f'<table class="rouge-table"><tbody><tr><td class="gutter gl"><pre class="lineno">{gutter}'
                f'</pre></td><td class="code"><pre>{body}\n</pre></td></tr></tbody></table>')
    return f"\n{head}{body}</code></pre></figure>\n"


def render(source: str) -> Rendered:
    out = _Output(source)
    highlights, liquid_lines, figure_lines = [], set(), set()
    pos, strip_next = 0, False
    while True:
        match = TAG.search(source, pos)
        text = source[pos: match.start() if match else len(source)]
        start = pos
        if strip_next:
            start += len(text) - len(text.lstrip())
            text = text.lstrip()
        out.add(text, start)
        if match is None:
            break
        tag_line = out.line_at(match.start())
        if match.group(5) is not None:  # {{ output }}
            if match.group(5):
                out.rstrip()
            liquid_lines.add(tag_line)
            out.add(match.group(0), match.start())
            pos, strip_next = match.end(), bool(match.group(6))
            continue
        left, name, markup, right = match.group(1, 2, 3, 4)
        if left:
            out.rstrip()
        pos, strip_next = match.end(), bool(right)
        if name == "raw":
            end = _closing(source, "raw", pos, tag_line)
            out.add(source[pos:end.start()], pos)  # raw keeps everything, whitespace included
            pos, strip_next = end.end(), end.group(0).endswith("-%}")
        elif name == "comment":
            end = _closing(source, "comment", pos, tag_line)
            _check_blocks(source, pos, end.start(), out.line_at)
            pos, strip_next = end.end(), end.group(0).endswith("-%}")
        elif name == "highlight":
            syntax = HIGHLIGHT_SYNTAX.match(markup.strip())
            if not syntax:
                raise LiquidError(tag_line, f"'{{% highlight{markup}%}}' is not valid highlight syntax",
                                  "Write '{% highlight <language> [linenos] %}', e.g. '{% highlight python %}'.")
            end = _closing(source, "highlight", pos, tag_line)
            body, liquid = _highlight_body(source[pos:end.start()])
            if right:  # `-%}` trims the body's leading whitespace, `{%- endhighlight` its trailing
                pos += len(body) - len(body.lstrip())
                body = body.lstrip()
            if end.group(0).startswith("{%-"):
                body = body.rstrip()
            # Otherwise Jekyll strips leading and trailing line terminators only, never spaces.
            code = body.strip("\r\n")
            first = out.line_at(pos + len(body) - len(body.lstrip("\r\n")))
            if liquid:
                liquid_lines.update(range(first, first + code.count("\n") + 1))
            lang, options = syntax.group(1).lower(), syntax.group(2)
            highlights.append(Highlight(lang, options, code, first, tag_line))
            top = len(out.line_of)  # the figure starts on a fresh line: Jekyll puts a newline before it
            out.add(_figure(lang, options, code, len(highlights) - 1), match.start())
            figure_lines.update(range(top, len(out.line_of) - 1))
            pos, strip_next = end.end(), end.group(0).endswith("-%}")
        elif name in ("endraw", "endcomment", "endhighlight"):
            raise LiquidError(tag_line, f"'{{% {name} %}}' has no opening '{{% {name[3:]} %}}'",
                              f"Remove it, or open the block with '{{% {name[3:]} %}}'.")
        else:
            liquid_lines.add(tag_line)
            out.add(match.group(0), match.start())
    return Rendered("".join(out.parts), out.line_of, highlights, liquid_lines, figure_lines)
