"""Python blocks — programs, `>>>` sessions and IPython cells — run in the warm interpreter: the blocks they need
first, then their hidden setup, then themselves. What the run reports (exit status, traceback, diagnostics, each
example's output) becomes the block's result, said in the post's terms."""

import builtins
import difflib
import doctest
import re

from .. import diagnostics, timeline, transcripts
from ..imports import stdlib_typo
from ..plan import Job
from ..result import FAILED, SKIPPED, UNVERIFIED, VERIFIED, Result
from . import reasons  # (which uses Outcome: imported before it is read)

def file_of(index: int, setup: bool = False) -> str:
    return f"{index:02d}.setup.py" if setup else f"{index:02d}.py"


def request(job: Job) -> tuple[dict, dict[int, float]]:
    """The steps the warm interpreter runs for this job, and each block's seconds."""
    steps, timeouts = [], {}
    for snippet in job.chain:
        own = snippet is job.snippet
        if snippet.directives.setup:
            steps.append({"index": snippet.index, "file": file_of(snippet.index, True), "kind": "program",
                          "code": snippet.directives.setup})
        kind = job.kinds.get(snippet.index, "python")
        step = {"index": snippet.index, "file": file_of(snippet.index), "own": own,
                "kind": "examples" if kind in ("pycon", "ipython") else "program", "code": snippet.code}
        if step["kind"] == "examples":
            examples = job.examples if own else \
                transcripts.pycon(snippet.code) if kind == "pycon" else transcripts.ipython(snippet.code)
            step["examples"] = [{"source": e.source, "line": e.line, "kind": e.kind} for e in examples
                                if e.kind != "magic"]
        steps.append(step)
        timeouts[snippet.index] = job.settings.timeout_for(snippet.directives.timeout)
    s = job.settings
    return {"steps": steps, "network": job.network, "disk_mb": s.disk, "files": s.files,
            "slow_callback": s.slow_callback, "timeline": s.timeline and not job.snippet.directives.no_timeline,
            "limits": {"memory_mb": s.memory, "processes": s.processes, "file_mb": s.disk}}, timeouts


class Outcome:
    """A run, read in the post's terms."""

    def __init__(self, job: Job, done, checker: str):
        self.job, self.done = job, done
        self.result = Result(VERIFIED, checker, stdout=done.stdout, stderr=done.stderr, jailed=done.jailed,
                             timeline=timeline.of(done.events, file_of(job.snippet.index) if job.after else None))
        self.events = done.events
        self.lines = {file_of(s.index): s for s in job.chain}
        self.lines.update({file_of(s.index, True): s for s in job.chain if s.directives.setup})

    def post_line(self, file: str | None, line: int | None) -> int:
        """A snippet file's line in the post; hidden setup is not on the page, so it points at its block."""
        snippet = self.lines.get(file or "")
        if snippet is None:
            return self.job.snippet.line
        if file.endswith(".setup.py") or not line:
            return snippet.line
        return snippet.line + line - 1

    def fail(self, reason: str, file: str | None = None, line: int | None = None, status: str = FAILED) -> Result:
        self.result.status, self.result.line = status, self.post_line(file, line)
        s = self.job.snippet
        if s.numbered and s.line <= self.result.line <= s.end_line:
            reason += f" (line {self.result.line - s.line + 1} as numbered on the page)"
        self.result.reason = reason
        return self.result


def before_running(job: Job, strict: bool) -> Result | None:
    """What stops a block before it runs: a block it needs is skipped, or a package nobody declared."""
    for snippet in job.after:
        if snippet.directives.skip:
            return Result(SKIPPED, "", f"needs block {snippet.index:02d} (line {snippet.line}), which is skipped: "
                                       f"{snippet.directives.skip}", dependency=snippet.index)
    if job.blocked:
        return Result(FAILED if strict else UNVERIFIED, "", job.blocked)
    if job.missing:
        packages = ", ".join(m.distribution for m in job.missing)
        return Result(FAILED if strict else UNVERIFIED, "", f"needs package {packages}, which is not declared "
                      "(declare it in _config.yml `snippets: requirements:` or in the post's `requirements:`)",
                      packages=[m.distribution for m in job.missing])
    return None


def _stopped_early(outcome: Outcome) -> Result | None:
    """An earlier block or the hidden setup failed or ended the process, so this block did not run (fully)."""
    job = outcome.job
    for event in outcome.events:
        if event.get("kind") != "step" or event.get("event") not in ("error", "exit"):
            continue
        file, own_file = event["file"], file_of(job.snippet.index)
        if file == own_file:
            return None
        # (A SyntaxError's text begins with the jail's file and line, which mean nothing in the post.)
        what = f"exit status {event.get('status')}" if event["event"] == "exit" else \
            diagnostics.exception_line(event.get("error", ""))
        if file.endswith(".setup.py"):
            ended = "ended the process" if event["event"] == "exit" else "failed"
            whose = "" if event["index"] == job.snippet.index else f" of block {event['index']:02d}"
            return outcome.fail(f"the hidden setup{whose} {ended} ({what}) before the block ran", file)
        snippet = outcome.lines[file]
        outcome.result.dependency = snippet.index
        ended = "ended the process" if event["event"] == "exit" else "failed"
        return outcome.fail(f"needs block {snippet.index:02d} (line {snippet.line}), which {ended}: {what}",
                            file, event.get("line"))
    return None


def _limits(outcome: Outcome, error: str) -> Result | None:
    done, s = outcome.done, outcome.job.settings
    text = done.stderr
    if done.processes >= s.processes - 1 or (done.returncode and re.search(
            r"Resource temporarily unavailable|can't start new thread", text)):  # (threads count too)
        stopped = "its processes reached it and were stopped" if done.returncode == -9 else ""
        return outcome.fail(f"process limit ({s.processes} processes and threads): "
                            f"{error or stopped or f'exit status {done.returncode}'}; start fewer processes or "
                            "threads, or allow more (`snippets: {processes: N}` in _config.yml)")
    if done.disk_full or re.search(r"No space left on device|File too large|\[Errno 27\]", text):
        return outcome.fail(f"disk limit ({s.disk} MB, {s.files} files and folders): "
                            f"{error or 'the snippet filled its files'}; write less data, or fewer files, or allow "
                            "more (`snippets: {disk: MB}` in _config.yml)")
    if done.files_full:
        return outcome.fail(f"open-file limit ({done.files_full} files open at once in all its processes): they "
                            "were stopped; close the files and sockets you no longer need")
    if done.memory_full:
        return outcome.fail(f"memory limit ({s.memory} MB): its processes together used more, and were stopped; "
                            "make the example use less memory, or allow more (`snippets: {memory: MB}` in "
                            "_config.yml)")
    if done.returncode and (done.returncode == -9 or diagnostics.OUT_OF_MEMORY.search(text)):
        return outcome.fail(f"memory limit ({s.memory} MB): {error or f'exit status {done.returncode}'}; "
                            "make the example use less memory", *diagnostics.last_frame(text))
    return None


def _is_a(raised: str, expected: str) -> bool:
    """`raised` is `expected` or, for built-in exceptions, a subclass of it (ConnectionRefusedError is an OSError)."""
    raised, expected = raised.rsplit(".", 1)[-1], expected.rsplit(".", 1)[-1]
    kinds = [getattr(builtins, name, None) for name in (raised, expected)]
    if all(isinstance(k, type) and issubclass(k, BaseException) for k in kinds):
        return issubclass(kinds[0], kinds[1])
    return raised == expected


def judge_program(job: Job, done, checker: str) -> Result:
    outcome, d = Outcome(job, done, checker), job.snippet.directives
    strict = job.settings.strict
    if done.timed_out:
        return outcome.fail(_timed_out(job, done))
    early = _stopped_early(outcome)
    if early:
        return early
    stderr, code = done.stderr, done.returncode
    error = diagnostics.exception_line(stderr) if code else ""
    file, line = diagnostics.last_frame(stderr) if code else (None, None)
    if d.expect_exception:
        if not (code and _is_a(error.split(":")[0], d.expect_exception)):
            got = f"it raised {error}" if code else "it ran without raising"
            return outcome.fail(f"expected {d.expect_exception}, but {got}", file, line)
    elif d.expect_exit is not None:
        if code != d.expect_exit:
            return outcome.fail(f"expected exit status {d.expect_exit}, got {_status(code)}", file, line)
    else:
        stopped = _limits(outcome, error)
        if stopped:
            return stopped
        if code:
            wanted = reasons.needs(outcome, error, strict) or \
                reasons.not_runnable(outcome, error, job.snippet.code, line if file == file_of(job.snippet.index) else None,
                              strict)
            if wanted:
                return wanted
            said = reasons.said_in_the_text(job, error)
            if said and "Traceback" in stderr:
                outcome.result.note = f"raises {said}, as the post says"
                return _diagnosed(outcome) or outcome.result
            traceback = "Traceback" in stderr or error.startswith("SyntaxError") or "Error" in error.split(":")[0]
            reason = error if traceback and error else f"{_status(code)} (last stderr line: {error})" if error \
                else _status(code)
            typo = re.match(r"ModuleNotFoundError: No module named '(\w+)", error)
            if typo and (near := stdlib_typo(typo.group(1))):
                reason += f" (a typo of the standard library's `{near}`?)"
            return outcome.fail(reason, file, line)
    return _diagnosed(outcome) or outcome.result


def _timed_out(job: Job, done) -> str:
    at = done.timed_out_step
    if at in (None, job.snippet.index):
        asked = job.snippet.directives.timeout
        if asked and asked > job.timeout:  # cut short by the command line
            return (f"timed out after {job.timeout:g} s (--timeout {job.timeout:g}: its own `timeout {asked:g}` "
                    "asks more)")
        return f"timed out after {job.timeout:g} s"
    return f"timed out in block {at:02d}, which this block needs and runs first"


def _status(code: int | None) -> str:
    if code is not None and code < 0:
        import signal
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _diagnosed(outcome: Outcome) -> Result | None:
    """What the run was fine with but the example is not: asyncio pitfalls, unclosed resources, cut output,
    and a coroutine function that no block ever runs."""
    job = outcome.job
    found = [e for e in outcome.events if e.get("kind") in ("warning", "asyncio")]
    problems = diagnostics.problems(found, job.settings.slow_callback)
    if problems:
        problem = problems[0]
        if problem.reason.startswith("blocked the event loop") and (line := _blocked_line(outcome)):
            problem.file, problem.line = file_of(job.snippet.index), line  # the blocking line, not the def
        return outcome.fail(problem.reason, problem.file, problem.line)
    if outcome.done.truncated:
        return outcome.fail("output truncated: a snippet may print at most 1 MB to stdout and to stderr, and give at "
                            "most 10,000 warnings and other diagnostics")
    if job.unrun and not job.snippet.directives.definitions:
        name, line = job.unrun[0]
        return outcome.fail(f"coroutine function {name}() is never run by any block of this post (a missing "
                            f"`asyncio.run({name}())`?); if that is intended, put `<!-- snippet: definitions -->` "
                            "before the block", file_of(job.snippet.index), line)
    return None


def _blocked_line(outcome: Outcome) -> int | None:
    """The line of this block that held the loop, as the timeline saw it (it samples what the loop runs; for a
    block that runs after others, its timeline is this block's alone)."""
    for task in (outcome.result.timeline or {}).get("tasks", []):
        for stretch in task.get("blocked", []):
            if stretch.get("line"):
                return stretch["line"]
    return None


def judge_session(job: Job, done, checker: str) -> Result:
    """A `>>>` or IPython session: each example's output compared with what the page shows, as doctest does."""
    outcome = Outcome(job, done, checker)
    if done.timed_out:
        return outcome.fail(_timed_out(job, done))
    early = _stopped_early(outcome)
    if early:
        return early
    runnable = [e for e in job.examples if e.kind != "magic"]
    reports = {e["n"]: e for e in outcome.events if e.get("kind") == "example"}
    checker_, failures = doctest.OutputChecker(), []
    for number, example in enumerate(runnable):
        report = reports.get(number)
        if report is None:
            return outcome.fail(f"the session stopped before the example on block line {example.line} "
                                f"({_status(done.returncode)})", file_of(job.snippet.index), example.line)
        if example.kind == "timeit":
            continue
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE * (job.kind == "ipython")
        for option, on in example.options.items():
            flags = flags | option if on else flags & ~option
        got, raised = report["got"], report.get("exception")
        if raised is None:
            ok, want, shown = checker_.check_output(example.want, got, flags), example.want, got
        elif example.exc_msg is not None:
            got_msg = raised.splitlines()[-1] + "\n"
            ok = checker_.check_output(example.exc_msg, got_msg, flags) or (
                flags & doctest.IGNORE_EXCEPTION_DETAIL and got_msg.split(":")[0] == example.exc_msg.split(":")[0])
            want, shown = example.exc_msg, got_msg
        else:
            ok, want, shown = False, example.want, got + f"Traceback (most recent call last):\n  ...\n{raised}\n"
        if not ok:
            failures.append((example, want, shown, raised))
    if failures:
        example, want, shown, raised = failures[0]
        if raised and not (example.exc_msg or "").strip():  # an error the page does not show: why?
            error = raised.splitlines()[-1]
            source = example.source.split("\n")
            wanted = reasons.needs_package(outcome, error, job.settings.strict) or reasons.not_runnable(
                outcome, error if not error.startswith("SyntaxError") else "SyntaxError",
                "\n".join([""] * (example.line - 1) + source), example.line, job.settings.strict)
            if wanted:
                return wanted
        first = example.source.strip().splitlines()[0]
        diff = "".join(difflib.unified_diff(want.splitlines(True), shown.splitlines(True), "the page shows",
                                            "it printed"))
        more = f" (and {len(failures) - 1} more example(s))" if len(failures) > 1 else ""
        what = "doctest failed" if job.kind == "pycon" else "IPython session failed"
        return outcome.fail(f"{what}: `{first}` printed {shown.strip()[:120]!r}, the page shows {want.strip()[:120]!r}"
                            f"{more}\n{diff}", file_of(job.snippet.index), example.line)
    magics = sorted({e.magic for e in job.examples if e.kind == "magic"})
    if not runnable and magics:
        return outcome.fail(f"uses IPython magic {', '.join(magics)}, which only IPython runs", status=UNVERIFIED)
    return _diagnosed(outcome) or outcome.result
