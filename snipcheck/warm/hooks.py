"""What reveals a broken example — never-awaited coroutines, lost task exceptions, a blocked event loop, unclosed
resources — reported as JSON lines on the diagnostics channel, a pipe of its own, so that nothing a snippet prints
can be mistaken for them. Installed once in the warm interpreter, before asyncio is imported; each forked snippet
then points `channel` at its own pipe."""

import json
import os
import re
import sys
import threading
import time
import warnings
import weakref

from . import timeline

channel: int | None = None  # the diagnostics pipe of the snippet this process runs; None in the warm parent
slow_callback = 0.1  # seconds a callback may hold the event loop
OURS = os.path.dirname(os.path.abspath(__file__))


def emit(kind: str, **fields) -> None:
    if channel is None:
        return
    line = (json.dumps({"kind": kind, **fields}) + "\n").encode()
    try:
        while line:
            line = line[os.write(channel, line):]
    except OSError:  # the verifier stopped listening: nothing left to tell
        pass


_show = warnings._showwarnmsg
OUR_FRAMES = re.compile(r'^  File "' + re.escape(OURS) + r'/[^\n]*\n(?:    [^\n]*\n)?', re.M)


def _showwarnmsg(msg: warnings.WarningMessage) -> None:
    """Every warning, on our channel; then shown as `python -X dev` shows it (through the snippet's own
    `warnings.showwarning`, if it set one), without our frames, which the snippet does not have. A warning
    raised while we let go of the snippet's objects at exit is told as Python tells one raised at shutdown,
    with no frame: `sys:1`."""
    if msg.filename.startswith(OURS):  # (and at shutdown Python cannot import tracemalloc to suggest it)
        msg.filename, msg.lineno, msg.line, msg.source = "sys", 1, "", None
    if isinstance(msg.message, Warning) and OUR_FRAMES.search(str(msg.message)):
        msg.message = msg.category(OUR_FRAMES.sub("", str(msg.message)))
    emit("warning", category=msg.category.__name__, message=str(msg.message), filename=msg.filename,
         lineno=msg.lineno)
    _show(msg)


warnings._showwarnmsg = _showwarnmsg


def _install_asyncio_log() -> None:
    import logging
    import traceback

    class Reporter(logging.Filter):
        """A filter, not a handler: with a handler of its own, the logger would no longer fall back on
        `logging.lastResort`, which prints its warnings to stderr in a fresh Python."""

        def filter(self, record):
            if record.levelno >= logging.WARNING and not getattr(record, "snipcheck_reported", False):
                stack = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
                emit("asyncio", level=record.levelname, message=record.getMessage(), traceback=stack)
            return True

    logging.getLogger("asyncio").addFilter(Reporter())


class _Schedstat:
    """A thread's /proc/thread-self/schedstat, kept open (out of the snippet's way, see session.aside): a read is
    then one system call, not the three of an open file, for every callback. Closed when its thread ends."""

    def __init__(self):
        from .session import aside  # (session imports us)
        self.pid, self.fd = os.getpid(), aside(os.open("/proc/thread-self/schedstat", os.O_RDONLY | os.O_CLOEXEC))

    def __del__(self):
        if self.pid == os.getpid():  # (in a forked child, that number may be another file by now)
            try:
                os.close(self.fd)
            except OSError:
                pass


_schedstat = threading.local()


def forget_schedstat() -> None:
    """Close this thread's file: the warm interpreter's, before it forks (its cells close what they inherit)."""
    _schedstat.__dict__.pop("file", None)


def _run_queue_wait() -> float:
    """Seconds this thread has spent ready to run but waiting for a CPU (Linux schedstat), so that a busy
    machine running many snippets at once does not make a callback look slow."""
    try:
        own = getattr(_schedstat, "file", None)
        if own is None or own.pid != os.getpid():  # (a forked child's thread is another than its parent's)
            own = _schedstat.file = _Schedstat()
        return int(os.pread(own.fd, 128, 0).split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


loops = weakref.WeakKeyDictionary()  # every event loop made, with the snippet line that made it


def _caller():
    """The snippet's own frame that created the loop (the last one outside the standard library and ours)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if "/lib/python" not in name and not name.startswith(OURS) and not name.startswith("<frozen"):
            return name, frame.f_lineno
        frame = frame.f_back
    return "", None


def patch_asyncio() -> None:
    """Route asyncio's log to us, and time each callback ourselves against the threshold: wall time, which
    catches `time.sleep`, minus the time spent waiting for a CPU."""
    import asyncio.base_events as module
    import asyncio.events as events

    _install_asyncio_log()
    init, run = module.BaseEventLoop.__init__, events.Handle._run

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.slow_callback_duration = float("inf")  # asyncio's own check counts waiting for a CPU
        loops[self] = _caller()

    def _run(handle):
        start, waited = time.monotonic(), _run_queue_wait()
        try:
            return run(handle)
        finally:
            end = time.monotonic()
            took = end - start
            if took >= slow_callback:  # (only then does the time it waited for a CPU matter)
                took -= _run_queue_wait() - waited
            blocked = took >= slow_callback and handle._loop.get_debug()
            if blocked:  # reported to us whatever the snippet does with logging, and shown as asyncio shows it
                message = f"Executing {module._format_handle(handle)} took {took:.3f} seconds"
                emit("asyncio", level="WARNING", traceback="", message=message)
                module.logger.warning("%s", message, extra={"snipcheck_reported": True})
            if timeline.recording:
                timeline.step(handle, start, end, blocked)

    module.BaseEventLoop.__init__ = __init__
    events.Handle._run = _run
    timeline.install()


def report_unclosed_loops() -> None:
    """A loop kept in a global is never collected, so Python never warns about it; at exit, we do."""
    for loop, (filename, lineno) in list(loops.items()):
        if not loop.is_closed():
            emit("warning", category="ResourceWarning", message=f"unclosed event loop {loop!r}",
                 filename=filename, lineno=lineno)
