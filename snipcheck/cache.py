"""Results of snippets that passed, kept in `.cache/snippets/` (git-ignored) under a hash of everything
that can change them, so an unchanged snippet is not run again. Failures are always re-run."""

import dataclasses
import hashlib
import json
import platform
import sys
from pathlib import Path

from . import verify
from .files import write_atomic
from .plan import Job

PACKAGE = Path(__file__).parent


def _verifier_version() -> str:
    """The verifier's own code: any change to it (a new check, a fixed bug) invalidates every result."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".rb") and "__pycache__" not in path.parts:
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


VERIFIER = _verifier_version()


def key(job: Job) -> str:
    """A hash of the snippet, the blocks it depends on, its directives, its limits and the interpreter."""
    def block(snippet):
        directives = dataclasses.asdict(snippet.directives)
        directives.pop("lines")
        return [snippet.name, snippet.language, snippet.code, directives]
    material = {"chain": [block(s) for s in job.chain], "timeout": float(job.timeout),
                "slow": float(job.slow_callback), "memory": int(job.memory_mb),
                "expected": job.expected_output.code if job.expected_output else None,
                "used_later": job.used_later, "python": sys.version, "executable": sys.executable,
                "platform": platform.platform(), "verifier": VERIFIER}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def load(folder: Path, job: Job) -> verify.Result | None:
    path = folder / f"{key(job)}.json"
    try:
        return verify.Result(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # absent, or unreadable: run the snippet


def store(folder: Path, job: Job, result: verify.Result) -> None:
    if result.status == verify.VERIFIED:
        write_atomic(folder / f"{key(job)}.json", json.dumps(dataclasses.asdict(result)))
