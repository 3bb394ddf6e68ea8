"""The verifier's side of a warm interpreter (warm/main.py): start it once per run and environment, in the jail,
then send it one request per snippet with the pipes the snippet will write to, and read them on the event loop —
stdout and stderr capped, diagnostics as JSON lines, the exit status on the job's socket. Closing that socket
stops the snippet and everything it started; no call here blocks the loop."""

import array
import asyncio
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import jail
from .errors import ToolError
from .events import MAX_BYTES, MAX_EVENTS, trusted

OUTPUT_CAP = 1024 * 1024  # bytes kept per stream; the rest is drained and dropped


@dataclass
class Completed:
    returncode: int | None  # None when it was stopped at its deadline
    stdout: str
    stderr: str
    events: list[dict]  # diagnostics, step and example reports, in order
    seconds: float
    truncated: bool = False
    timed_out_step: int | None = None  # the block that was running at the deadline
    processes: int = 0  # the most processes its namespace held at once (guard included)
    disk_full: bool = False
    memory_full: bool = False  # its processes together went over the memory limit, and were killed
    jailed: bool = True
    python: str = ""  # the version that ran it
    files_full: int = 0  # its processes together held more files open than this, and were killed

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


class Interpreter:
    """One warm interpreter for one environment."""

    def __init__(self, env: Path, jailed: bool = True):
        self.env, self.jailed = env, jailed
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.python = ""
        self.errors = bytearray()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        their_fd = jail.high_fd(theirs.detach())
        try:
            make = jail.command if self.jailed else jail.unjailed
            command = make(self.env, their_fd)
            # Popen forks and execs, which is quick; run it off the loop all the same.
            self.process = await loop.run_in_executor(None, lambda: subprocess.Popen(
                command.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                pass_fds=[their_fd, *command.pass_fds], env=command.env or None, start_new_session=True))
            for fd in command.pass_fds:
                os.close(fd)
        finally:
            os.close(their_fd)
        self.control = ours
        ours.setblocking(False)
        errors = _read_into(loop, os.dup(self.process.stderr.fileno()), self.errors, cap=64 * 1024)
        self.process.stderr.close()
        try:
            hello = await asyncio.wait_for(loop.sock_recv(ours, 4096), 60)
        except asyncio.TimeoutError:
            hello = b""
        if not hello:
            await asyncio.wait_for(asyncio.shield(errors), 10)
            await self.close()
            raise jail.no_jail(self._why())
        self.python = json.loads(hello)["python"]

    def _why(self) -> str:
        text = self.errors.decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else f"the interpreter exited with status {self.process.poll()}"

    async def run(self, request: dict, timeouts: dict[int, float]) -> Completed:
        """Run one snippet; `timeouts` gives each step (by block index) its seconds."""
        loop = asyncio.get_running_loop()
        pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(3)]
        job, their_job = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        job.setblocking(False)
        memfd = os.memfd_create("request", os.MFD_CLOEXEC)
        os.write(memfd, json.dumps(request).encode())
        sent = [memfd, *(w for _, w in pipes), their_job.fileno()]
        start = time.monotonic()
        try:
            await self._send(sent, b"run network" if request["network"] else b"run")
        finally:
            for fd in sent[:-1]:
                os.close(fd)
            their_job.close()
        out, err, diag, status = bytearray(), bytearray(), bytearray(), bytearray()
        reads = [_read_into(loop, pipes[0][0], out), _read_into(loop, pipes[1][0], err)]
        events, step = [], _Steps(request, timeouts)
        blocks = {(s["index"], s["file"]) for s in request["steps"]}

        def take(event) -> bool:
            if len(events) >= MAX_EVENTS:
                return False
            if trusted(event, blocks):
                events.append(event)
                step.seen(event)
            return True
        reads.append(_read_lines(loop, pipes[2][0], diag, take))
        reported = _read_into(loop, job.detach(), status, cap=64 * 1024)
        timed_out = None
        try:
            timed_out = await step.watch(reported)
        finally:
            if not reported.done():
                reported.cancel()  # closes our end of the job: the guard ends the snippet's namespace at once
            try:
                done = await asyncio.wait_for(asyncio.gather(*reads), 10)
            except asyncio.TimeoutError:  # only unjailed: a daemon that left the process group holds a pipe
                for read in reads:
                    read.cancel()
                done = [True]
        seconds = time.monotonic() - start
        report = json.loads(status) if status and timed_out is None else {}
        if "error" in report:
            raise jail.no_jail(report["error"]) if self.jailed else \
                ToolError(report["error"])
        if timed_out is None and not report:
            raise ToolError(f"the warm interpreter stopped answering ({self._why()})")
        return Completed(report.get("exit") if timed_out is None else None, out.decode("utf-8", "replace"),
                         err.decode("utf-8", "replace"), events, seconds, any(d is True for d in done),
                         timed_out, report.get("processes", 0), report.get("disk_full", False),
                         report.get("memory_full", False), self.jailed,
                         self.python, report.get("files_full", 0))

    async def _send(self, fds: list[int], what: bytes) -> None:
        loop = asyncio.get_running_loop()
        message = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
        while True:
            try:
                self.control.sendmsg([what], message)
                return
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self.control, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self.control)
            except OSError as err:
                raise ToolError(f"the warm interpreter is gone ({err}; {self._why()})") from None

    async def close(self) -> None:
        """Stop the interpreter: closing its socket ends it, and bubblewrap takes the whole jail with it."""
        if self.control is not None:
            self.control.close()
        if self.process is not None:
            loop = asyncio.get_running_loop()
            try:
                await asyncio.wait_for(loop.run_in_executor(None, self.process.wait), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await loop.run_in_executor(None, self.process.wait)


class _Steps:
    """Which block is running (from the step events), and its deadline. The snippet holds the channel these
    events come on, so it could send them itself: a block's start counts only once and in the request's order,
    so no run gets more time than its blocks' timeouts added up, however it lies."""

    def __init__(self, request: dict, timeouts: dict[int, float]):
        self.order = [(step["index"], step["file"]) for step in request["steps"]]  # a setup shares its block's index
        self.timeouts, self.current, self.started = timeouts, self.order[0][0], time.monotonic()
        self.position = -1  # in `order`, of the last step seen starting
        self.changed = asyncio.Event()

    def seen(self, event: dict) -> None:
        """`event` is trusted (events.py): a step of this run, if a step."""
        if event["kind"] == "step" and event["event"] == "start":
            position = self.order.index((event["index"], event["file"]))
            if position > self.position:
                self.position, self.current, self.started = position, event["index"], time.monotonic()
                self.changed.set()

    async def watch(self, finished: asyncio.Future) -> int | None:
        """Wait until the snippet reports its end; the index of the block that ran out of time, if one did."""
        while not finished.done():
            remaining = self.started + self.timeouts.get(self.current, 30.0) - time.monotonic()
            if remaining <= 0:
                return self.current
            self.changed.clear()
            changed = asyncio.ensure_future(self.changed.wait())
            try:
                await asyncio.wait([finished, changed], timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
        return None


def _read_into(loop, fd: int, kept: bytearray, cap: int = OUTPUT_CAP, on_data=None) -> asyncio.Future:
    """Read `fd` until EOF without blocking the loop; the future says whether output was cut at the cap (or
    `on_data()`, called after each read, said it left some). The descriptor is closed when done (or when the
    future is cancelled)."""
    done = loop.create_future()
    os.set_blocking(fd, False)
    truncated = False

    def readable():
        nonlocal truncated
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            room = max(cap - len(kept), 0)
            kept.extend(chunk[:room])
            truncated |= len(chunk) > room
            if on_data:
                truncated |= bool(on_data())
        elif not done.done():
            done.set_result(truncated)

    loop.add_reader(fd, readable)
    done.add_done_callback(lambda _: (loop.remove_reader(fd), os.close(fd)))
    return done


def _read_lines(loop, fd: int, buffer: bytearray, take) -> asyncio.Future:
    """Read JSON lines (diagnostics and step reports) as they come: the deadline follows the running block.
    `take(event)` says whether to go on; the future says whether some were left (too many, or over MAX_BYTES):
    the snippet holds this channel too, and could flood it."""
    seen, full = 0, False

    def parse():
        nonlocal seen, full
        end = buffer.rfind(b"\n")
        if end < 0:
            return full
        lines = bytes(buffer[:end]).split(b"\n")
        del buffer[:end + 1]  # once a chunk: removing each line from the front would cost the square
        for line in lines:
            seen += len(line) + 1
            full = full or seen > MAX_BYTES
            if full:
                break
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):  # (RecursionError: nested too deep, as only a forgery is)
                continue
            full = not take(event)
        return full
    return _read_into(loop, fd, buffer, cap=MAX_BYTES, on_data=parse)
