"""A baseline for adopting an existing blog: one reviewable file, `snippets/baseline.yml`, listing the blocks that
failed when it was written, with why. Later runs fail only on failures it does not list — new ones and
regressions — as a linter's baseline does; a listed block reads "not verified: a known failure" on the page.
Blocks are known by post and fingerprint (the code's hash), so editing a block takes it out of the baseline."""

from pathlib import Path

import yaml

from .files import write_atomic

FILE = Path("snippets") / "baseline.yml"
HEADER = """\
# Blocks that failed when this baseline was written (`invoke test-snippets --write-baseline`). A run fails only
# on failures not listed here; each listed block reads "not verified: a known failure" on its page. Fix a block
# and delete its entry (or write the baseline again). Edited blocks drop out by themselves: they are known by
# their code's fingerprint.
"""


def load(root: Path) -> dict[tuple[str, str], str]:
    """{(post path, fingerprint): reason} from the site's baseline; empty when it has none."""
    path = root / FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {}
    for post, blocks in data.items():
        for block in blocks or ():
            known[(post, str(block.get("fingerprint", "")))] = str(block.get("reason", ""))
    return known


def fingerprint(sha256: str) -> str:
    return sha256[:16]


def write(root: Path, entries: list[dict]) -> Path | None:
    """The baseline of these results: every failed block. None (and no file) when nothing failed."""
    failed: dict[str, list[dict]] = {}
    for entry in sorted(entries, key=lambda e: (e["post"], e["index"])):
        if entry["status"] == "failed" or entry.get("known"):
            reason = entry.get("known") or entry["reason"]
            failed.setdefault(entry["post"], []).append(
                {"block": entry["file"].rsplit("/", 1)[-1], "line": entry["line"],
                 "fingerprint": fingerprint(entry["sha256"]), "reason": reason.splitlines()[0]})
    path = root / FILE
    if not failed:
        path.unlink(missing_ok=True)
        return None
    write_atomic(path, HEADER + yaml.safe_dump(failed, sort_keys=False, allow_unicode=True, width=120))
    return path
