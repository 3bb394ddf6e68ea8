"""Read a built post page as a reader meets it: each code block, and the snippet panel right under it.

A code block is an outermost `<pre>` that holds `<code>` (Rouge's line-number gutter left out), as in
jekyll_site.code_blocks; the `<pre>`s inside a panel (output, hidden setup) are the panel's, not blocks.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Panel:
    status: str
    id: str
    mark: str = ""  # the text of p.snippet-mark
    text: str = ""  # all the panel's text
    download: str | None = None


@dataclass
class Shown:
    code: str
    panel: Panel | None = None  # None: nothing right under the block


@dataclass
class Page:
    blocks: list[Shown] = field(default_factory=list)
    stray_panels: int = 0  # panels under no block
    warnings: list[str] = field(default_factory=list)


def read_page(html: str) -> Page:
    parser = _Reader()
    parser.feed(html)
    parser.close()
    return parser.page


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.pre = 0  # open <pre>s of a code block
        self.gutter = 0
        self.has_code, self.code = False, []
        self.waiting: Shown | None = None  # the block a panel may still follow
        self.panel: Panel | None = None
        self.panel_depth = 0  # open <div>s inside the panel
        self.in_mark = self.in_warning = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if self.panel is not None:
            self.panel_depth += tag == "div"
            self.in_mark = self.in_mark or "snippet-mark" in classes
            if tag == "a" and "snippet-download" in classes:
                self.panel.download = attrs.get("href")
            return
        if tag == "div" and "snippet-check" in classes:
            self.panel, self.panel_depth = Panel(attrs.get("data-status", ""), attrs.get("id", "")), 1
            return
        if "snippet-warning" in classes:
            self.in_warning = True
            self.page.warnings.append("")
        if self.pre:
            self.has_code = self.has_code or tag == "code"
            if tag == "pre":
                self.pre += 1
                self.gutter += bool(self.gutter or "lineno" in classes)
            return
        if tag == "pre":
            self.pre, self.gutter, self.has_code, self.code = 1, 0, False, []
        elif tag not in ("br",):
            self.waiting = None  # something else stands between the block and a panel

    def handle_endtag(self, tag):
        if self.panel is not None:
            if tag == "div":
                self.panel_depth -= 1
                if self.panel_depth == 0:
                    if self.waiting is not None and self.waiting.panel is None:
                        self.waiting.panel = self.panel
                    else:
                        self.page.stray_panels += 1
                    self.panel, self.waiting = None, None
            if tag == "p":
                self.in_mark = False
            return
        if tag == "p":
            self.in_warning = False
        if tag == "pre" and self.pre:
            self.pre -= 1
            self.gutter = max(0, self.gutter - 1)
            if self.pre == 0 and self.has_code:
                self.waiting = Shown("".join(self.code))
                self.page.blocks.append(self.waiting)

    def handle_data(self, data):
        if self.panel is not None:
            self.panel.text += data
            if self.in_mark:
                self.panel.mark += data
        elif self.pre and not self.gutter:
            self.code.append(data)
        elif self.in_warning:
            self.page.warnings[-1] += data
