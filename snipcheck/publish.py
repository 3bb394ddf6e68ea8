"""Tell the page what was verified: one Jekyll data file per post, `_data/snippets/<post folder>.json`, which
`_plugins/verified_snippets.rb` reads to place each result under the code block with the same fingerprint.

A data file lists every code block the page shows, in page order: each snippet with its result, and each
block the post wrote as HTML with the reason it is not verified. Results merge with what is there, so a
partial run (`-k`, `--lf`, `--post`, Ctrl-C) never drops the results it did not produce; the results of a
post that is gone are removed. File names are the posts' snippet folder names, which Jekyll keeps as they
are; the plugin finds a post's file by the `post` field inside it, never by the name.
"""

import hashlib
import json
import re
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer, PythonTracebackLexer

from . import find
from .errors import PostError
from .extract import folder_name, post_key
from .files import write_atomic

TRANSIENT = ("site", "post", "where", "cached")  # in a run's entries, not for the page


def code_sha256(code: str) -> str:
    """The fingerprint the page plugin recomputes from the rendered block: the code without trailing newlines."""
    return hashlib.sha256(code.rstrip("\n").encode("utf-8")).hexdigest()


def data_file(root: Path, post: Path) -> Path:
    return _data_dir(root) / "snippets" / f"{folder_name(root, post)}.json"


def _data_dir(root: Path) -> Path:
    return root / str(find.site_config(root).get("data_dir") or "_data")


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


def write_results(root: Path, entries: list[dict], every_post: bool, posts=(),
                  warnings: dict[str, str] | None = None) -> list[Path]:
    """Write the page data of one site from a run's results.

    `entries`: one dict per snippet verified in this run (`post` relative to `root`, `index`, `sha256`,
    `status`, …); `posts`: every post the run read, even those without results (a post whose only code is
    HTML needs its data too); `every_post`: the run covered the whole site, so data of posts that are not
    posts any more (renamed, `published: false`) goes too. `warnings`: {post: a warning for the whole page}.
    Returns the data files written or removed."""
    by_post: dict[Path, dict[int, dict]] = {}
    for entry in entries:
        by_post.setdefault(root / entry["post"], {})[entry["index"]] = entry
    read = set(by_post) | {Path(p) if Path(p).is_absolute() else root / p for p in posts}
    wanted = set(find.posts_in(root)) if every_post else set()
    chosen = sorted(p for p in (wanted if every_post else read) if p.is_file())
    changed = []
    for post, page in find.pages(chosen, root).items():
        if isinstance(page, PostError):
            continue  # the run reported it; its last good data stays
        path = data_file(root, post)
        old = _load(path) or {}
        last = {e.get("index"): e for e in old.get("snippets") or [] if isinstance(e, dict)}
        blocks = _blocks(page, by_post.get(post, {}), last)
        if not blocks and not path.exists():
            continue
        key = post_key(root, post)
        warning = (warnings or {}).get(key, None if post in read or every_post else old.get("warning"))
        text = json.dumps({"post": key, "warning": warning, "snippets": blocks}, indent=1, ensure_ascii=False)
        if write_atomic(path, text + "\n"):
            changed.append(path)
    return changed + _remove_gone(root, wanted if every_post else None)


def _blocks(page: find.Page, new: dict[int, dict], old: dict[int, dict]) -> list[dict]:
    """Every block of the page, in page order: a snippet takes this run's result, or the last one, as long as
    it is for the code the post shows now; a snippet without one is left out (the page then says so)."""
    blocks = []
    shown = iter(page.shown)
    pending = next(shown, None)
    for snippet in [*page.snippets, None]:
        while pending is not None and (snippet is None or pending.after < snippet.index):
            blocks.append({"kind": "html", "line": pending.line, "sha256": code_sha256(pending.code),
                           "status": "unverified", "reason": pending.reason, "conditional": pending.conditional})
            pending = next(shown, None)
        if snippet is None:
            break
        sha = code_sha256(snippet.code)
        result = next((e for e in (new.get(snippet.index), old.get(snippet.index)) if e and e.get("sha256") == sha),
                      None)
        if result is not None:
            block = {k: v for k, v in result.items() if k not in TRANSIENT}
            block["conditional"] = snippet.conditional
            block["output_html"] = highlight_output(block["output"]) if block.get("output") else None
            blocks.append(block)
    return blocks


def _load(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remove_gone(root: Path, posts: set[Path] | None) -> list[Path]:
    """Remove the data of posts that are gone: deleted, or (with `posts`, the site's posts) no longer a post
    or written under another name. Only our own files, `_data/snippets/*.json`, are ever removed."""
    folder = _data_dir(root) / "snippets"
    removed = []
    names = {data_file(root, p).name for p in posts} if posts is not None else None
    for path in sorted(folder.glob("*.json")) if folder.is_dir() and not folder.is_symlink() else []:
        data = _load(path)
        post = root / data["post"] if data and isinstance(data.get("post"), str) else None
        gone = post is None or not post.is_file() if names is None else path.name not in names
        if gone and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def timeline_figure(root: Path, entry: dict) -> None:
    """A verified block's timeline as a figure beside its download (`NN.timeline.svg`, a static file the page
    shows with <img>, so nothing a snippet named can run on the page), and for the page its address, a text
    alternative and a small table, in place of the recorded events; a block without one loses any old figure."""
    from . import timeline
    data = entry.pop("timeline", None)
    figure = (root / entry["file"]).with_name(entry["file"].rsplit("/", 1)[-1].split(".")[0] + ".timeline.svg")
    if not data or entry["status"] != "verified" or not data.get("tasks"):
        figure.unlink(missing_ok=True)
        return
    drawn = timeline.svg(data)
    write_atomic(figure, drawn)
    size = re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"', drawn)
    entry["timeline"] = {"figure": figure.relative_to(root).as_posix(), "alt": timeline.describe(data),
                         "rows": timeline.rows(data), "width": int(size.group(1)) if size else 300,
                         "height": int(size.group(2)) if size else 150}
