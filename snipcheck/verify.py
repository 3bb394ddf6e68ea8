"""Verify one block by what it is (plan.Job.kind): Python blocks run in the warm interpreter, shell is
syntax-checked, data is parsed; pasted output and text are shown, not verified, and say why."""

from .checkers import data, python, shell
from .plan import PYTHON, Job
from .result import FAILED, SKIPPED, UNVERIFIED, Result

NOT_CHECKED = {"output": "output, shown, not verified", "empty": "an empty block: nothing to verify"}


def _post_lines(job: Job, result: Result) -> Result:
    """Checkers count lines within the block; reports count them in the post."""
    if result.status == FAILED:
        result.line = job.snippet.line + (result.line or 1) - 1
    return result


async def verify(job: Job, run_python) -> Result:
    """The block's result. `run_python(job)` runs a Python job in its warm interpreter (see runner.py)."""
    snippet = job.snippet
    if snippet.directives.skip:
        return Result(SKIPPED, "", f"skipped: {snippet.directives.skip}")
    if job.kind in PYTHON:
        stopped = python.before_running(job, job.settings.strict)
        if stopped:
            return stopped
        judge = python.judge_program if job.kind == "python" else python.judge_session
        for _ in range(2):
            done = await run_python(job)
            checker = f"Python {done.python}"
            result = judge(job, done, checker if job.kind == "python" else f"{checker} ({job.kind} session)")
            # A blocked loop is a time measured on the wall: a machine busy starting everything else can make a
            # callback look slow. It fails the block only if it happens again.
            if not (result.status == FAILED and result.reason.startswith("blocked the event loop")):
                break
        return result
    if job.kind in ("shell", "console"):
        return _post_lines(job, await shell.check(job))
    if job.kind in data.PARSERS:
        return _post_lines(job, data.check(job))
    if job.kind in NOT_CHECKED:
        return Result(UNVERIFIED, "", NOT_CHECKED[job.kind] + (f" ({job.note})" if job.note else ""))
    return Result(UNVERIFIED, "", f"no checker for {snippet.lang or 'plain text'}")
