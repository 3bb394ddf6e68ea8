"""Results of blocks that passed, kept in `.cache/snippets/` (git-ignored) under a hash of everything that can
change them, so an unchanged block is not run again. Failures always run again, and so does a block that uses the
network: its result depends on the world, not on the post."""

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

from . import result
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


def _platform() -> str:
    """The kernel, the machine and the C library (what `platform.platform()` tells, without the processor
    name it asks `uname -p` for: a process started in every run)."""
    system = os.uname()
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):  # not glibc
        libc = ""
    return "-".join(filter(None, (system.sysname, system.release, system.machine, libc)))


PLATFORM = _platform()


def key(job: Job, jailed: bool) -> str:
    """A hash of the block, the blocks it runs after, its directives, the site's settings, the environment
    (its packages, their versions), whether it runs jailed, the interpreter and the verifier."""
    def block(snippet):
        directives = {k: v for k, v in vars(snippet.directives).items() if k != "lines"}
        return [snippet.name, job.kinds.get(snippet.index, job.kind), snippet.code, directives]
    env = job.env
    settings = {k: v for k, v in vars(job.settings).items() if k != "install_timeout"}  # (changes no result)
    material = {"chain": [block(s) for s in job.chain], "kind": job.kind, "settings": settings,
                "missing": [m.distribution for m in job.missing], "unrun": job.unrun, "jailed": jailed,
                "env": [env.key, env.packages] if env is not None else None, "python": sys.version,
                "platform": PLATFORM, "verifier": VERIFIER}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def load(folder: Path, job: Job, jailed: bool) -> result.Result | None:
    path = folder / f"{key(job, jailed)}.json"
    try:
        return result.Result(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # absent, or unreadable: run the block


def store(folder: Path, job: Job, jailed: bool, found: result.Result) -> None:
    if found.status == result.VERIFIED and not job.network:
        write_atomic(folder / f"{key(job, jailed)}.json", json.dumps(dataclasses.asdict(found)))
