"""What the event loop did while a snippet ran, for the timeline under its example (issue 12): per task, when it
was created and finished, each stretch it ran, what it then waited on (read from where its coroutines are
suspended, and named as the snippet's awaiting line names it) and each stretch that blocked the loop, with the
line it was running (sampled by a bare thread of ours, which `threading` does not list).

It only looks: no frame of ours sits between the snippet and what it calls, no code of the snippet's is called
(no `__getattr__`, `__repr__` or `__str__`), nothing keeps a task alive, and a failure here is swallowed. The one
trace it leaves is that thread, in `sys._current_frames()` (and the snippet's process limit).
`step` is called after every callback the loop runs, `report` once at exit. `install` (idempotent, cheap) lets us
see tasks as they are made; without it they are seen at their first step, and a first step that blocks the loop
has no line."""

import _thread
import ast
import collections
import functools
import linecache
import os
import sys
import types
import weakref
from time import monotonic, sleep  # ours, as they are now: a snippet may replace time.sleep or time.monotonic

recording = False
LIMIT = 20000  # stretches recorded; past it only when tasks end (the report keeps at most SHOWN)
SHOWN = 2000  # stretches in the event: more than a figure can show, and the event stays small
MERGE = 0.001  # seconds: a task that yields and runs again this soon ran on (`await asyncio.sleep(0)` in a loop)
SAMPLE = 0.02  # seconds between looks at the line the loop's thread runs
OURS = os.path.dirname(os.path.abspath(__file__))
ASYNCIO = os.path.join(os.path.dirname(os.__file__), "asyncio") + os.sep
HIDDEN = tuple(ASYNCIO + name for name in ("base_events.py", "runners.py", "selector_events.py", "staggered.py"))
# What a task waits on, from the asyncio function it is suspended in: (module, function) first, then module.
KINDS = {("tasks", "sleep"): "sleep", ("locks", "wait"): "event", ("threads", "to_thread"): "pool",
         ("base_events", "run_in_executor"): "pool", ("base_events", "create_future"): "future",
         ("futures", "wrap_future"): "pool"}
MODULES = {"locks": "lock", "queues": "queue", "tasks": "task", "taskgroups": "task", "timeouts": "task",
           "streams": "io", "selector_events": "io", "base_events": "io", "subprocess": "io", "unix_events": "io",
           "sslproto": "io", "base_subprocess": "io"}
PRIMITIVES = ("Lock", "Semaphore", "BoundedSemaphore", "Condition")
STEPS = ("TaskStepMethWrapper", "builtin_function_or_method", "method")  # a task's step or wake-up, C or Python
PLAIN = (str, int, float, bool, type(None))

_tasks = weakref.WeakKeyDictionary()  # task -> its record (None: the loop's own); never keeps a task alive
_records, _callbacks = [], []
_samples = collections.deque(maxlen=256)  # (when, line) the loop's thread was running
_primitives = set()  # names the snippet gives its locks, semaphores and conditions (seen waited on)
_sources, _state = {}, {"installed": False, "sampling": False, "reported": False, "stretches": 0, "truncated": False}


class _Record:
    __slots__ = ("name", "coro", "args", "step", "file", "line", "created", "finished", "state", "error", "runs",
                 "waits", "blocked", "waiting", "at")

    def __init__(self, task, created: float):
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None) if type(coro) is types.CoroutineType else None
        self.name, self.coro, self.args = task.get_name(), code.co_qualname if code else "", _args(coro)
        self.step, (self.file, self.line) = _step(), _caller()
        self.created, self.finished, self.state, self.error = created, None, "pending", None
        self.runs, self.waits, self.blocked, self.waiting = [], [], [], None
        self.at = code.co_firstlineno if code else None  # the line it resumes from: for a blocked stretch


def install() -> None:
    """See tasks as they are made: asyncio's set of all tasks, where the C Task registers itself, gets our `add`
    (only looking, and only while `recording`)."""
    if _state["installed"]:
        return
    _state["installed"] = True
    import asyncio.tasks
    _state["Task"] = asyncio.Task

    class Tasks(type(asyncio.tasks._all_tasks)):
        def add(self, task):
            super().add(task)
            if recording:
                _created(task)

    asyncio.tasks._all_tasks.__class__ = Tasks


def _created(task) -> None:
    try:
        _sampling()
        if task not in _tasks:
            _tasks[task] = _new(task, monotonic())
    except Exception:
        pass


def _new(task, created: float):
    code = getattr(task.get_coro(), "cr_code", None)
    if code is not None and code.co_filename.startswith(HIDDEN):
        return None  # the loop's own (accepting a connection, shutting down), not the snippet's
    record = _Record(task, created)
    _records.append(record)
    return record


def _sampling() -> None:
    """Start noting which snippet line the loop's thread runs, once an event loop is in use: a bare thread with a
    small stack that takes no lock of the snippet's and dies with the process."""
    if _state["sampling"]:
        return
    _state["sampling"] = True
    size = _thread.stack_size(256 * 1024)
    try:
        _thread.start_new_thread(_sample, (_thread.get_ident(),))
    except RuntimeError:  # no thread to spare (the snippet's limit): no lines for blocked stretches
        pass
    finally:
        _thread.stack_size(size)  # the snippet's own threads get what they would have got


def _sample(thread: int) -> None:
    try:
        while recording and not _state["reported"]:
            sleep(SAMPLE)
            frame = sys._current_frames().get(thread)
            while frame is not None and not _theirs(frame.f_code.co_filename):
                frame = frame.f_back
            if frame is not None:
                _samples.append((monotonic(), frame.f_lineno))
            frame = None
    except BaseException:  # nothing of ours may be printed
        pass


def step(handle, start: float, end: float, blocked: bool) -> None:
    """A callback (`handle`) ran on the loop from `start` to `end` (time.monotonic); `blocked`: longer than allowed."""
    try:
        install()
        _sampling()
        callback = handle._callback
        task = callback.__self__ if type(callback).__name__ in STEPS else None
        if not isinstance(task, _state["Task"]):
            _callback(callback, start, end, blocked)
            return
        if task not in _tasks:
            _tasks[task] = _new(task, start)  # made before we could see it
        if _tasks[task] is not None:
            _ran(_tasks[task], task, start, end, blocked)
    except Exception:
        pass


def _ran(record: _Record, task, start: float, end: float, blocked: bool) -> None:
    if task.done():
        record.finished, exception = end, task._exception  # read, not retrieved: Python still reports it
        record.state = "cancelled" if task.cancelled() else "error" if exception is not None else "done"
        record.error = _error(exception) if exception is not None else None
    if _state["truncated"]:
        return
    record.name = task.get_name()  # `create_task(name=…)` names it after it is made
    waiting, record.waiting = record.waiting, None
    if waiting is not None and _room():
        record.waits.append({**waiting, "end": start})
    if record.runs and waiting is None and start - record.runs[-1][1] < MERGE:
        record.runs[-1][1] = end
    elif _room():
        record.runs.append([start, end])
    frames, tail = _frames(task.get_coro()) if not task.done() else ([], None)
    mine = [frame for frame in frames if _theirs(frame.f_code.co_filename)]
    now = mine[-1].f_lineno if mine else None
    if blocked and _room():
        record.blocked.append({"start": start, "end": end, "line": _running(start, end), "lines": [record.at, now]})
    record.at = now
    if not task.done() and task._fut_waiter is not None:
        record.waiting = _waiting(task._fut_waiter, frames, tail, mine, end)
        if record.waiting["file"] is None:  # no line of the snippet's: asyncio's own, as `to_thread` in a gather
            record.waiting["label"] = f"{record.coro}({record.args})"[:40]


def _room() -> bool:
    _state["stretches"] += 1
    _state["truncated"] |= _state["stretches"] > LIMIT
    return not _state["truncated"]


def _error(exception: BaseException) -> str:
    """`ValueError: boom`, without calling the snippet's code (its own `__str__`)."""
    kind = type(exception)
    if kind.__module__ == "builtins" and all(type(arg) in PLAIN for arg in exception.args):
        return f"{kind.__name__}: {exception}"[:120] if exception.args else kind.__name__
    return kind.__qualname__[:120]


def _frames(coro) -> tuple[list, object]:
    """The frames a task is suspended in, outermost first (its coroutine, the one that awaits, and so on), and
    what the innermost awaits when that is not a coroutine (a future, an async generator's step)."""
    frames = []
    while len(frames) < 64 and type(coro) in (types.CoroutineType, types.GeneratorType):
        frame = coro.cr_frame if type(coro) is types.CoroutineType else coro.gi_frame
        if frame is None:
            break
        frames.append(frame)
        coro = coro.cr_await if type(coro) is types.CoroutineType else coro.gi_yieldfrom
    return frames, coro


def _waiting(waiter, frames: list, tail, mine: list, since: float) -> dict:
    places = [(f.f_code.co_filename, f.f_code.co_name, f.f_lineno) for f in frames]
    on, where = _kind(places)
    label = None
    if on is None:  # the snippet awaited a future itself, or an async generator hides the rest of the chain
        if isinstance(waiter, _state["Task"]):
            on, label = "task", waiter.get_name()
        elif type(waiter).__name__ == "_GatheringFuture":
            on = "task"
        else:
            tb = getattr(waiter, "_source_traceback", None) or ()  # where it was made (asyncio debug mode)
            on, made = _kind([(f.filename, f.name, f.lineno) for f in tb])
            inside = type(tail).__name__.startswith("async_generator")  # the line awaiting is in the generator
            on, where = on or "future", (made or where) if inside else (where or made)
    file, line = where or (None, None)
    code, name = _code_at(file, line) if file else (None, None)
    if on in ("lock", "event") and name:
        _primitives.add(name)
    held = []
    for frame in mine:
        for text in _inside(frame.f_code.co_filename, frame.f_lineno):
            if not (on == "event" and text == name):  # Condition.wait releases the lock it is called under
                held.append(text)
                if type(frame.f_globals.get(text)).__name__ in PRIMITIVES:
                    _primitives.add(text)
    return {"start": since, "on": on, "label": (label or code or (places[-1][1] if places else on))[:40],
            "file": os.path.basename(file) if file else None, "line": line, "held": held}


def _kind(places: list) -> tuple[str | None, tuple | None]:
    """What the innermost snippet line waits on: the asyncio function it is suspended in (None: no asyncio
    frame below it), and that line (file, line)."""
    mine = [i for i, (file, _, _) in enumerate(places) if _theirs(file)]
    below = places[mine[-1] + 1:] if mine else places
    where = places[mine[-1]][::2] if mine else None
    for file, function, _ in below:
        if file.startswith(ASYNCIO):
            module = os.path.basename(file)[:-3]
            return KINDS.get((module, function)) or MODULES.get(module, "other"), where
    return None, where


def _theirs(filename: str) -> bool:
    """The snippet's code (or code it wrote), not the standard library, installed packages, or ours."""
    return not filename.startswith(("<", OURS)) and "/lib/python" not in filename


def _step() -> str | None:
    """The block running now (`01.py`; a session runs earlier blocks first): `__file__` of `__main__`."""
    main = sys.modules.get("__main__")
    path = main.__dict__.get("__file__") if type(main) is types.ModuleType else None
    return os.path.basename(path) if type(path) is str else None


def _caller() -> tuple[str | None, int | None]:
    """The snippet's line running now (that made a task)."""
    frame = sys._getframe(1)
    while frame is not None and not _theirs(frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame else (None, None)


def _running(start: float, end: float) -> int | None:
    """The snippet line seen running most often during a stretch (one that blocked the loop)."""
    seen = collections.Counter(line for when, line in list(_samples) if start <= when <= end)
    return seen.most_common(1)[0][0] if seen else None


def _args(coro) -> str:
    """A coroutine's first arguments as the call gave them, when they are plain values ('Task 0', 3) or
    functions: what tells apart tasks of one function. Read from what the unstarted coroutine holds (the
    garbage collector's view), not from its frame's locals, which would keep a snapshot alive."""
    import gc
    if type(coro) is not types.CoroutineType or coro.cr_running or coro.cr_suspended or coro.cr_frame is None:
        return ""  # started: its arguments may have changed
    code, held = coro.cr_code, gc.get_referents(coro)
    values = held[held.index(code, 1) + 1:] if held.count(code) == 2 else []  # after the frame's own code
    shown = []
    for value in values[:min(code.co_argcount, 3)]:
        value = value.cell_contents if type(value).__name__ == "cell" else value
        named = type(value) in (types.FunctionType, types.BuiltinFunctionType)
        shown.append(repr(value)[:16] if type(value) in PLAIN else value.__qualname__[:24] if named else "…")
    return ", ".join(shown) if any(text != "…" for text in shown) else ""


def _callback(callback, start: float, end: float, blocked: bool) -> None:
    """A callback that is not a task's: shown when the snippet wrote it, or when it blocked the loop."""
    if type(callback) is functools.partial:
        callback = callback.func
    if type(callback) is types.MethodType:
        callback = callback.__func__
    code = callback.__code__ if type(callback) is types.FunctionType else None
    if (blocked or (code is not None and _theirs(code.co_filename))) and _room():
        named = type(callback) is types.BuiltinFunctionType  # time.sleep itself
        label = code.co_qualname if code else callback.__qualname__ if named else type(callback).__name__
        _callbacks.append({"start": start, "end": end, "label": label[:40], "blocked": blocked, "step": _step(),
                           "line": _running(start, end) if blocked else code.co_firstlineno})


def _code_at(filename: str, line: int) -> tuple[str | None, str | None]:
    """What the snippet's line awaits, as its code says it (`sleep(1)`, `queue.get()`, `lock` for `async with
    lock:`), and the object it is called on (`queue`, `lock`), if any."""
    return _index(filename)[0].get(line, (None, None))


def _inside(filename: str, line: int) -> list[str]:
    """The objects of the `async with` blocks whose body holds the line (`lock` in `async with lock:`)."""
    return [text for first, last, text in _index(filename)[1] if first <= line <= last]


def _index(filename: str) -> tuple[dict, list]:
    """A file's awaiting lines ({line: (code, object)}) and `async with` bodies ([(first, last, object)])."""
    if filename not in _sources:
        awaits, blocks = {}, []
        try:
            tree = ast.parse("".join(linecache.getlines(filename)))
        except (SyntaxError, ValueError):
            tree = ast.Module([], [])
        for node in ast.walk(tree):
            if isinstance(node, (ast.Await, ast.AsyncWith, ast.AsyncFor)):
                target = node.value if isinstance(node, ast.Await) else \
                    node.iter if isinstance(node, ast.AsyncFor) else node.items[0].context_expr
                last = node.end_lineno if isinstance(node, ast.Await) else node.body[0].lineno - 1
                for line in range(node.lineno, max(last, node.lineno) + 1):
                    if line not in awaits or isinstance(node, ast.Await):  # the innermost await of a line wins
                        awaits[line] = _describe(target)
            if isinstance(node, ast.AsyncWith):
                body = (node.body[0].lineno, max(n.end_lineno for n in node.body))
                blocks += [(*body, ast.unparse(item.context_expr)) for item in node.items
                           if not isinstance(item.context_expr, ast.Call)]
        _sources[filename] = awaits, blocks
    return _sources[filename]


def _describe(node) -> tuple[str, str | None]:
    """`asyncio.sleep(1)` -> ("sleep(1)", None); `self.queue.get()` -> ("self.queue.get()", "self.queue")."""
    if not isinstance(node, ast.Call):
        return ast.unparse(node), ast.unparse(node)
    args = ""
    for arg in [*node.args, *node.keywords]:  # as many whole arguments as are short enough
        text = ast.unparse(arg)
        if len(args) + len(text) > 20:
            args += ", …" if args else "…"
            break
        args += f", {text}" if args else text
    func = node.func
    if isinstance(func, ast.Attribute):
        owner = func.value
        if isinstance(owner, ast.Call) or (isinstance(owner, ast.Name) and owner.id in ("asyncio", "loop")):
            return f"{func.attr}({args})", None
        return f"{ast.unparse(owner)}.{func.attr}({args})", ast.unparse(owner)
    return f"{ast.unparse(func)}({args})", None


def report() -> None:
    """Emit what was recorded, as one `timeline` event on the diagnostics channel (none if no loop ran)."""
    _state["reported"] = True  # and the sampling thread stops
    try:
        data = _data()
        if data is not None:
            from . import hooks
            hooks.emit("timeline", **data)
    except Exception:
        pass


def _data() -> dict | None:
    if not _records and not _callbacks:
        return None
    origin = min([r.created for r in _records] + [c["start"] for c in _callbacks])
    last = max([origin] + [c["end"] for c in _callbacks] + [t for r in _records for t in
               ([r.finished] if r.finished is not None else []) + [s[1] for s in r.runs[-1:]]])
    waits = {}
    for r in _records:
        waits[r] = r.waits + ([{**r.waiting, "end": last, "open": True}] if r.waiting and r.finished is None else [])
        for wait in waits[r]:
            wait["held"] = [text for text in wait["held"] if text in _primitives]
    gap = 0.0  # joined only when there are too many: first finer than any figure shows, then coarser
    while True:
        kept = {r: _joined(r.runs, waits[r], gap) for r in _records}
        if sum(len(a) + len(b) for a, b in kept.values()) <= SHOWN or gap > (last - origin) / 20:
            break
        gap = gap * 4 or (last - origin) / 1000

    def at(value):
        return round(value - origin, 4) if value is not None else None

    share = SHOWN // max(len(_records), 1)
    tasks = [{"name": r.name, "coro": r.coro, "args": r.args, "custom": not _default(r.name),
              "step": r.step, "file": os.path.basename(r.file) if r.file else None, "line": r.line,
              "created": at(r.created),
              "finished": at(r.finished), "state": r.state, "error": r.error,
              "runs": [[at(a), at(b)] for a, b in kept[r][0][:share]],
              "waits": [{**w, "start": at(w["start"]), "end": at(w["end"]), **_waited(w)} for w in kept[r][1][:share]],
              "blocked": [{**b, "start": at(b["start"]), "end": at(b["end"])} for b in r.blocked[:share]]}
             for r in _records]
    shown = sum(len(t["runs"]) + len(t["waits"]) for t in tasks)
    return {"version": 1, "end": at(last), "tasks": tasks,
            "callbacks": [{**c, "start": at(c["start"]), "end": at(c["end"])} for c in _callbacks[:SHOWN]],
            "truncated": _state["truncated"] or shown < sum(len(a) + len(b) for a, b in kept.values())}


def _joined(runs: list, waits: list, gap: float) -> tuple[list, list]:
    """A task's stretches, those closer than `gap` joined: runs with no wait between into one, the same wait
    again into one that counts them (the short runs between stay, drawn over it)."""
    joined_runs, joined_waits, last = [], [], None
    for item in sorted(runs + waits, key=lambda item: item[0] if isinstance(item, list) else item["start"]):
        if isinstance(item, list):
            if last is joined_runs and item[0] - joined_runs[-1][1] < gap:
                joined_runs[-1] = [joined_runs[-1][0], item[1]]
            else:
                joined_runs.append(list(item))
            last = joined_runs
            continue
        previous = joined_waits[-1] if joined_waits else None
        if previous and item["start"] - previous["end"] < gap and \
                all(previous[key] == item[key] for key in ("on", "label", "line", "held")):
            waited = previous.get("waited", previous["end"] - previous["start"])
            previous["waited"] = waited + item["end"] - item["start"]
            previous["count"] = previous.get("count", 1) + 1
            previous["end"] = item["end"]
        else:
            joined_waits.append(dict(item))
        last = joined_waits
    return joined_runs, joined_waits


def _waited(wait: dict) -> dict:
    return {"waited": round(wait["waited"], 4)} if "waited" in wait else {}


def _default(name: str) -> bool:
    return name.startswith("Task-") and name[5:].isdigit()
