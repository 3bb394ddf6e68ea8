"""Build a real Jekyll site from fixture posts and read back the code blocks each page shows.

Jekyll is the truth for what counts as a snippet: whatever it renders inside a `<pre>` is code
the reader sees, and nothing else is. Posts are the Markdown files in tests/posts/ plus posts
generated from a small grammar (at the end of this module).
"""

import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE_POSTS = sorted((Path(__file__).parent / "posts").glob("*.md"))
GENERATED_SEED = 20240301  # change it to try other generated posts; failures name the post
GENERATED_COUNT = 60

CONFIG = """\
markdown: kramdown
kramdown:
  input: GFM
permalink: /:title/
"""

POST_LAYOUT = "{{ content }}\n"


@dataclass
class Page:
    post: Path  # the post file
    code: list[str]  # the text of each code block the page shows, in page order
    html: str  # the whole page


def build_site(posts, workdir):
    """Build `posts` (paths of post files) with Jekyll in `workdir`; return {post file name: Page}.

    Each code block is the text of one `<pre>` as the reader sees it (tags stripped, entities
    unescaped).
    """
    workdir = new_site(workdir)
    for post in posts:
        # Copy bytes: CRLF and BOM fixtures must reach Jekyll untouched.
        shutil.copyfile(post, workdir / "_posts" / Path(post).name)

    env = dict(os.environ, BUNDLE_GEMFILE=str(workdir / "Gemfile"))
    result = subprocess.run(
        ["bundle", "exec", "jekyll", "build", "--source", str(workdir), "--destination", str(workdir / "_site")],
        cwd=workdir, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"jekyll build failed in {workdir}:\n{result.stdout}\n{result.stderr}")

    pages = {Path(post).name: page_for(workdir / "_site", Path(post)) for post in posts}
    return {name: Page(Path(post), code_blocks(pages[name]), pages[name]) for post, name in zip(posts, pages)}


def new_site(workdir):
    """Make `workdir` a Jekyll site with the test config and post layout, and no posts yet."""
    workdir = Path(workdir)
    shutil.copy(REPO / "Gemfile", workdir / "Gemfile")
    shutil.copy(REPO / "Gemfile.lock", workdir / "Gemfile.lock")
    (workdir / "_config.yml").write_text(CONFIG)
    (workdir / "_layouts").mkdir()
    (workdir / "_layouts" / "post.html").write_text(POST_LAYOUT)
    (workdir / "_posts").mkdir()
    return workdir


def page_for(site, post):
    """The built page of `post` under `permalink: /:title/` (the slug after the date)."""
    slug = post.stem.split("-", 3)[3]
    return (site / slug / "index.html").read_text(encoding="utf-8")


def code_blocks(html):
    """The text of each outermost code `<pre>` in `html`, in page order."""
    parser = _PreText()
    parser.feed(html)
    parser.close()
    return parser.blocks


class _PreText(HTMLParser):
    """Collect the text of outermost `<pre>` elements that hold `<code>`, leaving out Rouge's gutter.

    With `linenos`, Rouge nests `<pre class="lineno">` (the numbers) and `<pre>` (the code) in a
    table inside the outer `<pre>`; the outer one's text minus the gutter is the code. A `<pre>`
    written by hand in a post, without `<code>`, is preformatted text rather than a snippet.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []
        self._depth = 0  # open <pre> elements
        self._gutter = 0  # open <pre> elements that are (inside) a line-number gutter
        self._has_code = False
        self._text = []

    def handle_starttag(self, tag, attrs):
        if tag == "code" and self._depth:
            self._has_code = True
        if tag != "pre":
            return
        classes = (dict(attrs).get("class") or "").split()
        if self._gutter or "lineno" in classes:
            self._gutter += 1
        self._depth += 1

    def handle_endtag(self, tag):
        if tag != "pre" or not self._depth:
            return
        self._depth -= 1
        if self._gutter:
            self._gutter -= 1
        if not self._depth:
            if self._has_code:
                self.blocks.append("".join(self._text))
            self._text = []
            self._has_code = False

    def handle_data(self, data):
        if self._depth and not self._gutter:
            self._text.append(data)


# Generated posts: a small grammar of the Markdown and Liquid a blogger writes, cut into random
# documents so that extraction is compared with Jekyll on cases nobody wrote by hand.

CODE_LINES = [
    "import asyncio",
    "async def main():",
    "    await asyncio.sleep(0)",
    "    return await asyncio.gather(fetch(1), fetch(2))",
    'print("done")',
    "if 1 < 2 and 3 > 2 & 1:",
    "\tprint('tabbed')",
    "results = [await task for task in tasks]",
    "",
    "    ",
]
WORDS = "the event loop runs each task until it awaits something slow".split()


def generated_posts(seed, count):
    """`count` generated posts as {file name: text}; the same seed always gives the same posts."""
    rng = random.Random(seed)
    return {f"2024-03-01-generated-{i:02d}.md": _document(rng, f"Generated {i}") for i in range(count)}


def _document(rng, title):
    text = f"---\nlayout: post\ntitle: {title}\n---\n\n"
    for _ in range(rng.randint(1, 6)):
        block = rng.choice(_BLOCKS)(rng)
        # Mostly a blank line between blocks; sometimes none, where blocks run into each other.
        text += block + rng.choice(["\n\n", "\n\n", "\n\n", "\n"])
    return text


def _words(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))).capitalize() + "."


def _code(rng, indent=""):
    lines = [rng.choice(CODE_LINES[:8])] + [rng.choice(CODE_LINES) for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.15:
        lines = [""] + lines + [""]
    return "".join(f"{indent}{line}\n" if line else "\n" for line in lines)


def _fence(rng, indent=""):
    char = rng.choice("`~")
    size = rng.randint(3, 5)
    outer = indent + " " * rng.randint(0, 3) * (rng.random() < 0.3)
    lang = rng.choice(["", "python", "py", " python", "text", "python?x"])
    body = _code(rng, rng.choice([indent, outer]))
    if size > 3 and rng.random() < 0.3:
        inner = char * rng.randint(3, size - 1)
        body += f"{indent}{inner}\n{_code(rng, indent)}{indent}{inner}\n"
    close = char * (size + (rng.random() < 0.2))
    return f"{outer}{char * size}{lang}\n{body}{rng.choice([outer, indent])}{close}"


def _paragraph(rng):
    return "\n".join(_words(rng) for _ in range(rng.randint(1, 2)))


def _indented(rng):
    return _code(rng, rng.choice(["    ", "\t"])).rstrip("\n")


def _lazy(rng):
    return _paragraph(rng) + "\n" + _code(rng, "    ").rstrip("\n")


def _list_item(rng):
    marker = rng.choice(["-", "*", "1.", "10."])
    column = " " * (len(marker) + 1)
    extra = rng.choice(["", "", "  "])
    gap = rng.choice(["\n\n", "\n"])
    return f"{marker} {_words(rng)}{gap}{_fence(rng, column + extra)}"


def _quote(rng):
    return "\n".join("> " + line if line else ">" for line in _fence(rng).split("\n"))


def _highlight(rng):
    dash_open, dash_close = rng.choice(["", "-"]), rng.choice(["", "-"])
    options = rng.choice(["", " linenos", ' hl_lines="1"', " linenos=table"])
    pad = "\n" * rng.randint(0, 2)
    return (
        f"{{%{dash_open} highlight python{options} {dash_open}%}}\n{pad}{_code(rng)}{pad}"
        f"{{%{dash_close} endhighlight {dash_close}%}}"
    )


def _wrapped(before, after):
    return lambda rng: f"{before}\n{_fence(rng)}\n{after}"


_BLOCKS = [
    _paragraph, _paragraph, _fence, _fence, _fence, _indented, _lazy, _list_item, _list_item,
    _quote, _highlight, _highlight,
    _wrapped("<!--", "-->"),
    _wrapped("{% raw %}", "{% endraw %}"),
    _wrapped("{% comment %}", "{% endcomment %}"),
    _wrapped("<div>", "</div>"),
]
