"""Verify one snippet by its language: run Python, run `pycon` sessions as doctests, parse data formats,
syntax-check shell. A function of the snippet alone, so results can be run concurrently and cached."""

import ast
import builtins
import datetime
import difflib
import doctest
import json
import platform
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import diagnostics, process
from .find import Snippet
from .plan import Job

VERIFIED, FAILED, SKIPPED, UNVERIFIED = "verified", "failed", "skipped", "unverified"
SHELLS = {"bash", "sh", "shell", "zsh"}


@dataclass
class Result:
    status: str
    checker: str  # what verified it, for the reader: "Python 3.11.7", "JSON parser"
    reason: str = ""
    line: int | None = None  # the post line the failure points at
    stdout: str = ""
    stderr: str = ""
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())  # when it was produced
    cached: bool = False


SITE = Path(__file__).with_name("sandbox_site")
BOUNDARY = "\x1esnipcheck-boundary\n"


def _files(job: Job) -> tuple[dict[str, str], list[str]]:
    """The files to write and the order to run them in: setup code goes right before its block."""
    files, order = {}, []
    for snippet in job.chain:
        if snippet.directives.setup:
            name = f"{snippet.index:02d}.setup.py"
            files[name] = snippet.directives.setup
            order.append(name)
        files[snippet.name] = snippet.code
        order.append(snippet.name)
    return files, order


def _post_line(job: Job, file: str | None, line: int | None) -> int:
    """Map a snippet file's line to the post; setup code is not on the page, so it points at its block."""
    for snippet in job.chain:
        if file == snippet.name and line:
            return snippet.line + line - 1
        if file == f"{snippet.index:02d}.setup.py":
            return snippet.line
    return job.snippet.line


def _shown(job: Job, post_line: int) -> str:
    """Where the block shows line numbers, also the number the reader sees."""
    s = job.snippet
    if s.numbered and s.line <= post_line <= s.end_line:
        return f" (line {post_line - s.line + 1} as numbered on the page)"
    return ""


def _is_a(raised: str, expected: str) -> bool:
    """`raised` is `expected` or, for built-in exceptions, a subclass of it (ConnectionRefusedError is an OSError)."""
    raised, expected = raised.rsplit(".", 1)[-1], expected.rsplit(".", 1)[-1]
    kinds = [getattr(builtins, name, None) for name in (raised, expected)]
    if all(isinstance(k, type) and issubclass(k, BaseException) for k in kinds):
        return issubclass(kinds[0], kinds[1])
    return raised == expected


def vacuous(code: str) -> bool:
    """True when the top level only imports and defines, so running it proves nothing."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    defining = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)
    for node in tree.body:
        if isinstance(node, defining) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not any(
                isinstance(n, (ast.Call, ast.Await)) for n in ast.walk(node)):
            continue
        return False
    return True


async def _run_python(job: Job) -> Result:
    checker = f"Python {platform.python_version()}"
    files, order = _files(job)
    python = [process.python(), "-X", "dev"]
    argv = [*python, order[0]] if len(order) == 1 else [*python, "-m", "snippet_session", *order]
    # -X dev also swaps in the debug memory allocator, which only C extensions' bugs need and which costs a
    # fifth of the start-up of every snippet: keep the usual one (PYTHONMALLOC wins over -X dev).
    env = {"PYTHONPATH": str(SITE), "PYTHONASYNCIODEBUG": "1", "SNIPCHECK_SLOW_CALLBACK": str(job.slow_callback),
           "PYTHONMALLOC": "pymalloc"}
    done = await process.run(argv, files, job.timeout, env, memory_mb=job.memory_mb,
                             network=job.snippet.directives.network)
    stderr, found = diagnostics.split(done.stderr)
    stdout = done.stdout
    if len(order) > 1:  # a session: keep the output of this block only
        parts = stdout.split(BOUNDARY)
        stdout = parts[len(order) - 1] if len(parts) >= len(order) else parts[-1]
    result = Result(VERIFIED, checker, stdout=stdout, stderr=stderr)
    d = job.snippet.directives

    def fail(reason: str, file: str | None = None, line: int | None = None) -> Result:
        result.status, result.line = FAILED, _post_line(job, file, line)
        earlier = [s.name for s in job.earlier if file in (s.name, f"{s.index:02d}.setup.py")]
        prefix = f"the earlier block {earlier[0]} of this session failed: " if earlier else ""
        result.reason = prefix + reason + _shown(job, result.line)
        return result

    if done.timed_out:
        return fail(f"timed out after {job.timeout:g} s")
    error = diagnostics.exception_line(stderr) if done.returncode else ""
    file, line = diagnostics.last_frame(stderr) if done.returncode else (None, None)
    if d.expect_exception:
        if not (done.returncode and _is_a(error.split(":")[0], d.expect_exception)):
            got = f"it raised {error}" if done.returncode else "it ran without raising"
            return fail(f"expected {d.expect_exception}, but {got}", file, line)
    elif d.expect_exit is not None:
        if done.returncode != d.expect_exit:
            return fail(f"expected exit status {d.expect_exit}, got exit status {done.returncode}", file, line)
    elif done.memory_limited:
        return fail(f"memory limit ({job.memory_mb} MB): {error or f'exit status {done.returncode}'}; "
                    "make the example use less memory", file, line)
    elif done.returncode:
        status = f"exit status {done.returncode}"
        traceback = "Traceback" in stderr or error.startswith("SyntaxError") or "Error" in error.split(":")[0]
        reason = error if traceback else f"{status} (last stderr line: {error})" if error else status
        if done.network_isolated and re.search(r"Network is unreachable|name resolution|Name or service", stderr):
            reason += " (snippets run without network: put `<!-- snippet: network -->` before the block)"
        return fail(reason, file, line)
    problems = diagnostics.problems(found, job.slow_callback)
    if problems:
        return fail(problems[0].reason, problems[0].file, problems[0].line)
    if done.truncated:
        return fail("output truncated: a snippet may print at most 1 MB per stream")
    if not (d.definitions or job.used_later or d.expect_exception or d.expect_exit) and vacuous(job.snippet.code):
        return fail("vacuous pass: the block only defines functions and classes and never calls them (a missing "
                    "`asyncio.run(main())`?); if that is intended, put `<!-- snippet: definitions -->` before it")
    if job.expected_output is not None:
        want = job.expected_output.code
        if not doctest.OutputChecker().check_output(want, stdout, doctest.ELLIPSIS):
            diff = "".join(difflib.unified_diff(want.splitlines(True), stdout.splitlines(True), "shown", "printed"))
            return fail(f"output differs from the block shown after it (line {job.expected_output.line}):\n{diff}")
    return result


async def _run_doctest(job: Job) -> Result:
    snippet, timeout = job.snippet, job.timeout
    if not re.search(r"^\s*>>> ", snippet.code, re.M):
        return Result(FAILED, "doctest", "doctest failed: no `>>> ` prompt in this pycon block, so nothing would be "
                      "checked; mark it as text, or show a session")
    checker = f"Python {platform.python_version()} doctest"
    argv = [process.python(), "-m", "doctest", "-o", "ELLIPSIS", snippet.name]
    done = await process.run(argv, {snippet.name: snippet.code}, timeout)
    if done.timed_out:
        return Result(FAILED, checker, f"timed out after {timeout:g} s")
    if done.returncode != 0:
        line = re.search(rf'File "{re.escape(snippet.name)}", line (\d+)', done.stdout)
        report = done.stdout.split("*" * 70)[1].strip() if "*" * 70 in done.stdout else done.stdout.strip()
        parts = re.search(r"Failed example:\n(.*?)\n(?:Expected:\n(.*?)\nGot:\n(.*)|Exception raised:\n(.*))$",
                          report, re.S)
        if parts and parts.group(4):
            summary = f"{parts.group(1).strip()} raised {diagnostics.exception_line(parts.group(4))}"
        elif parts:
            summary = f"{parts.group(1).strip()} printed {parts.group(3).strip()!r}, the page shows " \
                      f"{parts.group(2).strip()!r}"
        else:
            summary = report.splitlines()[0] if report else f"exit status {done.returncode}"
        return Result(FAILED, checker, f"doctest failed: {summary}\n{report}", int(line.group(1)) if line else None,
                      done.stdout, done.stderr)
    return Result(VERIFIED, checker)


async def _run_shell_syntax(job: Job) -> Result:
    snippet, timeout = job.snippet, job.timeout
    code = snippet.code
    if snippet.language == "console":  # keep the commands after `$ ` prompts, drop their output
        code = "\n".join(line[2:] if line.startswith("$ ") else "" for line in code.split("\n"))
    done = await process.run(["bash", "-n", "snippet.sh"], {"snippet.sh": code}, timeout)
    if done.returncode != 0:
        line = re.search(r"line (\d+):", done.stderr)
        message = re.sub(r"^snippet\.sh: (line \d+: )?", "", done.stderr.strip().splitlines()[0])
        return Result(FAILED, "bash -n", f"shell syntax error: {message}", int(line.group(1)) if line else None)
    return Result(VERIFIED, "bash -n (syntax only, not run)")


def _parse(snippet: Snippet) -> Result:
    lang, code = snippet.language, snippet.code
    try:
        if lang == "json":
            json.loads(code)
        elif lang == "yaml":
            list(yaml.safe_load_all(code))
        else:
            tomllib.loads(code)
    except json.JSONDecodeError as err:
        return Result(FAILED, "JSON parser", f"invalid JSON: {err.msg}", err.lineno)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        return Result(FAILED, "YAML parser", f"invalid YAML: {getattr(err, 'problem', err)}",
                      mark.line + 1 if mark else None)
    except tomllib.TOMLDecodeError as err:
        line = re.search(r"at line (\d+)", str(err))
        return Result(FAILED, "TOML parser", f"invalid TOML: {err}", int(line.group(1)) if line else None)
    return Result(VERIFIED, {"json": "JSON parser", "yaml": "YAML parser"}.get(lang, "TOML parser"))


def _with_post_line(job: Job, result: Result) -> Result:
    """Checkers count lines within the block; reports count them in the post."""
    if result.status == FAILED:
        result.line = job.snippet.line + (result.line or 1) - 1
    return result


async def verify(job: Job) -> Result:
    snippet, lang = job.snippet, job.snippet.language
    if snippet.directives.skip:
        return Result(SKIPPED, "", f"skipped: {snippet.directives.skip}")
    if lang == "python":
        return await _run_python(job)
    if lang == "pycon":
        return _with_post_line(job, await _run_doctest(job))
    if lang in SHELLS or lang == "console":
        return _with_post_line(job, await _run_shell_syntax(job))
    if lang in ("json", "yaml", "toml"):
        return _with_post_line(job, _parse(snippet))
    return Result(UNVERIFIED, "", f"no checker for {snippet.lang or 'plain text'}")
