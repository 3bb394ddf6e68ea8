"""Whether anything verification depends on changed since the last run that verified every snippet. If nothing
did, that run's results stand: `invoke test-snippets` says so instead of starting pytest and the jail to look up
every cached result again. Cheap on purpose (standard library, file sizes and times, nothing read): it runs before
anything else is imported.

A run writes its stamp only if it passed, and only if nothing but what it writes itself changed while it ran (an
edit made then was not verified). The stamp holds every watched file as the run left it, what it wrote included,
so a deleted download, a changed NN.out or page data that is gone runs it again."""

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

from .files import write_atomic

WATCHED = ["_config.yml", "Gemfile.lock", "_posts", "_includes", "_plugins", "_data", "snippets",
           "reports/snippets.xml", "reports/snippets.json"]
STAMP = Path(".cache") / "snippets" / "last-run.json"  # beside the result cache: emptying it forgets this too
# What a run writes itself: page data, reports, downloads and figures, and NN.out (the first time, or --update).
WRITTEN = re.compile(r"(_data/snippets|reports)/.*|snippets/[^/]+/\d+\.[^/]+")
PACKAGE = Path(__file__).parent


def snapshot(root: Path) -> dict[str, list[int]]:
    """Every watched file: {path in the site: [size, modification time, inode]}."""
    files = {}
    for name in WATCHED:
        top = root / name
        for folder, dirs, names in os.walk(top) if top.is_dir() else [(str(top.parent), [], [top.name])]:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for file in names:
                path = os.path.join(folder, file)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                files[os.path.relpath(path, root)] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    return files


def inputs(files: dict) -> dict:
    return {path: seen for path, seen in files.items() if not WRITTEN.fullmatch(path.replace(os.sep, "/"))}


def context(options: dict) -> str:
    """What else a result depends on: the options (PYTEST_ADDOPTS too), this Python, the machine, and the verifier's
    own files."""
    tool = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" not in path.parts and path.is_file():  # (Python writes byte code when it likes)
            stat = path.stat()
            tool.update(f"{path} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    material = [options, os.environ.get("PYTEST_ADDOPTS"), sys.version, sys.executable, os.uname().release,
                os.uname().machine,
                os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else "",
                tool.hexdigest()]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def unchanged(root: Path, options: dict) -> dict | None:
    """The last passing run's stamp ({"summary", "when"}) when nothing it depends on changed since; else None."""
    try:
        stamp = json.loads((root / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stamp.get("context") != context(options) or stamp.get("files") != snapshot(root):
        return None
    return {"summary": stamp.get("summary") or {}, "when": stamp.get("when", "")}


def record(root: Path, options: dict, before: dict, summary: dict) -> bool:
    """After a passing run: stamp what it left, unless an input changed while it ran. Returns whether it did."""
    after = snapshot(root)
    if inputs(after) != inputs(before):
        forget(root)
        return False
    text = json.dumps({"context": context(options), "files": after, "summary": summary,
                       "when": time.strftime("%Y-%m-%d %H:%M")})
    write_atomic(root / STAMP, text)
    return True


def forget(root: Path) -> None:
    (root / STAMP).unlink(missing_ok=True)
