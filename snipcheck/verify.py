"""Verify one snippet by its language: run Python, run `pycon` sessions as doctests, parse data formats,
syntax-check shell. A function of the snippet alone, so results can be run concurrently and cached."""

import json
import platform
import re
import tomllib
from dataclasses import dataclass

import yaml

from . import process
from .find import Snippet

VERIFIED, FAILED, SKIPPED, UNVERIFIED = "verified", "failed", "skipped", "unverified"
SHELLS = {"bash", "sh", "shell", "zsh"}


@dataclass
class Result:
    status: str
    checker: str  # what verified it, for the reader: "Python 3.11.7", "JSON parser"
    reason: str = ""
    line: int | None = None  # the snippet's own line (1-based) the failure points at
    stdout: str = ""
    stderr: str = ""


def _traceback_line(stderr: str, filename: str) -> int | None:
    lines = re.findall(rf'File "(?:.*/)?{re.escape(filename)}", line (\d+)', stderr)
    return int(lines[-1]) if lines else None


def _last_error(stderr: str) -> str:
    """The exception line of a traceback: `NameError: name 'x' is not defined`."""
    for line in reversed(stderr.strip().splitlines()):
        if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt|Warning)\b|^\w+: ", line):
            return line.strip()
    return stderr.strip().splitlines()[-1] if stderr.strip() else ""


async def _run_python(snippet: Snippet, timeout: float) -> Result:
    checker = f"Python {platform.python_version()}"
    done = await process.run([process.python(), snippet.name], {snippet.name: snippet.code}, timeout)
    result = Result(VERIFIED, checker, stdout=done.stdout, stderr=done.stderr)
    if done.timed_out:
        result.status, result.reason = FAILED, f"timed out after {timeout:g} s"
    elif done.returncode != 0:
        error = _last_error(done.stderr) or f"exit status {done.returncode}"
        status = f"exit status {done.returncode}"
        result.status, result.line = FAILED, _traceback_line(done.stderr, snippet.name)
        result.reason = error if error.startswith(status) or done.returncode == 1 else f"{status}: {error}"
    if done.truncated:
        result.reason = (result.reason + "; " if result.reason else "") + "output truncated at 1 MB"
    return result


async def _run_doctest(snippet: Snippet, timeout: float) -> Result:
    checker = f"Python {platform.python_version()} doctest"
    argv = [process.python(), "-m", "doctest", "-o", "ELLIPSIS", snippet.name]
    done = await process.run(argv, {snippet.name: snippet.code}, timeout)
    if done.timed_out:
        return Result(FAILED, checker, f"timed out after {timeout:g} s")
    if done.returncode != 0:
        line = re.search(rf'File "{re.escape(snippet.name)}", line (\d+)', done.stdout)
        first = done.stdout.split("*" * 70)[1].strip() if "*" * 70 in done.stdout else done.stdout.strip()
        return Result(FAILED, checker, "doctest failed:\n" + first, int(line.group(1)) if line else None,
                      done.stdout, done.stderr)
    return Result(VERIFIED, checker)


async def _run_shell_syntax(snippet: Snippet, timeout: float) -> Result:
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


async def verify(snippet: Snippet, timeout: float) -> Result:
    lang = snippet.language
    if lang == "python":
        return await _run_python(snippet, timeout)
    if lang == "pycon":
        return await _run_doctest(snippet, timeout)
    if lang in SHELLS or lang == "console":
        return await _run_shell_syntax(snippet, timeout)
    if lang in ("json", "yaml", "toml"):
        return _parse(snippet)
    return Result(UNVERIFIED, "", f"shown, not verified: no checker for {snippet.lang or 'plain text'}")
