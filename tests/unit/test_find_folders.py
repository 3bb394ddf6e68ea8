"""Where each post's snippets go: a folder of its own below `snippets/`, whatever the post is called, and
nothing outside it is ever written or deleted. No Ruby needed: the snippets are given."""

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snipcheck.errors import PostError, ToolError
from snipcheck.extract import folder_name, folders, write_all, write_post
from snipcheck.find import Snippet


def jekyll_data_key(name: str) -> str:
    """Jekyll's DataReader#sanitize_filename (Ruby's \\w is ASCII), for names without spaces."""
    return re.sub(r"[^A-Za-z0-9_\s-]+", "", name)


def snippet(post: Path, index: int = 1, code: str = "print(1)\n") -> Snippet:
    return Snippet(post, index, "python", code, 5)


@pytest.mark.parametrize("name, folder", [
    ("2024-06-03-asyncio-beyond-the-basics.md", "2024-06-03-asyncio-beyond-the-basics"),
    ("2024-06-03-snake_case.markdown", "2024-06-03-snake_case"),
])
def test_a_plainly_named_post_keeps_its_file_name(tmp_path, name, folder):
    assert folder_name(tmp_path, tmp_path / "_posts" / name) == folder


@pytest.mark.parametrize("name", ["..md", "...md", ".md", "2024-05-01-python-3.13.md", "2024-05-01-c++.md",
                                  "2024-05-01-café.md", "2024-05-01-日本.md", "2024-05-01-a b.md",
                                  "2024-05-01-x--0123456789.md"])
def test_any_other_name_gets_a_safe_folder_that_jekyll_keeps_as_it_is(tmp_path, name):
    folder = folder_name(tmp_path, tmp_path / "_posts" / name)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*--[0-9a-f]{10}", folder), folder
    assert jekyll_data_key(folder) == folder


@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda t: "/" not in t and "\0" not in t),
                min_size=2, max_size=6, unique=True))
def test_folders_are_safe_and_never_shared(names):
    root = Path("/site")
    made = [folder_name(root, root / "_posts" / f"{name}.md") for name in names]
    assert len(set(made)) == len(made)
    for folder in made:
        assert folder not in (".", "..") and "/" not in folder and jekyll_data_key(folder) == folder


def test_posts_in_other_folders_do_not_share_a_folder(tmp_path):
    same = [tmp_path / "_posts" / "2024-01-01-a.md", tmp_path / "blog" / "_posts" / "2024-01-01-a.md",
            tmp_path / "_posts" / "sub" / "2024-01-01-a.md"]
    assert len(set(folders(tmp_path, same).values())) == 3


def test_two_posts_that_would_share_a_folder_are_refused(tmp_path):
    with pytest.raises(PostError, match="would share snippets/2024-01-01-a/"):
        folders(tmp_path, [tmp_path / "_posts" / "2024-01-01-a.md", tmp_path / "_posts" / "2024-01-01-a.markdown"])


@pytest.mark.parametrize("name", ["..md", "...md"])
def test_a_post_named_dots_writes_only_its_own_folder(tmp_path, name):
    snippets = tmp_path / "snippets"
    other = snippets / "2024-01-01-other"
    other.mkdir(parents=True)
    (other / "01.py").write_text("kept\n")
    (other / "01.out").write_text("kept\n")
    post = tmp_path / "_posts" / name
    written = write_post(snippets, post, [snippet(post)])
    assert [p.parent.parent for p in written] == [snippets]
    assert (other / "01.py").read_text() == "kept\n" and (other / "01.out").read_text() == "kept\n"
    write_post(snippets, post, [])  # all its snippets gone: only its folder goes
    assert sorted(p.name for p in snippets.iterdir()) == ["2024-01-01-other"]
    assert (tmp_path / "_posts").exists() is False or not any((tmp_path / "_posts").iterdir())


def test_a_full_run_removes_only_folders_of_posts_that_are_gone(tmp_path):
    snippets = tmp_path / "snippets"
    for name in ("2023-01-01-deleted", ".venv", "_shared"):
        (snippets / name).mkdir(parents=True)
        (snippets / name / "01.py").write_text("x\n")
    (snippets / "requirements.txt").write_text("aiohttp\n")
    post = tmp_path / "_posts" / "2024-01-01-kept.md"
    write_all(snippets, {post: [snippet(post)]}, every_post=True)
    assert sorted(p.name for p in snippets.iterdir()) == [".venv", "2024-01-01-kept", "_shared", "requirements.txt"]


@pytest.mark.parametrize("where", ["folder", "inside", "stale", "snippets"])
def test_a_symbolic_link_in_snippets_is_refused_and_nothing_changes(tmp_path, where):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious.txt").write_text("mine\n")
    snippets = tmp_path / "site" / "snippets"
    post = tmp_path / "site" / "_posts" / "2024-01-01-post.md"
    folder = snippets / "2024-01-01-post"
    if where == "snippets":
        snippets.parent.mkdir(parents=True)
        snippets.symlink_to(target)
    else:
        folder.mkdir(parents=True)
        (folder / "01.py").write_text("old\n")
        link = {"folder": folder / "sub", "inside": folder / "02.py", "stale": snippets / "2023-01-01-gone"}[where]
        link.symlink_to(target)
    with pytest.raises(ToolError, match="is a symbolic link"):
        write_all(snippets, {post: [snippet(post, code="new\n")]}, every_post=True)
    assert sorted(p.name for p in target.iterdir()) == ["precious.txt"]
    if where != "snippets":
        assert (folder / "01.py").read_text() == "old\n"  # refused before any change


def test_snippet_files_are_readable_by_everyone_under_the_usual_umask(tmp_path):
    import os
    import stat
    umask = os.umask(0o022)
    try:
        post = tmp_path / "_posts" / "2024-01-01-post.md"
        written = write_post(tmp_path / "snippets", post, [snippet(post)])
        written = write_post(tmp_path / "snippets", post, [snippet(post, code="print(2)\n")])  # rewritten
    finally:
        os.umask(umask)
    assert stat.S_IMODE(written[0].stat().st_mode) == 0o644
    assert stat.S_IMODE(written[0].parent.stat().st_mode) == 0o755
