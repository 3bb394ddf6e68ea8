"""The snippets found in a post are exactly the code blocks Jekyll shows on its page, in order."""

import re
from pathlib import Path

import pytest

from jekyll_site import FIXTURE_POSTS, GENERATED_COUNT, GENERATED_SEED, generated_posts
from snipcheck.find import find_snippets

RAW_TAG = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")  # shown code has these taken out


@pytest.mark.parametrize("name", [post.name for post in FIXTURE_POSTS])
def test_fixture_post(jekyll_pages, name):
    check_matches_jekyll(jekyll_pages[name])


@pytest.mark.parametrize("name", list(generated_posts(GENERATED_SEED, GENERATED_COUNT)))
def test_generated_post(jekyll_pages, name):
    check_matches_jekyll(jekyll_pages[name])


def check_matches_jekyll(page):
    snippets = find_snippets(page.post)
    found = [snippet.code.rstrip("\n") for snippet in snippets]
    shown = [block.rstrip("\n") for block in page.code]
    assert found == shown, f"{page.post}: snippets differ from the code blocks Jekyll renders"

    lines = page.post.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
    for snippet in snippets:
        assert snippet.code.endswith("\n"), f"{page.post}:{snippet.line}: code must end with a newline"
        check_line(page.post, lines, snippet)


def check_line(post, lines, snippet):
    """The snippet's first non-blank code line is on the post line that `snippet.line` leads to."""
    code_lines = snippet.code.split("\n")
    skipped = next((i for i, line in enumerate(code_lines) if line.strip()), None)
    if skipped is None:
        return  # only blank lines: nothing to look for
    wanted = code_lines[skipped].strip()
    where = snippet.line + skipped
    assert 1 <= where <= len(lines), f"{post}:{snippet.line}: line number outside the post"
    line = RAW_TAG.sub("", lines[where - 1]).strip()
    # kramdown joins an unindented line that follows indented code onto the code's last line.
    assert wanted in line or (line and wanted.startswith(line)), (
        f"{post}:{snippet.line}: expected {wanted!r} on line {where}, found {line!r}"
    )


def test_a_post_with_only_highlight_tags_needs_no_kramdown():
    """The fast path (no Ruby) is taken for such a post, and the fixture comparison above checks its result."""
    from snipcheck.liquid import render
    from snipcheck.markdown import highlights_only
    from snipcheck.post import read_post
    rendered = render(read_post(Path(__file__).parent / "posts" / "2024-01-20-highlights-only.md").body)
    blocks = highlights_only(rendered.text, rendered.figure_lines)
    assert blocks is not None and [b.lang for b in blocks] == ["python", "python", "json"]


@pytest.mark.parametrize("name", [post.name for post in FIXTURE_POSTS])
def test_the_fast_path_agrees_with_kramdown_wherever_it_is_taken(name):
    """Simple fences and highlight tags standing on their own skip Ruby; where a post takes that path, its
    blocks are exactly the ones kramdown itself gives (and the tests above check those against Jekyll)."""
    from snipcheck.liquid import render
    from snipcheck.markdown import _convert, highlights_only, kramdown_options
    from snipcheck.post import read_post
    post = next(p for p in FIXTURE_POSTS if p.name == name)
    rendered = render(read_post(post).body)
    fast = highlights_only(rendered.text, rendered.figure_lines, kramdown_options({}))
    if fast is None:
        pytest.skip("this post needs kramdown itself")
    slow = _convert([rendered.text], kramdown_options({}))[0]
    key = lambda b: (b.code, b.lang, b.highlight, b.raw, b.line if b.highlight is None else None)  # noqa: E731
    assert [key(b) for b in fast] == [key(b) for b in slow]


def test_simple_fences_need_no_kramdown():
    from snipcheck.liquid import render
    from snipcheck.markdown import highlights_only
    text = "Intro.\n\n```python\nprint(1)\n```\n\nMore.\n\n~~~~\nplain\n~~~~\n"
    blocks = highlights_only(render(text).text, set())
    assert [(b.code, b.lang, b.line) for b in blocks] == [("print(1)\n", "python", 3), ("plain\n", None, 9)]
    assert highlights_only("Intro.\n```python\nprint(1)\n```\n", set()) is None  # inside a paragraph: kramdown
    assert highlights_only("```python\nnever closed\n", set()) is None
    assert highlights_only("- item\n\n  ```python\n  x\n  ```\n", set()) is None  # in a list: kramdown
