"""Write each post's snippets to `snippets/<post-file-stem>/NN.<ext>`, removing files no snippet owns.
Nothing is ever written into `_posts/`."""

import re
import shutil
from pathlib import Path

from .files import write_atomic
from .find import Snippet

OUTPUT = re.compile(r"^(\d+)\.out$")


def post_folder(snippets_dir: Path, post: Path) -> Path:
    return snippets_dir / post.stem


def write_post(snippets_dir: Path, post: Path, snippets: list[Snippet]) -> list[Path]:
    folder = post_folder(snippets_dir, post)
    wanted = {s.name: s.code for s in snippets}
    for name, code in wanted.items():
        write_atomic(folder / name, code)
    indexes = {s.index for s in snippets}
    if folder.exists():
        for stale in folder.iterdir():
            output = OUTPUT.match(stale.name)
            if stale.name not in wanted and not (output and int(output.group(1)) in indexes):
                stale.unlink() if stale.is_file() else shutil.rmtree(stale)
        if not any(folder.iterdir()):
            folder.rmdir()
    return [folder / name for name in wanted]


def write_all(snippets_dir: Path, found: dict[Path, list[Snippet]], every_post: bool) -> None:
    """Write the snippets of the posts in `found`; with `every_post`, drop folders of posts that are gone."""
    for post, snippets in found.items():
        write_post(snippets_dir, post, snippets)
    if every_post and snippets_dir.exists():
        stems = {post.stem for post in found}
        for folder in snippets_dir.iterdir():
            if folder.is_dir() and folder.name not in stems:
                shutil.rmtree(folder)
