"""Jekyll's first pass over a post: Liquid. Only what decides which code blocks the page shows matters here.

Parsed as Liquid 5 parses (tags balance; `{% raw %}` is opaque and may hold any tag, even an end tag;
comments nest), then: `{% raw %}` keeps its text, `{% comment %}` and `{% # … %}` remove theirs,
`{% highlight %}` becomes the same HTML block Jekyll puts in its place (so kramdown sees the same structure),
tags that print nothing (`if`, `for`, `assign`, …) print nothing, and whitespace control `{%-`/`-%}` trims
as Liquid does. Every other tag and `{{ output }}` is left as text, and remembered: inside a code block it
would be rendered by Jekyll, not shown as written. Blocks inside `if`/`for`/… may not be shown, or shown
more than once: their lines are remembered too.
"""

import html
import re
from dataclasses import dataclass, field

# Liquid block tags whose bodies must be closed (and are balanced inside comments too).
BLOCKS = {"highlight", "if", "unless", "for", "case", "capture", "tablerow"}
CONDITIONAL = {"if", "unless", "for", "case", "capture", "tablerow"}  # their body may be shown 0, 1 or n times
SILENT = {"if", "elsif", "else", "endif", "unless", "endunless", "case", "when", "endcase", "for", "endfor",
          "break", "continue", "assign", "capture", "endcapture", "#"}  # tags that print nothing
TAG = re.compile(r"\{%(-?)\s*(#|\w*)(.*?)(-?)%\}|\{\{(-?).*?(-?)\}\}", re.S)
OPEN = re.compile(r"\{[{%]")  # Liquid's tokenizer makes a token of `{{` or `{%` even without its end
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
    end_line: int = 0  # the `{% endhighlight %}` line
    liquid_line: int | None = None  # the first line of Liquid inside it, which Jekyll would render


@dataclass
class Rendered:
    text: str  # what kramdown will read
    line_of: list[int]  # line_of[i] = body line (1-based) that output line i+1 came from
    highlights: list[Highlight] = field(default_factory=list)
    liquid_lines: set[int] = field(default_factory=set)  # body lines where Liquid would render something
    figure_lines: set[int] = field(default_factory=set)  # output lines (0-based) of highlight figures
    conditional_lines: set[int] = field(default_factory=set)  # body lines inside `if`, `for`, … blocks


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

    def add_lines(self, text: str, lines: list[int]) -> range:
        """Add `text` as whole lines of their own, line k standing for source line lines[k]; returns the
        output line indexes (0-based) they take."""
        self.parts.append("\n")
        top = len(self.line_of)
        self.line_of.append(lines[0])
        self.parts.append(text + "\n")
        self.line_of.extend(lines[1:] + [lines[-1]])
        return range(top, len(self.line_of) - 1)

    def rstrip(self) -> None:
        """`{%-`: drop all whitespace before the tag, as Liquid does."""
        text = "".join(self.parts)
        kept = text.rstrip()
        del self.line_of[kept.count("\n") + 1:]
        self.parts = [kept]


class _Code:
    """A highlight tag's body as Liquid renders it: pieces of text, each with its source offset."""

    def __init__(self):
        self.pieces: list[tuple[str, int, bool]] = []  # (text, source offset, is plain text)

    def add(self, text: str, pos: int, plain: bool = True) -> None:
        if text:
            self.pieces.append((text, pos, plain))

    def rstrip(self) -> None:
        # Liquid strips the body's last node only when it is text (not a raw block's).
        if self.pieces and self.pieces[-1][2]:
            text, pos, plain = self.pieces.pop()
            self.add(text.rstrip(), pos, plain)

    def text(self) -> str:
        return "".join(piece[0] for piece in self.pieces)

    def source_offset(self, index: int) -> int:
        """The source offset of character `index` of text()."""
        for text, pos, plain in self.pieces:
            if index < len(text):
                return pos + index
            index -= len(text)
        return self.pieces[-1][1] + len(self.pieces[-1][0]) if self.pieces else 0


class _Parser:
    def __init__(self, source: str):
        self.source, self.pos, self.strip_next = source, 0, False
        self.highlight_liquid: int | None = None
        self.out = _Output(source)
        self.rendered = Rendered("", [])

    def line_at(self, pos: int) -> int:
        return self.out.line_at(pos)

    def run(self) -> Rendered:
        self.body(self.out, "page", None)
        self.rendered.text, self.rendered.line_of = "".join(self.out.parts), self.out.line_of
        return self.rendered

    def body(self, sink, mode: str, opener: tuple[str, int] | None) -> re.Match | None:
        """Render tokens into `sink` (None: a comment's, dropped) until the end tag of `opener`, which
        is returned. `mode` is "page", "highlight" (a highlight tag's body) or "comment"."""
        while True:
            match = TAG.search(self.source, self.pos)
            stop = match.start() if match else len(self.source)
            lone = OPEN.search(self.source, self.pos, stop)  # no end anywhere after it
            if lone:
                kind = "Variable" if lone.group(0) == "{{" else "Tag"
                raise LiquidError(self.line_at(lone.start()), f"{kind} '{lone.group(0)}' is never closed: Liquid "
                                  f"stops the build on it", "Wrap it in {% raw %} … {% endraw %}.")
            self.text(sink, self.source[self.pos:stop], self.pos)
            if match is None:
                if opener:
                    name, line = opener
                    raise LiquidError(line, f"'{{% {name} %}}' is never closed",
                                      f"Add '{{% end{name} %}}' after the block (Jekyll itself would crash here).")
                return None
            self.pos = match.end()
            if match.group(5) is not None:  # {{ output }}
                self.dashes(sink, match.group(5), match.group(6))
                self.liquid(sink, mode, match, match.group(0))
                continue
            left, name, markup, right = match.group(1, 2, 3, 4)
            self.dashes(sink, left, right)
            if opener and name == f"end{opener[0]}":
                return match
            line = self.line_at(match.start())
            if name == "raw":
                end = re.compile(r"\{%\s*endraw(?!\w).*?%\}", re.S).search(self.source, self.pos)
                if end is None:
                    raise LiquidError(line, "'{% raw %}' is never closed",
                                      "Add '{% endraw %}' after the block (Jekyll itself would crash here).")
                if mode == "highlight":
                    sink.add(self.source[self.pos:end.start()], self.pos, False)
                elif sink is not None:
                    sink.add(self.source[self.pos:end.start()], self.pos)
                self.pos = end.end()  # the trimming after it is the opening tag's `-%}` (Liquid's Raw)
            elif name == "comment":
                self.body(None, "comment", ("comment", line))
            elif name == "highlight" and mode == "page":
                self.highlight(markup, match, line)
            elif name == "highlight" and mode == "highlight":
                raise LiquidError(line, "a {% highlight %} inside a {% highlight %}: Jekyll would show the inner "
                                  "one's HTML as code", "Close the first block before the second.")
            elif name in BLOCKS:
                if name == "highlight" and not HIGHLIGHT_SYNTAX.match(markup.strip()):
                    self.bad_highlight(markup, line)
                self.liquid(sink, mode, match, "" if name in SILENT else match.group(0))
                end = self.body(sink, mode, (name, line))
                self.liquid(sink, mode, end, "" if name in SILENT else end.group(0))
                if mode == "page" and name in CONDITIONAL:
                    self.rendered.conditional_lines.update(range(line, self.line_at(end.start()) + 1))
            elif name.startswith("end") and name[3:] in BLOCKS | {"raw", "comment"} and mode != "comment":
                expected = f"; this block needs '{{% end{opener[0]} %}}'" if opener else ""
                raise LiquidError(line, f"'{{% {name} %}}' has no opening '{{% {name[3:]} %}}'{expected}",
                                  f"Remove it, or open the block with '{{% {name[3:]} %}}'.")
            else:
                self.liquid(sink, mode, match, "" if name in SILENT else match.group(0))

    def text(self, sink, text: str, pos: int) -> None:
        if not text:
            return  # Liquid skips empty tokens: a `-%}` still trims the next text
        if self.strip_next:
            pos += len(text) - len(text.lstrip())
            text = text.lstrip()
        self.strip_next = False
        if sink is not None:
            sink.add(text, pos)

    def dashes(self, sink, left: str, right: str) -> None:
        if left and sink is not None:
            sink.rstrip()
        self.strip_next = bool(right)

    def liquid(self, sink, mode: str, match: re.Match, shown: str) -> None:
        """A tag or output Jekyll renders: in the page it prints `shown` (its own text when we cannot know
        what it prints); its lines are remembered, and in a highlight body it is a reason to refuse."""
        if mode == "comment":
            return
        lines = range(self.line_at(match.start()), self.line_at(match.end()) + 1)
        if mode == "highlight":
            self.highlight_liquid = self.highlight_liquid or lines[0]
            sink.add(match.group(0), match.start())
            return
        self.rendered.liquid_lines.update(lines)
        self.out.add(shown, match.start())

    def bad_highlight(self, markup: str, line: int):
        raise LiquidError(line, f"'{{% highlight{markup}%}}' is not valid highlight syntax",
                          "Write '{% highlight <language> [linenos] %}', e.g. '{% highlight python %}'.")

    def highlight(self, markup: str, match: re.Match, tag_line: int) -> None:
        syntax = HIGHLIGHT_SYNTAX.match(markup.strip())
        if not syntax:
            self.bad_highlight(markup, tag_line)
        code, self.highlight_liquid = _Code(), None
        end = self.body(code, "highlight", ("highlight", tag_line))
        body = code.text()
        # Jekyll strips leading and trailing line terminators only, never spaces.
        lead = len(body) - len(body.lstrip("\r\n"))
        text = body.strip("\r\n")
        first = self.line_at(code.source_offset(lead)) if text else self.line_at(match.end())
        end_line = self.line_at(end.start())
        lang, options = syntax.group(1).lower(), syntax.group(2)
        highlights = self.rendered.highlights
        highlights.append(Highlight(lang, options, text, first, tag_line, end_line, self.highlight_liquid))
        figure, lines = _figure(lang, options, text, len(highlights) - 1, first, end_line)
        self.rendered.figure_lines.update(self.out.add_lines(figure, lines))


def _figure(lang: str, options: str, code: str, index: int, first: int, end_line: int) -> tuple[str, list[int]]:
    """The block Jekyll renders for a highlight tag, with the same line structure (Rouge, a table for
    linenos), and the body line each of its lines stands for (never beyond the tag's own lines)."""
    body = html.escape(code, quote=False)
    count = code.count("\n") + 1
    code_lines = [min(first + i, end_line) for i in range(count)]
    head = f'<figure class="highlight" data-snippet="{index}"><pre><code class="language-{lang.replace("+", "-")}">'
    if re.search(r"\blinenos\b", options):
        gutter = "".join(f"{n}\n" for n in range(1, count + 1))
        body = (f'<table class="rouge-table"><tbody><tr><td class="gutter gl"><pre class="lineno">{gutter}'
                f'</pre></td><td class="code"><pre>{body}\n</pre></td></tr></tbody></table>')
        # The gutter's lines are not code lines: they all stand for the first one.
        return f"{head}{body}</code></pre></figure>", [first] * count + code_lines + [end_line]
    return f"{head}{body}</code></pre></figure>", code_lines


def render(source: str) -> Rendered:
    return _Parser(source).run()
