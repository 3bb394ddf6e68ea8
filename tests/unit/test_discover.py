"""Which files are posts: Jekyll's own rule, without Ruby (tests/test_trust_discover.py checks the same
folders against real Jekyll)."""

import datetime
import os
from pathlib import Path

import pytest

from jekyll_reader import FRONT, ODD_NAMES as FILES, PUBLISHED, write_site as make  # as real Jekyll reads
from snipcheck.discover import posts


def found(root: Path, **kwargs) -> list[str]:
    return [p.relative_to(root).as_posix() for p in posts(root, **kwargs)]


def test_the_posts_jekyll_publishes(tmp_path):
    assert found(make(tmp_path, FILES)) == PUBLISHED


def test_an_editors_dangling_lock_link_is_not_a_post_and_does_not_crash(tmp_path):
    root = make(tmp_path, {"_posts/2024-01-01-plain.md": FRONT})
    os.symlink("user@host.1234:1700000000", root / "_posts" / ".#2024-01-01-plain.md")
    os.symlink("nowhere", root / "_posts" / "2024-01-01-dangling.md")
    assert found(root) == ["_posts/2024-01-01-plain.md"]


def test_future_posts_are_published_with_future_true(tmp_path):
    root = make(tmp_path, FILES, "exclude: [tests]\nfuture: true\n")
    assert "_posts/2999-01-01-future.md" in found(root)
    assert "_posts/2024-01-04-future-by-date.md" in found(root)


def test_a_post_dated_later_today_waits_for_its_time(tmp_path):
    root = make(tmp_path, {"_posts/2024-06-01-later.md": "---\ndate: 2024-06-01 18:00:00 +0000\n---\nx\n"})
    noon = datetime.datetime(2024, 6, 1, 12, tzinfo=datetime.timezone.utc)
    assert found(root, now=noon) == []
    assert found(root, now=noon + datetime.timedelta(hours=7)) == ["_posts/2024-06-01-later.md"]


@pytest.mark.parametrize("config, expected", [
    ("exclude: [_posts/2024-01-01-a.md]\n", ["_posts/2024-01-01-b.md"]),
    ("exclude: [_posts/2024-01-01-a.md]\ninclude: [2024-01-01-a.md]\n", ["_posts/2024-01-01-a.md",
                                                                          "_posts/2024-01-01-b.md"]),
    ("exclude: [\"*-b.md\"]\n", ["_posts/2024-01-01-a.md"]),
    ("markdown_ext: md\n", ["_posts/2024-01-01-a.md", "_posts/2024-01-01-b.md"]),
    ("markdown_ext: markdown\n", []),
    ("defaults:\n  - scope: {path: _posts, type: posts}\n    values: {published: false}\n", []),
])
def test_exclude_include_markdown_ext_and_defaults(tmp_path, config, expected):
    root = make(tmp_path, {"_posts/2024-01-01-a.md": FRONT, "_posts/2024-01-01-b.md": FRONT}, config)
    assert found(root) == expected
