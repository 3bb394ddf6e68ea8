"""Tell the page what was verified: one Jekyll data file per post, `_data/snippets/<post-file-stem>.json`,
which the `_plugins/verified_snippets.rb` plugin places under each matching code block."""

import hashlib
import json
from pathlib import Path

from .files import write_atomic


def code_sha256(code: str) -> str:
    """The fingerprint the page plugin recomputes from the rendered block: the code without trailing newlines."""
    return hashlib.sha256(code.rstrip("\n").encode("utf-8")).hexdigest()


def write_post_data(data_dir: Path, post: str, entries: list[dict]) -> Path:
    path = data_dir / "snippets" / f"{Path(post).stem}.json"
    entries = sorted(entries, key=lambda e: e["index"])
    write_atomic(path, json.dumps({"post": post, "snippets": entries}, indent=1, ensure_ascii=False) + "\n")
    return path
