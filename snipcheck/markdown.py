"""Jekyll's second pass: kramdown turns Markdown into HTML. We ask kramdown itself (the Ruby library Jekyll
uses) rather than imitate it, then read the code blocks out of its HTML."""

import dataclasses
import hashlib
import json
import re
import resource
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .errors import ToolError
from .files import write_atomic

SCRIPT = Path(__file__).with_name("kramdown_html.rb")
# Jekyll's defaults for kramdown (Jekyll::Configuration::DEFAULTS["kramdown"]); _config.yml may override.
JEKYLL_KRAMDOWN = {"auto_ids": True, "toc_levels": [1, 2, 3, 4, 5, 6], "entity_output": "as_char",
                   "smart_quotes": "lsquo,rsquo,ldquo,rdquo", "input": "GFM", "hard_wrap": False,
                   "footnote_nr": 1, "show_warnings": False}


VERSION = "2"  # of what the cache holds: a change to the parsing below must not reuse old conversions
# Some Markdown makes kramdown run away (seen: a 25-line generated post, 17 GB and still going after 16 min).
BATCH_SECONDS, DOCUMENT_SECONDS = 120.0, 30.0  # every post at once; then each alone, to find which
RUBY_MEMORY = 4 * 2 ** 30


@dataclass
class Block:
    """A `<pre>` code block of the page: its text as the reader sees it."""
    code: str
    lang: str | None
    line: int | None  # for a Markdown code block or raw HTML, the document line it starts on
    highlight: int | None  # for a {% highlight %} block, its index among the post's highlights
    raw: bool = False  # written as HTML in the post (`<pre><code>`): shown, but not a snippet


class _CodeBlocks(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.depth = 0  # <pre> nesting: highlight's linenos table holds a <pre> inside the <pre>
        self.figure: int | None = None
        self.current: Block | None = None
        self.in_gutter = False
        self.has_code = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure" and "data-snippet" in attrs:
            self.figure = int(attrs["data-snippet"])
        elif tag == "pre":
            self.depth += 1
            if self.depth == 1:
                # any other outermost <pre> is the post's own HTML; it is a code block if it holds <code>
                raw = self.figure is None and "data-snippet-line" not in attrs
                line = attrs.get("data-snippet-line") or attrs.get("data-snippet-raw")
                self.current = Block("", None, int(line) if line else None, self.figure, raw)
                self.has_code = False
            self.in_gutter = "lineno" in (attrs.get("class") or "")
        elif tag == "code" and self.current is not None:
            self.has_code = True
            if self.current.lang is None and not self.current.raw:
                classes = (attrs.get("class") or "").split()
                langs = [c.removeprefix("language-") for c in classes if c.startswith("language-")]
                self.current.lang = langs[0] if langs else None

    def handle_endtag(self, tag):
        if tag == "pre":
            self.depth -= 1
            self.in_gutter = False
            if self.depth == 0 and self.current is not None:
                if self.has_code or not self.current.raw:  # a bare <pre> is preformatted text, not code
                    self.blocks.append(self.current)
                self.current = None
        elif tag == "figure":
            self.figure = None

    def handle_data(self, data):
        if self.current is not None and not self.in_gutter:
            self.current.code += data


# Outside highlight blocks, what could make kramdown show code, or hide a highlight block's code.
MARKDOWN_CODE = re.compile(r"^(?:[ \t>]*(?:`{3,}|~{3,})|\t| {4}|\s*<|\$\$)|<!--|\{::")


# A GFM fence on its own at the left margin: ``` or ~~~ and at most one word (the language).
SIMPLE_FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*([A-Za-z0-9_+#.-]*)[ \t]*$")


def highlights_only(text: str, figure_lines: set[int], options: dict | None = None) -> list[Block] | None:
    """The code blocks of a page whose only code is `{% highlight %}` blocks and simple fences, each standing on
    its own (after a blank line, at the left margin, closed) — then kramdown shows each one as it is, and Ruby
    need not start. None when that is not certain: anything else that could make or hide code sends the page
    to kramdown itself. (The tests compare both ways with real Jekyll.)"""
    gfm = (options or JEKYLL_KRAMDOWN).get("input", "GFM") == "GFM"
    lines, blocks, number = text.split("\n"), [], 0
    while number < len(lines):
        line = lines[number]
        after_blank = number == 0 or not lines[number - 1].strip()
        if number in figure_lines:
            if not after_blank:
                return None  # text right before: kramdown would read the block inside a paragraph
            end = number
            while end + 1 in figure_lines:  # one run of figure lines may hold several (`{%-` glues them)
                end += 1
            parser = _CodeBlocks()
            parser.feed("\n".join(lines[number:end + 1]))
            parser.close()
            blocks += parser.blocks
            number = end
        elif (fence := SIMPLE_FENCE.match(line)) and gfm and after_blank:
            chars = fence.group(1)
            closer = re.compile(rf"^ {{0,3}}{re.escape(chars[0])}{{{len(chars)},}}[ \t]*$")  # (as kramdown's)
            end = next((n for n in range(number + 1, len(lines)) if closer.match(lines[n])), None)
            if end is None:
                return None  # never closed: kramdown's business
            code = "\n".join(lines[number + 1:end])
            blocks.append(Block(code + "\n" if end > number + 1 else "", fence.group(2) or None, number + 1, None))
            number = end
        elif MARKDOWN_CODE.search(line):
            return None
        number += 1
    return blocks


def kramdown_options(site_config: dict) -> dict:
    options = dict(JEKYLL_KRAMDOWN)
    options.update(site_config.get("kramdown") or {})
    return {k: v for k, v in options.items() if not k.startswith("syntax_highlighter")}


class Stuck(Exception):
    """kramdown ran out of time or memory on a document (some Markdown makes it run away; Jekyll would too)."""


def code_blocks(documents: list[str], options: dict, cache: Path | None = None) -> list[list[Block] | Stuck]:
    """The code blocks of each Markdown document, in page order, as kramdown renders them, or Stuck for a
    document kramdown cannot finish. With `cache`, documents converted before are not sent to Ruby again
    (starting it costs a quarter of a second)."""
    keys = [_key(text, options) for text in documents]
    known = {k: _load(cache / f"{k}.json") for k in keys} if cache else {}
    todo = [text for text, k in zip(documents, keys) if known.get(k) is None]
    try:
        converted = _convert(todo, options, BATCH_SECONDS)
    except Stuck:  # one of them: find which, each alone
        converted = []
        for text in todo:
            try:
                converted += _convert([text], options, DOCUMENT_SECONDS)
            except Stuck as stuck:
                converted.append(stuck)
    for text, blocks in zip(todo, converted):
        known[_key(text, options)] = blocks
        if cache and not isinstance(blocks, Stuck):
            write_atomic(cache / f"{_key(text, options)}.json", json.dumps([dataclasses.asdict(b) for b in blocks]))
    return [known[k] for k in keys]


def _key(text: str, options: dict) -> str:
    material = json.dumps([text, options, SCRIPT.read_text(), VERSION], sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def _load(path: Path) -> list[Block] | None:
    try:
        return [Block(**b) for b in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return None


def _convert(documents: list[str], options: dict, seconds: float | None = None) -> list[list[Block]]:
    seconds = seconds or BATCH_SECONDS
    if not documents:
        return []
    ruby = shutil.which("ruby")
    if ruby is None:
        raise ToolError("Ruby is not installed, and kramdown (Jekyll's Markdown library) needs it: "
                        "run `invoke setup`.")
    request = json.dumps({"options": options, "documents": documents})
    with subprocess.Popen([ruby, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        try:  # (set from here, not in the child: preexec_fn is unsafe beside the runner's thread)
            resource.prlimit(process.pid, resource.RLIMIT_DATA, (RUBY_MEMORY, RUBY_MEMORY))
        except OSError:
            pass  # it already ended
        try:
            stdout, stderr = process.communicate(request, timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise Stuck(f"kramdown did not finish within {seconds:g} s") from None
    if process.returncode != 0 and re.search(r"NoMemoryError|failed to allocate memory", stderr):
        raise Stuck(f"kramdown ran out of memory ({RUBY_MEMORY // 2 ** 30} GiB)")
    if process.returncode != 0:
        raise ToolError(f"kramdown could not convert the posts: {stderr.strip()[-800:]}\n"
                        "    Run `invoke setup` to install Jekyll and kramdown.")
    pages = []
    for page in json.loads(stdout):
        parser = _CodeBlocks()
        parser.feed(page)
        parser.close()
        pages.append(parser.blocks)
    return pages
