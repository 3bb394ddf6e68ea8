"""The walls around a snippet: a PID namespace so nothing it starts outlives it, no network unless asked, and
a memory limit. All of it is an argv prefix (util-linux `unshare`, the shell's `ulimit`) rather than a Popen
`preexec_fn`, because the runner forks from a background thread and only exec-ing programs is safe there."""

import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])  # `ip` is in sbin
NAMESPACES = ["--pid", "--fork", "--kill-child"]
OUT_OF_MEMORY = re.compile(r"\bMemoryError\b|\[Errno 12\]|Cannot allocate memory|std::bad_alloc")


@dataclass
class Sandbox:
    argv: list[str]
    namespaced: bool  # in its own PID namespace: its PID 1 is a shell whose exit takes every process with it
    network_isolated: bool


@functools.cache
def _unshare() -> str | None:
    """`unshare`, if this machine lets us make namespaces (root on Linux); checked once per process."""
    exe = shutil.which("unshare", path=SEARCH_PATH)
    try:
        works = exe and subprocess.run([exe, "--net", *NAMESPACES, "true"], stdin=subprocess.DEVNULL,
                                       capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    return exe if works else None


def wrap(argv: list[str], path: str, memory_mb: int | None, network: bool) -> Sandbox:
    """The command line that runs `argv` inside the walls this machine allows."""
    if os.sep not in argv[0] and not shutil.which(argv[0], path=path):  # the shell's "not found" goes unseen
        raise FileNotFoundError(f"cannot run snippets with {argv[0]!r}: not found on PATH={path}")
    # `ulimit -d` (RLIMIT_DATA: memory a process can write, per process) is set by the shell before it execs
    # anything: no window where the snippet runs unlimited, as with prlimit(pid) after Popen. Python then raises
    # MemoryError instead of being OOM-killed. Not RLIMIT_AS: each thread reserves (not uses) a 64 MB malloc
    # arena and an 8 MB stack, so 1 GiB of address space runs out at a dozen threads.
    limit = f"ulimit -d {memory_mb * 1024}; " if memory_mb else ""
    unshare = _unshare()
    if not unshare:
        return Sandbox(["/bin/sh", "-c", limit + 'exec "$@"', "sh", *argv] if limit else argv, False, False)
    ip = None if network else shutil.which("ip", path=SEARCH_PATH)
    # A fresh network namespace has only `lo`, and it is down; bring it up so servers on 127.0.0.1 work.
    lo_up = f"{shlex.quote(ip)} link set lo up; " if ip else ""
    # The inner shell is PID 1, not the snippet: PID 1 ignores its own SIGTERM/SIGKILL, which would change
    # what snippets about signals print. It waits for the snippet (no exec), so a snippet killed by signal N
    # exits 128+N (see `returncode`). Its own stderr and unshare's go to /dev/null and fd 3 carries the
    # snippet's: the subshell keeps the shell's "Segmentation fault" and unshare's complaint when we kill it
    # out of the snippet's stderr (dash keeps a command's own redirections while it reports its death).
    inner = lo_up + '(exec "$@" 2>&3 3>&-)'
    outer = limit + 'exec 3>&2 2>/dev/null; exec "$@"'
    net = [] if network else ["--net"]
    return Sandbox(["/bin/sh", "-c", outer, "sh", unshare, *net, *NAMESPACES, "/bin/sh", "-c", inner, "sh", *argv],
                   True, not network)


def returncode(box: Sandbox, code: int) -> int:
    """The snippet's own exit status: -N when killed by signal N, as subprocess reports it."""
    if box.namespaced and code > 128 and code - 128 in signal.valid_signals():
        return 128 - code
    return code


def memory_limited(code: int | None, stderr: str, memory_mb: int | None) -> bool:
    """Whether a failed run ran out of the memory we allowed: MemoryError/ENOMEM, or SIGKILL that we did not
    send (the kernel's OOM killer). SIGSEGV is not counted: a genuine crash would be misreported."""
    return bool(memory_mb) and code not in (0, None) and (code == -signal.SIGKILL or bool(OUT_OF_MEMORY.search(stderr)))


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def stop(pid: int, box: Sandbox, home: str) -> None:
    """Kill everything the run started. Then `wait()` on `pid` returns only when all of it is gone."""
    if box.namespaced and (init := _children(pid)):
        # SIGKILL to a namespace's PID 1 makes the kernel kill every process in it, however it left the process
        # group (setsid, double fork); unshare waits for that before it exits, and reaps PID 1 itself.
        _kill(os.kill, init[0])
        return
    _kill(os.killpg, pid)  # not started far enough to have a namespace yet, or no namespaces here
    if not box.namespaced:
        _sweep(home)


def _sweep(home: str) -> None:
    """Without a PID namespace: kill processes that left the group but still carry this run's HOME (a fresh temp
    dir). Their parent or init reaps them; making our process a subreaper instead would adopt every orphan of
    Jekyll and Chromium too, with no way to tell which were the snippet's."""
    needle = f"\0HOME={home}\0".encode()
    for _ in range(100):  # a snippet forking in a loop needs a few passes; SIGKILLed processes cannot fork
        found = [pid for pid in _pids() if needle in b"\0" + _environ(pid)]
        for pid in found:
            _kill(os.kill, pid)
        if not found:
            return


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != os.getpid()]


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or not ours to read
        return b""


def _kill(kill, pid: int) -> None:
    try:
        kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
