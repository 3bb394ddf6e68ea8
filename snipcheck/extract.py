"""Write each post's snippets to `snippets/<post folder>/NN.<ext>`, removing files no snippet owns.
Nothing outside a post's own folder is written or deleted, nothing in `_posts/` is touched, and a symbolic
link anywhere in `snippets/` stops the work before any change (it is never followed, nor deleted)."""

import hashlib
import os
import re
import shutil
import unicodedata
from pathlib import Path

from .errors import PostError, ToolError
from .files import make_publishable, write_atomic
from .find import Snippet

OUTPUT = re.compile(r"^(\d+)\.(?:out|timeline\.svg)$")  # what a verification wrote beside a block
PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # a folder name every file system, URL and Jekyll `_data` key keeps
HASHED = re.compile(r"--[0-9a-f]{10}$")


def post_key(root: Path, post: Path) -> str:
    """A post's identity: its path in the site, as Jekyll's `relative_path` gives it (`_posts/x.md`)."""
    try:
        return Path(os.path.relpath(post.absolute(), root.absolute())).as_posix()
    except ValueError:
        return post.absolute().as_posix()


def folder_name(root: Path, post: Path) -> str:
    """The post's folder in `snippets/` (and its data file's name): the file name without its extension
    when that is plain (`2024-06-03-asyncio`), else a readable ASCII name plus a hash of the post's path, so
    `..md`, `python-3.13.md`, `café.md` or `blog/_posts/x.md` each get a safe folder of their own."""
    key = post_key(root, post)
    *folders, name = key.split("/")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    if folders == ["_posts"] and PLAIN.fullmatch(stem) and not HASHED.search(stem):
        return stem
    ascii_name = unicodedata.normalize("NFKD", "-".join([*[f for f in folders if f != "_posts"], stem]))
    readable = re.sub(r"[^A-Za-z0-9_]+", "-", ascii_name.encode("ascii", "ignore").decode()).strip("-_")[:80]
    return f"{readable or 'post'}--{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def post_folder(snippets_dir: Path, post: Path) -> Path:
    return snippets_dir / folder_name(snippets_dir.parent, post)


def folders(root: Path, posts) -> dict[Path, str]:
    """{post: folder name}; two posts that would share a folder (`x.md` and `x.markdown`) are refused."""
    names, owner = {}, {}
    for post in posts:
        name = folder_name(root, post)
        if name in owner:
            raise PostError(post, None, f"{owner[name].name} and {post.name} would share snippets/{name}/ (and "
                            "Jekyll publishes both at the same address)", "Rename one of the two posts.")
        names[post], owner[name] = name, post
    return names


def refuse_links(snippets_dir: Path, *inside: Path) -> None:
    """Stop if `snippets/` or any entry below the given folders is a symbolic link: writing or deleting
    through one could reach anything on the machine."""
    for path in (snippets_dir, *inside):
        if path.is_symlink():
            raise ToolError(_link_message(path))
    for folder in inside:
        if folder.is_dir():
            for top, dirs, files in os.walk(folder):
                for name in dirs + files:
                    if os.path.islink(os.path.join(top, name)):
                        raise ToolError(_link_message(Path(top) / name))
    if snippets_dir.exists() and not snippets_dir.is_dir():
        raise ToolError(f"{snippets_dir} is not a folder: snipcheck writes each post's snippets below it. "
                        "Move the file away.")


def _link_message(path: Path) -> str:
    return (f"{path} is a symbolic link: snipcheck writes only real files and folders in snippets/, and never "
            "follows or deletes a link. Remove the link (snippets/ is rewritten from the posts).")


def write_post(snippets_dir: Path, post: Path, snippets: list[Snippet]) -> list[Path]:
    folder = post_folder(snippets_dir, post)
    refuse_links(snippets_dir, folder)
    wanted = {s.name: s.code for s in snippets}
    for name, code in wanted.items():
        write_atomic(folder / name, code)
        make_publishable(folder / name)
    indexes = {s.index for s in snippets}
    if folder.is_dir():
        for stale in folder.iterdir():
            output = OUTPUT.match(stale.name)
            if stale.name not in wanted and not (output and int(output.group(1)) in indexes):
                stale.unlink() if not stale.is_dir() else shutil.rmtree(stale)
        if not any(folder.iterdir()):
            folder.rmdir()
    for part in (snippets_dir, folder):
        if part.is_dir():
            make_publishable(part)
    return [folder / name for name in wanted]


def write_all(snippets_dir: Path, found: dict[Path, list[Snippet]], every_post: bool) -> None:
    """Write the snippets of the posts in `found`; with `every_post`, drop folders of posts that are gone
    (only folders: a file such as `snippets/requirements.txt` is not a post's, nor is a `.` or `_` folder)."""
    names = folders(snippets_dir.parent, found)
    stale = []
    if every_post and snippets_dir.is_dir():
        stale = [f for f in snippets_dir.iterdir() if f.name not in names.values() and f.name[:1] not in "._"
                 and (f.is_symlink() or f.is_dir())]
    refuse_links(snippets_dir, *stale)
    for post, snippets in found.items():
        write_post(snippets_dir, post, snippets)
    for folder in stale:
        shutil.rmtree(folder)
