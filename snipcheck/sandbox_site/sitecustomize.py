"""Loaded at start-up by every snippet's Python (PYTHONPATH points here). It reports the warnings and
asyncio errors that reveal a broken example — never-awaited coroutines, lost task exceptions, a blocked
event loop, unclosed resources — as marked lines on stderr, so that a snippet's own stderr output can
never be mistaken for them."""

import json
import os
import sys
import warnings

MARK = "\x1esnipcheck-diagnostic "


def _emit(kind, **fields):
    sys.stderr.write(MARK + json.dumps({"kind": kind, **fields}) + "\n")
    sys.stderr.flush()


def _showwarning(message, category, filename, lineno, file=None, line=None):
    _emit("warning", category=category.__name__, message=str(message), filename=filename, lineno=lineno)


warnings.showwarning = _showwarning


class _AsyncioHandler:
    """A logging handler, built lazily: importing logging costs start-up time for every snippet."""

    @staticmethod
    def install():
        import logging
        import traceback

        class Handler(logging.Handler):
            def emit(self, record):
                stack = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
                _emit("asyncio", level=record.levelname, message=record.getMessage(), traceback=stack)

        logging.getLogger("asyncio").addHandler(Handler(logging.WARNING))


def _run_queue_wait() -> float:
    """Seconds this thread has spent ready to run but waiting for a CPU (Linux schedstat), so that a busy
    machine running many snippets at once does not make a callback look slow."""
    try:
        with open("/proc/thread-self/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class _PatchAsyncio:
    """When asyncio loads: route its log to us, and time each callback ourselves against the threshold —
    wall time, which catches `time.sleep`, minus the time spent waiting for a CPU."""

    def find_spec(self, name, path=None, target=None):
        if name != "asyncio.base_events":
            return None
        sys.meta_path.remove(self)
        import importlib.util
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module

        def patched(module):
            exec_module(module)
            _AsyncioHandler.install()
            threshold = float(os.environ.get("SNIPCHECK_SLOW_CALLBACK", "0.1"))
            init, run = module.BaseEventLoop.__init__, module.events.Handle._run
            import time

            def __init__(self, *args, **kwargs):
                init(self, *args, **kwargs)
                self.slow_callback_duration = float("inf")  # asyncio's own check counts waiting for a CPU
                _loops[self] = _caller()

            def _run(handle):
                start, waited = time.monotonic(), _run_queue_wait()
                try:
                    return run(handle)
                finally:
                    took = time.monotonic() - start - (_run_queue_wait() - waited)
                    if took >= threshold and handle._loop.get_debug():
                        _emit("asyncio", level="WARNING", traceback="",
                              message=f"Executing {module._format_handle(handle)} took {took:.3f} seconds")

            module.BaseEventLoop.__init__ = __init__
            module.events.Handle._run = _run

        spec.loader.exec_module = patched
        return spec


def _caller():
    """The snippet's own frame that created the loop (the last one outside the standard library)."""
    frame, found = sys._getframe(2), None
    while frame is not None:
        if "/lib/python" not in frame.f_code.co_filename and found is None:
            found = (frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return found or ("", None)


def _unclosed_loops():
    """A loop kept in a global is never collected, so Python never warns about it; at exit, we do."""
    for loop, (filename, lineno) in list(_loops.items()):
        if not loop.is_closed():
            _emit("warning", category="ResourceWarning", message=f"unclosed event loop {loop!r}",
                  filename=filename, lineno=lineno)


import atexit  # noqa: E402
import weakref  # noqa: E402

_loops = weakref.WeakKeyDictionary()
atexit.register(_unclosed_loops)
sys.meta_path.insert(0, _PatchAsyncio())
