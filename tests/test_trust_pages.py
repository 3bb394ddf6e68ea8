"""A green build means every block the page shows is what ran: one site built by `invoke build` from the
posts in tests/trust_posts/, each probing one way the page and the results could disagree.

Every code block of every page has its panel right under it, matched by the fingerprint of the code Jekyll
rendered: code written as HTML, kramdown attribute lists, Liquid around code, line-number tables, the same
code twice, posts whose names Jekyll's data reader would mangle. A block without a result, or a result
without a block, stops the build with the post and line.
"""

import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from browser import fixture_posts
from jekyll_panels import read_page
from sites import invoke, make_site
from snipcheck.errors import ToolError
from snipcheck.site import Build

POSTS = Path(__file__).parent / "trust_posts"
NOTE = '<div class="note">A note, from an include.</div>\n'
CATEGORY_POST = "---\nlayout: post\ntitle: In a category\n---\n\n```python\nprint('blog')\n```\n"


def page_of(site: Path, slug: str):
    return read_page(next((site / "_site").glob(f"2024/*/*/{slug}/index.html")).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The trust posts, built once with the usual umask (a web server runs as another user)."""
    root = make_site(tmp_path_factory.mktemp("trust") / "blog", fixture_posts(POSTS))
    (root / "_includes" / "note.html").write_text(NOTE)
    (root / "blog" / "_posts").mkdir(parents=True)  # a post in a category folder: `<dir>/_posts/`
    (root / "blog" / "_posts" / "2024-08-11-in-a-category.md").write_text(CATEGORY_POST)
    umask = os.umask(0o022)
    try:
        done = invoke(root, "build")
    finally:
        os.umask(umask)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


def test_every_block_has_its_panel_and_only_unverifiable_blocks_say_not_verified(site):
    pages = sorted((site / "_site").glob("2024/*/*/*/index.html"))
    assert len(pages) == len(fixture_posts(POSTS)) + 1
    for path in pages:
        page = read_page(path.read_text(encoding="utf-8"))
        assert page.blocks and page.stray_panels == 0, path
        for block in page.blocks:
            assert block.panel is not None, f"{path}: no panel under {block.code!r}"
            mark = block.panel.mark
            assert "changed after it was checked" not in mark and "no check result" not in mark, (path, mark)
            if block.panel.status != "verified":
                assert re.match(r"Not verified: \S", mark), (path, mark)  # always with its reason


def test_code_written_as_html_is_listed_and_says_why_it_is_not_verified(site):
    page = page_of(site, "raw-html")
    assert [b.code for b in page.blocks] == ['print("before the HTML")\n', "cd ~/project && make \u2192 done\n",
                                             "$ ls <folder>\n", 'print("after the HTML")\n']
    assert [b.panel.status for b in page.blocks] == ["verified", "unverified", "unverified", "verified"]
    assert "written as HTML in the post" in page.blocks[1].panel.mark
    assert page.blocks[1].panel.download is None
    assert page.blocks[3].panel.download.endswith("/02.py")


def test_attribute_lists_keep_their_blocks_verified(site):
    page = page_of(site, "attribute-lists")
    assert [b.panel.status for b in page.blocks] == ["verified"] * 3
    html = next((site / "_site").glob("2024/*/*/attribute-lists/index.html")).read_text()
    assert 'id="greeting"' in html


def test_liquid_around_code_shown_once_twice_or_not_at_all(site):
    page = page_of(site, "liquid-around-code")
    codes = [b.code.strip() for b in page.blocks]
    assert codes == ['print("shown when true")', 'print("after an include")', 'print("shown twice")',
                     'print("shown twice")', 'print("a highlight inside unless")', 'print("after an assign")']
    assert all(b.panel.status == "verified" for b in page.blocks)
    assert "never shown" not in "".join(codes)


def test_line_number_tables_and_highlight_tags(site):
    page = page_of(site, "line-numbers")
    assert page.blocks[0].code.startswith("total = 0\n")  # the gutter is not code
    assert [b.panel.download.rsplit("/", 1)[1] for b in page.blocks] == [f"0{n}.py" for n in range(1, 7)]


def test_identical_code_is_matched_in_page_order(site):
    page = page_of(site, "identical-code")
    assert [b.panel.download and b.panel.download.rsplit("/", 1)[1] for b in page.blocks] == \
        ["01.py", None, "02.py", "03.py"]


@pytest.mark.parametrize("slug", ["python-3.13", "c++-tips", "café-crème", "in-a-category"])
def test_a_post_named_with_a_dot_a_plus_or_accents_gets_its_results(site, slug):
    page = page_of(site, slug)
    assert [b.panel.status for b in page.blocks] == ["verified"]
    download = page.blocks[0].panel.download
    assert re.fullmatch(r"/snippets/[A-Za-z0-9_-]+/01\.py", download), download
    assert (site / "_site" / download.lstrip("/")).is_file()


def test_an_example_with_front_matter_is_published_as_it_is_and_never_becomes_a_page(site):
    page = page_of(site, "examples-with-front-matter")
    assert [b.panel.download.rsplit("/", 1)[1] for b in page.blocks] == ["01.md", "02.html"]
    folder = "snippets/2024-08-07-examples-with-front-matter"
    for name in ("01.md", "02.html"):
        assert (site / "_site" / folder / name).read_bytes() == (site / folder / name).read_bytes()
    assert "{{ page.title }}" in (site / "_site" / folder / "01.md").read_text()  # Liquid did not run
    assert not list((site / "_site").rglob("hijacked*"))
    assert not (site / "_site" / folder / "01").exists() and not (site / "_site" / folder / "02").exists()
    assert "02.html" not in (site / "_site" / "sitemap.xml").read_text()


def test_the_site_and_the_snippets_are_readable_by_a_web_server_of_another_user(site):
    built = site / "_site"
    assert stat.S_IMODE(built.stat().st_mode) == 0o755
    written = [p for p in (site / "snippets").rglob("*") if not p.name.endswith(".out")]  # extraction's files
    for path in [built, *built.rglob("*"), *written]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), f"{path}: {oct(mode)}"


def test_panels_stay_out_of_the_feed_and_the_reading_time(site):
    feed = (site / "_site" / "feed.xml").read_text(encoding="utf-8")
    assert "long-output" in feed and "kept too" in feed  # the posts and their code are there
    assert "snippet-check" not in feed and "Verified with" not in feed
    html = next((site / "_site").glob("2024/*/*/long-output/index.html")).read_text(encoding="utf-8")
    assert "word word word" in html  # the 600 words of output are on the page…
    assert re.search(r'class="reading-time">1 min read<', html)  # …but not in the reading time


@pytest.fixture
def copy(site, tmp_path) -> Path:
    """A copy of the built site whose data a test may spoil."""
    return Path(shutil.copytree(site, tmp_path / "copy", symlinks=True))


def spoil(copy: Path, name: str, change) -> None:
    path = next((copy / "_data" / "snippets").glob(f"{name}*.json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["snippets"])
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_block_without_a_result_stops_the_build_with_its_post_and_line(copy):
    before = sorted(p.name for p in (copy / "_site").iterdir())
    spoil(copy, "2024-08-05-identical-code", lambda blocks: blocks.pop(3))  # the highlight tag's result
    with pytest.raises(ToolError) as refused:
        Build(copy).publish(copy / "_site")
    message = str(refused.value)
    assert "_posts/2024-08-05-identical-code.md:24: this code block has no check result" in message, message
    assert "Traceback" not in message and "from /" not in message
    assert sorted(p.name for p in (copy / "_site").iterdir()) == before  # _site/ left as it was


def test_a_result_without_a_block_stops_the_build_with_its_post_and_line(copy):
    spoil(copy, "2024-08-02-attribute-lists",
          lambda blocks: blocks.append(dict(blocks[0], sha256="0" * 64, line=99, file="snippets/x/09.py")))
    with pytest.raises(ToolError, match=r"_posts/2024-08-02-attribute-lists.md:99: snippets/x/09.py was checked, "
                                        r"but the page does not show this code"):
        Build(copy).publish(copy / "_site")


def test_stale_results_never_read_verified(copy):
    post = copy / "_posts" / "2024-08-06-python-3.13.md"
    post.write_text(post.read_text().replace('print("3.13")', 'print("3.14")'))
    with pytest.raises(ToolError, match=r"2024-08-06-python-3.13.md:7: this code block has no check result"):
        Build(copy).publish(copy / "_site")
