"""What the verifier takes from a snippet's diagnostics channel. The snippet's own process writes these reports
(warm/hooks.py, warm/session.py, warm/timeline.py), so the snippet could write there too: a line is taken only
in the shape our hooks give it, and only so many. A forged report of the right shape can fail its own snippet
or change its own figure, nothing more; how long a run may take is bounded apart (interpreter._Steps)."""

MAX_EVENTS = 10_000  # about what fills the 1 MB stderr cap with warnings, which are printed there too
MAX_BYTES = 16 * 1024 * 1024
_NONE = type(None)
SHAPES = {
    "step": {"index": int, "file": str, "event": str},
    "warning": {"category": str, "message": str, "filename": str, "lineno": (int, _NONE)},
    "asyncio": {"level": str, "message": str, "traceback": str},
    "example": {"index": int, "n": int, "got": str, "exception": (str, _NONE)},
    "timeline": {},  # checked in full where it is read (timeline.of)
}
STEPS = {"start": {}, "end": {}, "exit": {"status": int}, "error": {"error": str, "line": (int, _NONE)}}
_MISSING = object()


def trusted(event, steps: set[tuple[int, str]]) -> bool:
    """Whether `event` has the shape our hooks write; a step's must name a step of this run (`steps`: the
    request's, as (index, file): a block and its hidden setup share an index)."""
    if not isinstance(event, dict) or event.get("kind") not in SHAPES:
        return False
    shape = SHAPES[event["kind"]]
    if not all(isinstance(event.get(name, _MISSING), kind) for name, kind in shape.items()):
        return False
    if event["kind"] != "step":
        return True
    if event["event"] not in STEPS or (event["index"], event["file"]) not in steps:
        return False
    return all(isinstance(event.get(name, _MISSING), kind) for name, kind in STEPS[event["event"]].items())
