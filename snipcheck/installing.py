"""Running an install (uv or pip filling a snippet environment) so that it ends: a package's build runs its own
code, which may hang, or fork until it reaches the jail's process limit and then wait there forever (its
processes hold the installer's pipes, so the installer waits too). Either way it is stopped, with everything it
started, and the reason is said."""

import contextlib
import os
import signal
import subprocess
import time

LOOK_EVERY = 0.5  # seconds between looks at how many processes the install has


class Stopped(Exception):
    """The install was stopped: the message says why, as the end of "installing X ..."; `late`: for its time
    (else for its processes)."""

    def __init__(self, why: str, late: bool):
        super().__init__(why)
        self.late = late


def run(argv: list[str], timeout: float, processes: int | None = None, **options) -> subprocess.CompletedProcess:
    """Run `argv` (its output captured as text), stopped when it takes longer than `timeout` seconds or, given
    `processes`, when the processes and threads under it reach that many (its limit in the jail: reached, it
    has failed already). All it started goes with it, and is gone when this returns."""
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                          **options) as process:
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    out, err = process.communicate(timeout=min(LOOK_EVERY, max(deadline - time.monotonic(), 0.01)))
                    break
                except subprocess.TimeoutExpired:  # (communicate again: no output is lost)
                    if time.monotonic() >= deadline:
                        raise Stopped(f"took longer than {timeout:g} s", late=True) from None
                    if processes and sum(tree(process.pid).values()) >= processes:  # (bubblewrap's own outside)
                        raise Stopped(f"reached its process limit ({processes} processes and threads)",
                                      late=False) from None
        except BaseException:  # stopped, or Ctrl-C: nothing of the install outlives us
            kill(process.pid)
            raise  # (leaving the `with` closes the pipes and reaps it)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def kill(root: int, patience: float = 10.0) -> None:
    """Kill `root`, its process group and every process under it, and wait until they are gone. (In the jail,
    bubblewrap's death ends its PID namespace, and its first process goes last, once the kernel has killed the
    rest: those that forked after we looked go with it.)"""
    pids = tree(root)
    with contextlib.suppress(OSError):
        os.killpg(root, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + patience
    while any(_alive(pid) for pid in pids if pid != root) and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """Running or dying, not yet a zombie (a zombie is no process any more: its parent has yet to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def tree(root: int) -> dict[int, int]:
    """`root` and all its descendants, as /proc shows them now: each one's count of threads."""
    children: dict[int, list[int]] = {}
    threads: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()  # (the command name may hold anything)
            except (OSError, IndexError):
                continue  # gone meanwhile
            children.setdefault(int(fields[1]), []).append(int(name))
            threads[int(name)] = int(fields[17])
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in threads:
            found[pid] = threads[pid]
            todo += children.get(pid, [])
    return found
