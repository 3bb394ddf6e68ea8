"""Runs one snippet's steps in this (forked) process and one `__main__` namespace, with the meaning of
`python NN.py`: `__name__ == "__main__"`, its own `sys.argv`, tracebacks and exit statuses as Python gives them.
Earlier blocks it needs run first, silently; hidden setup runs right before its block; `>>>` and IPython
sessions run example by example, as a REPL would, each reported on the diagnostics channel."""

import ast
import atexit
import builtins
import fcntl
import gc
import io
import linecache
import os
import sys
import traceback
import types
from importlib.machinery import SourceFileLoader

from . import hooks, timeline

TOP_LEVEL_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
CO_COROUTINE = 0x80
FUTURE_FLAGS = 0x3fe0000  # every __future__ compiler flag (codeop uses the same mask)
OURS = os.path.dirname(os.path.abspath(__file__))


class Session:
    def __init__(self, home: str):
        self.home, self.flags, self.loop = home, 0, None
        self.main = types.ModuleType("__main__")
        self.main.__builtins__, self.main.__annotations__ = builtins, {}
        sys.modules["__main__"] = self.main
        sys.path[0] = home  # as for `python NN.py`: the script's folder first

    @property
    def namespace(self) -> dict:
        return self.main.__dict__

    def _compile(self, source, filename: str, mode: str = "exec"):
        """Compile text or a syntax tree with the session's `__future__` flags, allowing top-level await."""
        code = compile(source, filename, mode, self.flags | TOP_LEVEL_AWAIT, dont_inherit=True)
        self.flags |= code.co_flags & FUTURE_FLAGS  # `from __future__` carries over to later blocks
        return code

    def _execute(self, code) -> None:
        if code.co_flags & CO_COROUTINE:  # top-level await: on one loop for the session, as `python -m asyncio`
            self._loop().run_until_complete(eval(code, self.namespace))
        else:
            exec(code, self.namespace)

    def _loop(self):
        import asyncio
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        return self.loop

    def enter(self, step: dict) -> str:
        """Make the namespace look like `python NN.py` for this step; the step's file name."""
        path = os.path.join(self.home, step["file"])
        linecache.cache[path] = (len(step["code"]), None, step["code"].splitlines(True), path)  # tracebacks show it
        self.namespace.update(__file__=path, __cached__=None, __spec__=None,
                              __loader__=SourceFileLoader("__main__", path))
        sys.argv[:] = [step["file"]]
        return path

    def program(self, step: dict) -> None:
        """A block as a program: raises what it raises."""
        path = self.enter(step)
        self._execute(self._compile(step["code"], path))

    def examples(self, step: dict, report: bool) -> None:
        """A session (`>>>` or IPython cells): each example as a REPL runs it, its output and exception captured
        and reported; a failing example does not stop the next, as in doctest."""
        path = self.enter(step)
        for number, example in enumerate(step["examples"]):
            got, error = self._example(example, path)
            if report:
                hooks.emit("example", index=step["index"], n=number, got=got, exception=error)

    def _example(self, example: dict, path: str) -> tuple[str, str | None]:
        captured, saved = io.StringIO(), sys.stdout
        sys.stdout, error = captured, None
        try:
            tree = compile(example["source"], path, "exec", ast.PyCF_ONLY_AST | self.flags | TOP_LEVEL_AWAIT,
                           dont_inherit=True)
            ast.increment_lineno(tree, example["line"] - 1)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            if tree.body:
                self._execute(self._compile(tree, path))
            if last is not None and example.get("kind", "code") == "code":  # the value is shown, as in a REPL
                self._execute(self._compile(ast.Interactive([last]), path, "single"))
            elif last is not None:
                self._execute(self._compile(ast.Module([last], []), path))
        except BaseException as err:  # as doctest: SystemExit and KeyboardInterrupt are the example's result
            error = "".join(traceback.format_exception_only(type(err), err)).strip()
        finally:
            sys.stdout = saved
        return captured.getvalue(), error

    def finish(self, status: int, interrupted: bool = False):
        """Exit as the interpreter does: wait for threads, run atexit, close the session's loop, then let go of
        every object, so that what was never closed warns now (ResourceWarning), as at a real exit."""
        try:
            import threading
            threading._shutdown()
            atexit._run_exitfuncs()
            if self.loop is not None and not self.loop.is_closed():
                _close(self.loop)
            hooks.report_unclosed_loops()
            if timeline.recording:
                timeline.report()
            self.namespace.clear()
            gc.collect()
        except BaseException:
            pass
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        if interrupted:  # as Python does after an uncaught KeyboardInterrupt: die of SIGINT
            import signal
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(status)


def _close(loop) -> None:
    """What `asyncio.run` does at the end: cancel what is left, then close."""
    import asyncio
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def exit_status(err: SystemExit) -> int:
    """What the interpreter exits with for an uncaught SystemExit (and it prints a message argument)."""
    code = err.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def print_uncaught(err: BaseException) -> None:
    """The traceback `python NN.py` prints, without our own frames on top."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(OURS):
        tb = tb.tb_next
    sys.excepthook(type(err), err.with_traceback(tb), tb)


def aside(fd: int) -> int:
    """`fd` moved out of the snippet's way, high under its open-file limit (1024): its own first file is then 3,
    as in a fresh Python. Left where it is if the limit is lower (then nothing is above it to move to)."""
    try:
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 1000)
    except OSError:
        return fd
    os.close(fd)
    return moved


def run(steps: list[dict], home: str) -> None:
    """Run the steps, then exit with the status `python NN.py` would. Steps before the snippet's own block
    (`own`) run with their output discarded; if one fails or ends the process, the snippet does not run."""
    session = Session(home)
    quiet = aside(os.open(os.devnull, os.O_WRONLY))
    loud = aside(os.dup(1)), aside(os.dup(2))
    for step in steps:
        own = step.get("own", False)
        for fd, target in zip((1, 2), loud if own else (quiet, quiet)):
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(target, fd)
        hooks.emit("step", index=step["index"], file=step["file"], event="start")
        try:
            if step["kind"] == "examples":
                session.examples(step, report=own)
            else:
                session.program(step)
        except SystemExit as err:
            status = exit_status(err)
            hooks.emit("step", index=step["index"], file=step["file"], event="exit", status=status)
            session.finish(status)
        except BaseException as err:
            if own:
                print_uncaught(err)
            error = "".join(traceback.format_exception_only(type(err), err)).strip()
            where = traceback.extract_tb(err.__traceback__)
            line = next((f.lineno for f in reversed(where) if f.filename.endswith(step["file"])), None)
            hooks.emit("step", index=step["index"], file=step["file"], event="error", error=error, line=line)
            session.finish(1, interrupted=own and isinstance(err, KeyboardInterrupt))
        hooks.emit("step", index=step["index"], file=step["file"], event="end")
    session.finish(0)
