"""Tell the page what was verified: one Jekyll data file per post, `_data/snippets/<post-file-stem>.json`,
which the `_plugins/verified_snippets.rb` plugin places under each matching code block."""

import hashlib
import json
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer, PythonTracebackLexer

from .files import write_atomic


def code_sha256(code: str) -> str:
    """The fingerprint the page plugin recomputes from the rendered block: the code without trailing newlines."""
    return hashlib.sha256(code.rstrip("\n").encode("utf-8")).hexdigest()


def highlight_output(output: str) -> str | None:
    """Pygments markup (class spans only) for output that has a fitting lexer: a traceback, or JSON."""
    stripped = output.strip()
    if "Traceback (most recent call last):" in output:
        lexer = PythonTracebackLexer(stripnl=False)
    elif stripped[:1] in ("{", "[") and _is_json(stripped):
        lexer = JsonLexer(stripnl=False)
    else:
        return None
    return highlight(output, lexer, HtmlFormatter(nowrap=True))


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def write_post_data(data_dir: Path, post: str, entries: list[dict]) -> Path:
    path = data_dir / "snippets" / f"{Path(post).stem}.json"
    entries = sorted(entries, key=lambda e: e["index"])
    for entry in entries:
        entry["output_html"] = highlight_output(entry["output"]) if entry.get("output") else None
    write_atomic(path, json.dumps({"post": post, "snippets": entries}, indent=1, ensure_ascii=False) + "\n")
    return path
