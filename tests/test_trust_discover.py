"""Post discovery is Jekyll's own rule, checked against real Jekyll; and next to oddly named files (an
editor's lock file, `..md`, `...md`), extraction writes and deletes nothing outside each post's own folder."""

import os
import shutil
from pathlib import Path

import pytest

from jekyll_reader import ODD_NAMES, jekyll_posts, write_site
from sites import invoke, make_site, post
from snipcheck.discover import posts

CONFIGS = {
    "defaults": "exclude: [tests]\n",
    "future": "exclude: [tests]\nfuture: true\n",
    "include": "include: [_2024-01-01-underscore.md, .hidden]\nexclude: [tests, \"_posts/2024-01-01-p*\"]\n",
    "markdown_ext": "markdown_ext: markdown,MD\n",
    "defaults_unpublished": "defaults:\n  - scope: {path: _posts/sub}\n    values: {published: false}\n",
    "timezone": "timezone: Pacific/Kiritimati\nexclude: [tests]\n",
}


@pytest.mark.parametrize("config", list(CONFIGS))
def test_the_posts_we_verify_are_the_posts_jekyll_publishes(tmp_path, config):
    site = write_site(tmp_path, ODD_NAMES, CONFIGS[config])
    shutil.copy(Path(__file__).resolve().parent.parent / "Gemfile", site / "Gemfile")
    os.symlink("user@host.1234:1700000000", site / "_posts" / ".#2024-01-01-python-3.13.md")  # Emacs
    os.symlink("nowhere", site / "_posts" / "2024-01-09-dangling.md")
    ours = [p.relative_to(site).as_posix() for p in posts(site)]
    assert ours == jekyll_posts(site)


GOOD = post("Good", "```python\nprint('good')\n```\n")


def test_extraction_next_to_oddly_named_files_touches_only_each_posts_own_folder(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-01-01-good.md": GOOD, "..md": GOOD, "...md": GOOD,
                                         "2024-01-02-python-3.13.md": GOOD})
    os.symlink("user@host.1234:1700000000", site / "_posts" / ".#2024-01-01-good.md")
    kept = site / "snippets" / "2023-01-01-other" / "01.out"
    done = invoke(site, "extract")
    assert done.returncode == 0, done.stdout + done.stderr
    folders = sorted(p.name for p in (site / "snippets").iterdir())
    assert folders[0] == "2024-01-01-good" and folders[1].startswith("2024-01-02-python-3-13--")
    assert len(folders) == 2  # `..md` and `...md` are not posts for Jekyll, so not for us
    kept.parent.mkdir()
    kept.write_text("reviewed output\n")
    before = sorted(str(p.relative_to(site)) for p in site.rglob("*") if ".cache" not in p.parts)
    for name in ("..md", "...md"):  # even when named explicitly
        done = invoke(site, "extract", "--post", f"_posts/{name}")
        assert done.returncode == 0, done.stdout + done.stderr
    after = sorted(str(p.relative_to(site)) for p in site.rglob("*") if ".cache" not in p.parts)
    new = sorted(set(after) - set(before))
    assert set(before) <= set(after) and all(p.startswith("snippets/post--") for p in new), new
    assert kept.read_text() == "reviewed output\n"


def test_a_symbolic_link_in_snippets_stops_extraction_with_a_clear_error(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-01-01-good.md": GOOD})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine\n")
    (site / "snippets").mkdir()
    (site / "snippets" / "2024-01-01-good").symlink_to(outside)
    done = invoke(site, "extract")
    assert done.returncode == 3
    assert "snippets/2024-01-01-good is a symbolic link" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
