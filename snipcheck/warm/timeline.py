"""What the event loop did while a snippet ran, recorded for the timeline under its example (issue 12).
Stub: `step` is called after every callback the loop runs, `report` once at exit."""

recording = False


def step(handle, start: float, end: float, blocked: bool) -> None:
    """A callback (`handle`) ran on the loop from `start` to `end` (time.monotonic); `blocked`: longer than allowed."""


def report() -> None:
    """Emit what was recorded, as one `timeline` event on the diagnostics channel."""
