"""Run one command the way a snippet must run: a fresh process in its own session and sandbox (see sandbox.py),
a throw-away working directory and HOME, empty stdin, capped output, and a timeout; when it ends, however it
ends, nothing it started is left running."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import sandbox

OUTPUT_CAP = 1024 * 1024  # bytes kept per stream; the rest is drained and dropped
MEMORY_MB = 1024  # memory each snippet process may use: plenty for examples, stops a runaway before swap


@dataclass
class Completed:
    returncode: int | None  # None when it was killed for the timeout
    stdout: str
    stderr: str
    seconds: float
    truncated: bool = False
    memory_limited: bool = False  # it failed for lack of memory under the `memory_mb` limit
    network_isolated: bool = False  # it ran with no network (loopback only)

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def clean_env(home: str) -> dict[str, str]:
    """The same environment for every run, so the result depends on the snippet alone."""
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": home, "TMPDIR": home,
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}


def _read_into(loop, pipe, kept: bytearray) -> asyncio.Future:
    """Read a pipe until EOF without blocking the loop; the future says whether output was cut at the cap."""
    done, fd = loop.create_future(), pipe.fileno()
    os.set_blocking(fd, False)
    truncated = False

    def readable():
        nonlocal truncated
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            room = max(OUTPUT_CAP - len(kept), 0)
            kept.extend(chunk[:room])
            truncated |= len(chunk) > room
        else:
            loop.remove_reader(fd)
            done.done() or done.set_result(truncated)

    loop.add_reader(fd, readable)
    done.add_done_callback(lambda _: (loop.remove_reader(fd), pipe.close()))
    return done


def _exited(loop, pid: int) -> asyncio.Future:
    """Resolves when the process exits, even while others (its children) still hold its pipes open."""
    done, pidfd = loop.create_future(), os.pidfd_open(pid)
    loop.add_reader(pidfd, lambda: done.done() or done.set_result(None))
    done.add_done_callback(lambda _: (loop.remove_reader(pidfd), os.close(pidfd)))
    return done


async def run(argv: list[str], files: dict[str, str], timeout: float, env: dict | None = None, *,
              memory_mb: int | None = MEMORY_MB, network: bool = False) -> Completed:
    """Write `files` into a fresh temporary folder and run `argv` there, each of its processes limited to
    `memory_mb` of memory (None: unlimited), and with no network unless `network`."""
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="snippet-") as tmp:
        for name, text in files.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        env = {**clean_env(tmp), **(env or {})}
        box = sandbox.wrap(argv, env["PATH"], memory_mb, network)
        start = time.monotonic()
        proc = subprocess.Popen(box.argv, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        out, err = bytearray(), bytearray()
        reads = [_read_into(loop, proc.stdout, out), _read_into(loop, proc.stderr, err)]
        exited, timed_out = _exited(loop, proc.pid), False
        try:
            await asyncio.wait_for(asyncio.shield(exited), timeout)
        except asyncio.TimeoutError:
            timed_out = True
        except BaseException:  # cancelled (Ctrl-C): nobody will read the output
            for read in reads:
                read.cancel()
            raise
        finally:
            # Whatever the snippet started goes with it, even on Ctrl-C; its pipes close with it.
            sandbox.stop(proc.pid, box, tmp)
            code = sandbox.returncode(box, proc.wait())
            exited.cancel()
        seconds = time.monotonic() - start
        try:
            cut_out, cut_err = await asyncio.wait_for(asyncio.gather(*reads), 5)
        except asyncio.TimeoutError:  # something outside our reach still holds the pipes open
            cut_out = cut_err = True
        stderr = err.decode("utf-8", "replace")
        return Completed(None if timed_out else code, out.decode("utf-8", "replace"), stderr, seconds,
                         cut_out or cut_err, not timed_out and sandbox.memory_limited(code, stderr, memory_mb),
                         box.network_isolated)


def python() -> str:
    """The interpreter snippets run with: the tool's own (a venv's starts fast; shims are slow)."""
    return sys.executable
