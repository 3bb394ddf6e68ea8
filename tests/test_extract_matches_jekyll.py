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
