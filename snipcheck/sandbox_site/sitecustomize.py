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


class _PatchAsyncio:
    """When asyncio loads: route its log to us, and apply the configured slow-callback threshold."""

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
            init = module.BaseEventLoop.__init__

            def __init__(self, *args, **kwargs):
                init(self, *args, **kwargs)
                self.slow_callback_duration = threshold

            module.BaseEventLoop.__init__ = __init__

        spec.loader.exec_module = patched
        return spec


sys.meta_path.insert(0, _PatchAsyncio())
