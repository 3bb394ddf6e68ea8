"""Running snippets the way the verifier does — a warm interpreter in the real jail, forking each one — for the
jail and semantics tests. No mocks: real bubblewrap, real namespaces, real processes."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from snipcheck import environments
from snipcheck.interpreter import Completed, Interpreter

LIMITS = {"memory_mb": 1024, "processes": 64, "file_mb": 16}


def empty_env(root: Path) -> environments.Env:
    """An environment with no packages, built for real (uv), in `root`'s .cache/envs."""
    return environments.ensure(root, environments.Requirements())


def request(code: str, *, network: bool = False, disk_mb: int = 16, files: int | None = None, **limits) -> dict:
    return {"steps": [{"index": 1, "file": "01.py", "kind": "program", "code": code, "own": True}],
            "network": network, "disk_mb": disk_mb, "files": files or disk_mb * 256, "slow_callback": 0.1,
            "limits": {**LIMITS, **limits}}


async def _run_all(env, requests: list[dict], timeout: float, jailed: bool) -> list[Completed]:
    interpreter = Interpreter(env.path, jailed)
    await interpreter.start()
    try:
        return await asyncio.gather(*(interpreter.run(r, {1: timeout}) for r in requests))
    finally:
        await interpreter.close()


def run(env, code: str, timeout: float = 10, jailed: bool = True, **options) -> Completed:
    """One snippet, as the verifier runs it."""
    return asyncio.run(_run_all(env, [request(code, **options)], timeout, jailed))[0]


def run_together(env, codes: list[str], timeout: float = 10) -> list[Completed]:
    """Several snippets at once, from one warm interpreter."""
    return asyncio.run(_run_all(env, [request(code) for code in codes], timeout, True))


def run_in_turn(env, codes: list[str], timeout: float = 10, **options) -> list[Completed]:
    """Several snippets one after another, from one warm interpreter: each may reuse the last one's cell.
    `options` (as for request) apply from the second on."""
    async def in_turn():
        interpreter = Interpreter(env.path, True)
        await interpreter.start()
        try:
            return [await interpreter.run(request(code, **(options if n else {})), {1: timeout})
                    for n, code in enumerate(codes)]
        finally:
            await interpreter.close()
    return asyncio.run(in_turn())


def run_plainly(env, code: str, folder: Path, timeout: float = 10) -> subprocess.CompletedProcess:
    """The same code as `python -X dev 01.py`, in `folder`, with the environment's Python: what a snippet must
    behave like."""
    (folder / "01.py").write_text(code)
    return subprocess.run([str(env.python), "-X", "dev", "01.py"], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL,
                          env={"PATH": os.environ["PATH"], "HOME": str(folder), "LANG": "C.UTF-8",
                               "PYTHONHASHSEED": "0", "PYTHONASYNCIODEBUG": "1"})


def processes_with(marker: str) -> list[int]:
    """Processes anywhere on the machine whose command line or environment carries `marker`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            for part in ("cmdline", "environ"):
                try:
                    if marker.encode() in Path(f"/proc/{name}/{part}").read_bytes():
                        found.append(int(name))
                        break
                except OSError:
                    pass
    return found


def python_of_this_process() -> str:
    return sys.executable


def repo_files() -> list[tuple[Path, str]]:
    """The project's files as a clone has them (tracked, or new and not ignored): (where, path in the project)."""
    repo = Path(__file__).resolve().parent.parent
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo, capture_output=True,
                            check=True).stdout.decode().split("\0")
    return [(repo / name, name) for name in listed if name and (repo / name).is_file()]
