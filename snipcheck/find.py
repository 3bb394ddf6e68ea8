"""Find a post's snippets: every code block Jekyll renders, with its code exactly as the page shows it and
the post line of its first code line. Code the post writes as HTML (`<pre><code>`) is shown, not a snippet:
it is listed too, so the page and the results agree on every block."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import directives, discover, languages
from .directives import DirectiveError, Directives
from .errors import PostError, where
from .liquid import BLOCKS, LiquidError, render
from .markdown import Stuck, code_blocks, highlights_only, kramdown_options
from .post import Post, read_post

FENCE = re.compile(r"^(?:[\s>]|[*+-]\s|\d+[.)]\s)*(`{3,}|~{3,})")


@dataclass
class Snippet:
    post: Path
    index: int  # 1, 2, … in page order
    lang: str | None  # as the author wrote it
    code: str  # exactly as the page shows it, ending with one "\n"
    line: int  # post file line of the first code line
    numbered: bool = False  # shown with line numbers (linenos)
    directives: Directives = field(default_factory=Directives)
    before: str = ""  # the post's text between the previous code block and this one (its lead-in prose)
    after: str = ""  # the post's text between this block and the next (to the end, for the last one)
    conditional: bool = False  # inside a Liquid `if`, `for`, …: the page may show it 0, 1 or more times

    @property
    def language(self) -> str:
        return languages.canonical(self.lang)

    @property
    def name(self) -> str:
        return f"{self.index:02d}{languages.extension(self.lang)}"

    @property
    def end_line(self) -> int:
        return self.line + self.code.count("\n") - 1

    @property
    def where(self) -> str:
        return where(self.post, self.line)


@dataclass
class Shown:
    """A code block the page shows that is not a snippet: HTML the post wrote itself (`<pre><code>`)."""
    post: Path
    line: int | None  # post line where it starts, when known
    code: str
    after: int  # how many snippets come before it on the page
    conditional: bool = False
    reason: str = "written as HTML in the post (a <pre> block), so it is not a snippet"


@dataclass
class Page:
    """What a post's page shows: its snippets, and the other code blocks (see Shown)."""
    snippets: list[Snippet]
    shown: list[Shown] = field(default_factory=list)


site_config = discover.site_config


def posts_in(root: Path) -> list[Path]:
    """The site's posts, by Jekyll's own rule (see discover), in path order."""
    return discover.posts(root)


def _snippets(post: Post, rendered, blocks, strict: bool) -> Page:
    body_lines = post.body.split("\n")
    found, shown = [], []
    for block in blocks:
        code = block.code if block.code.endswith("\n") else block.code + "\n"
        if block.raw:
            first = rendered.line_of[block.line - 1] if block.line else None
            start = rendered.line_of.index(first) if first else None
            lines = rendered.line_of[start:start + code.count("\n")] if first else []
            _refuse_liquid(post, min(set(lines) & rendered.liquid_lines, default=None), "a <pre> block written as HTML")
            shown.append(Shown(post.path, post.body_line + first - 1 if first else None, code, len(found),
                               bool(first in rendered.conditional_lines)))
            continue
        if block.highlight is not None:
            tag = rendered.highlights[block.highlight]
            first, lang, numbered = tag.first_line, tag.lang, "linenos" in tag.options
            lines = range(first, first + code.count("\n"))
            _refuse_liquid(post, tag.liquid_line)
            conditional = tag.tag_line in rendered.conditional_lines
        else:
            first = rendered.line_of[block.line - 1]
            if FENCE.match(body_lines[first - 1]) and code.split("\n")[0].strip() != body_lines[first - 1].strip():
                first = rendered.line_of[block.line]  # a fence: the code starts on the next line
            lang, numbered = block.lang, False
            start = rendered.line_of.index(first)
            lines = rendered.line_of[start:start + code.count("\n")]
            conditional = first in rendered.conditional_lines
        if block.highlight is None and '<figure class="highlight" data-snippet=' in code:
            raise PostError(post.path, post.body_line + first - 1, "a {% highlight %} tag inside a code block: "
                            "Jekyll renders the tag, so readers would see its HTML as code",
                            "Close the code block before the tag, or wrap the tag in {% raw %} … {% endraw %}.")
        _refuse_liquid(post, min(set(lines) & rendered.liquid_lines, default=None))
        found.append(Snippet(post.path, len(found) + 1, lang, code, post.body_line + first - 1, numbered,
                             conditional=conditional))
    if strict:
        _refuse_unclosed_fence(post, rendered, found)
    _lead_ins(post, found, body_lines)
    try:
        _attach_directives(post, found, body_lines)
    except DirectiveError as err:
        raise PostError(post.path, post.body_line + err.line - 1, err.problem,
                        "Write the directive right before the code block it is for.") from None
    return Page(found, shown)


def _refuse_liquid(post: Post, line: int | None, what: str = "a code block") -> None:
    """Liquid on a (body) line of a code block: the page would show what Liquid renders, not what is written."""
    if line is not None:
        raise PostError(post.path, post.body_line + line - 1,
                        f"Liquid tags or {{{{ }}}} inside {what}: Jekyll renders them before the page shows"
                        " the code, so readers would not see what is written",
                        "Wrap the block in {% raw %} … {% endraw %}.")


def _lead_ins(post: Post, snippets: list[Snippet], body_lines: list[str]) -> None:
    """Each block's lead-in: the text after the previous block's closing line, up to this block's opening line;
    and the text that follows it, which is the next block's lead-in (or the rest of the post)."""
    end = 0  # body line (1-based) where the previous block ended
    for previous, snippet in zip([None, *snippets], snippets):
        first = snippet.line - post.body_line + 1
        lines = body_lines[end:max(end, first - 1)]
        if lines and OPENING.match(lines[-1]):
            lines = lines[:-1]
        snippet.before = "\n".join(lines).strip("\n")
        if previous is not None:
            previous.after = snippet.before
        end = snippet.end_line - post.body_line + 2  # skip the closing fence or tag line
    if snippets:
        snippets[-1].after = "\n".join(body_lines[end:]).strip("\n")


FENCE_OPEN = re.compile(r"^(?:[ >]*|.*?(?:[*+-]|\d+[.)]) +)(`{3,}|~{3,})\s*\S*\s*$")


def _refuse_unclosed_fence(post: Post, rendered, snippets: list[Snippet]) -> None:
    """kramdown shows a fence that is never closed as plain text, silently; the author meant code.
    Fence lines that are not part of a code block pair up opener → closer; a leftover opener is the error."""
    covered = {line for s in snippets for line in range(s.line - 1, s.end_line + 2)}
    open_fence, wordy = None, None
    for i, text in enumerate(rendered.text.split("\n")):
        post_line = post.body_line + rendered.line_of[i] - 1
        if wordy is None and post_line not in covered and re.match(r"^[ >]*(`{3,}|~{3,})\s*\S+\s+\S", text):
            wordy = post_line
        fence = FENCE_OPEN.match(text)
        if not fence or post_line in covered:
            continue
        chars = fence.group(1)
        if open_fence is None:
            open_fence = (chars, post_line)
        elif chars[0] == open_fence[0][0] and len(chars) >= len(open_fence[0]) and text.strip() == chars:
            open_fence = None
    if open_fence:
        chars, line = open_fence
        fix = f"Close it with a line of {chars} after the code."
        if wordy and wordy < line:
            fix = (f"Line {wordy} is not a fence either: kramdown takes one word after a fence (the language). "
                   f"Put options such as linenos in {{% highlight %}} instead.")
        raise PostError(post.path, line, f"this code fence {chars} is never closed, so Jekyll shows the code as "
                        "plain text", fix)


OPENING = re.compile(r"^\s*(?:[*+>-]\s*|\d+[.)]\s*)*(`{3,}|~{3,}|\{%-?\s*highlight\b)")


def _attach_directives(post: Post, snippets: list[Snippet], body_lines: list[str]) -> None:
    """Give each directive comment to the code block right after it (blank lines and other directives
    may stand between); comments shown inside code blocks are examples, not directives."""
    body_of = lambda post_line: post_line - post.body_line + 1  # noqa: E731
    inside = [(body_of(s.line) - 1, body_of(s.end_line) + 1) for s in snippets]
    comments = [c for c in directives.find(post.body)
                if not any(lo <= c.start <= hi for lo, hi in inside)]
    taken = {line for c in comments for line in range(c.start, c.end + 1)}
    for comment in comments:
        target = next((s for s in snippets if body_of(s.line) > comment.end), None)
        between = range(comment.end + 1, body_of(target.line) if target else len(body_lines) + 1)
        stray = [n for n in between if n not in taken and body_lines[n - 1].strip()
                 and not OPENING.match(body_lines[n - 1])]
        if target is None or stray:
            raise DirectiveError(comment.start, "this snippet directive is not directly before a code block")
        directives.parse(comment, target.directives)
        target.directives.lines.append(post.body_line + comment.start - 1)


def _check_excerpt(post: Post, config: dict) -> None:
    """Jekyll also renders each post's excerpt (its text up to the first blank line) on its own, for the
    home page and the feed, closing the Liquid blocks it cut (Jekyll::Excerpt#sanctify_liquid_tags). When
    that still leaves a block open, the whole build fails: find it here, with its line."""
    separator = post.front_matter.get("excerpt_separator") or config.get("excerpt_separator", "\n\n")
    head, _, tail = post.body.partition(separator)
    if not tail or "{%" not in head:
        return
    for name in reversed(re.findall(r"\{%-?\s*(\w+)\s*.*?-?%\}", head, re.S)):
        if name in BLOCKS | {"raw", "comment"} and not re.search(rf"\{{%-?\s*end{name}.*?\s*-?%\}}", head, re.S):
            head += f"\n{{% end{name} %}}"
    try:
        render(head)
    except LiquidError as err:
        raise LiquidError(err.line, f"{err.problem}, in the post's excerpt (its text up to the first blank line, "
                          "which Jekyll renders on its own for the home page and the feed)",
                          "Put a blank line before the tag, or set `excerpt_separator` in the front matter.") from None


def pages(paths: list[Path], root: Path, strict: bool = True) -> dict[Path, Page | PostError]:
    """What each post's page shows (or the PostError that stops it), with one kramdown run for all posts.
    `strict` also refuses what Jekyll renders but the author cannot have meant (a fence never closed)."""
    posts, rendered, found = [], [], {}
    config = site_config(root)
    for path in paths:
        try:
            post = read_post(path)
            try:
                rendered.append(render(post.body))
                _check_excerpt(post, config)
            except LiquidError as err:
                raise PostError(path, post.body_line + err.line - 1, err.problem, err.fix) from None
            posts.append(post)
        except PostError as err:
            found[path] = err
    cache = root / ".cache" / "kramdown" if (root / "_posts").is_dir() else None  # only inside a Jekyll site
    options = kramdown_options(config)
    simple = [highlights_only(r.text, r.figure_lines, options) for r in rendered]
    converted = iter(code_blocks([r.text for r, blocks in zip(rendered, simple) if blocks is None], options, cache))
    blocks_of = [blocks if blocks is not None else next(converted) for blocks in simple]
    for post, page, blocks in zip(posts, rendered, blocks_of):
        try:
            if isinstance(blocks, Stuck):
                raise PostError(post.path, None, f"{blocks}: Jekyll cannot render this post either",
                                "Look for what kramdown may take as endlessly nested: unclosed HTML tags or "
                                "comments, fences, lists or quotes; simplify the post until it converts.")
            found[post.path] = _snippets(post, page, blocks, strict)
        except PostError as err:
            found[post.path] = err
    return {path: found[path] for path in paths}


def find_all(paths: list[Path], root: Path, strict: bool = True) -> dict[Path, list[Snippet] | PostError]:
    """The snippets of each post (or the PostError that stops it); see pages."""
    return {path: page if isinstance(page, PostError) else page.snippets
            for path, page in pages(paths, root, strict).items()}


def find_snippets(path: Path, root: Path | None = None, strict: bool = False) -> list[Snippet]:
    """The snippets of one post, exactly the code blocks Jekyll renders; raises PostError when malformed."""
    found = find_all([path], root or site_root(path), strict)[path]
    if isinstance(found, PostError):
        raise found
    return found


def site_root(post: Path) -> Path:
    """The Jekyll site a post belongs to: the folder with `_config.yml` above its `_posts` (which may be
    `<dir>/_posts`), else the folder holding its `_posts`."""
    parents = post.resolve().parents
    posts = next((parent for parent in parents if parent.name == "_posts"), None)
    if posts is None:
        return post.resolve().parent
    return next((p for p in posts.parents if (p / "_config.yml").is_file()), posts.parent)
