"""Throw-away copies of this blog with chosen posts, and the commands a blogger would run in them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from snipcheck.bench import copy_site

REPO = Path(__file__).resolve().parent.parent
SEED_POST = REPO / "_posts" / "2024-06-03-asyncio-beyond-the-basics.md"


def make_site(root: Path, posts: dict[str, str] | None = None, seed: bool = False) -> Path:
    """A copy of the blog's site files in `root`, with `posts` ({file name: text}) in `_posts/`."""
    copy_site(REPO, root, {})
    shutil.copy2(REPO / "tasks.py", root / "tasks.py")
    if seed:
        shutil.copy2(SEED_POST, root / "_posts" / SEED_POST.name)
        shutil.copytree(REPO / "snippets" / SEED_POST.stem, root / "snippets" / SEED_POST.stem)
    for name, text in (posts or {}).items():
        (root / "_posts" / name).write_text(text, encoding="utf-8")
    return root


def invoke(site: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `invoke ARGS` in `site` as a blogger would, with this venv's interpreter."""
    return subprocess.run([sys.executable, "-m", "invoke", "--search-root", str(site), *args], cwd=site,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})


def post(title: str, body: str) -> str:
    """A post's text: front matter, then `body`."""
    return f"---\nlayout: post\ntitle: {title}\n---\n{body}"
