"""Read what a Python snippet left on stderr: its traceback, and the marked diagnostics that our
`sitecustomize` reports (warnings and asyncio's own complaints). Each problem names the file and line of
the snippet it points at, so it can be mapped back to the post."""

import json
import re
from dataclasses import dataclass

MARK = "\x1esnipcheck-diagnostic "
FRAME = re.compile(r'File "(?:[^"]*/)?(\d+(?:\.setup)?\.py)", line (\d+)')
WARNING_AT = re.compile(r"^(?:[^\s:]*/)?(\d+(?:\.setup)?\.py):(\d+): (?=\w+Warning: )", re.M)  # as warnings prints it
ASYNCIO_AT = re.compile(r"(\w+)\(\) (?:running at|done, defined at|at) (?:[^:>\s]*/)?(\d+(?:\.setup)?\.py):(\d+)")


@dataclass
class Problem:
    reason: str
    file: str | None = None  # a snippet file name, e.g. "01.py"
    line: int | None = None  # its line


def split(stderr: str) -> tuple[str, list[dict]]:
    """The snippet's own stderr, and our diagnostics."""
    plain, found = [], []
    for line in stderr.split("\n"):  # not splitlines(): it would also split at our \x1e mark
        if line.startswith(MARK):
            try:
                found.append(json.loads(line[len(MARK):]))
                continue
            except json.JSONDecodeError:
                pass
        plain.append(line)
    return "\n".join(plain), found


def last_frame(text: str) -> tuple[str, int] | tuple[None, None]:
    frames = FRAME.findall(text)
    return (frames[-1][0], int(frames[-1][1])) if frames else (None, None)


def exception_line(stderr: str) -> str:
    """The final `Type: message` line of a traceback (a SyntaxError's too). For an exception group, the
    group's line with its first sub-exception: `ExceptionGroup: … (1 sub-exception): ValueError: boom`."""
    lines = [re.sub(r"^[\s|+-]*\| ?", "", line) for line in stderr.rstrip().splitlines()]
    found = [line.strip() for line in lines if re.match(r"^[A-Za-z_][\w.]*(: |$)", line)
             and not line.startswith(("Traceback", "During", "The above"))]
    group = next((line for line in found if re.match(r"^(Base)?ExceptionGroup\b", line.split(":")[0])), None)
    if group:
        inner = next((line for line in found[found.index(group) + 1:]
                      if not re.match(r"^(Base)?ExceptionGroup\b", line)), "")
        return f"{group}: {inner}" if inner else group
    return found[-1] if found else (lines[-1].strip() if lines else "")


def problems(found: list[dict], threshold: float) -> list[Problem]:
    """The diagnostics that mean the example is broken, in plain words with the phrases authors search for."""
    result = []
    for item in found:
        message = item.get("message", "")
        first = message.splitlines()[0] if message else ""
        if item["kind"] == "warning" and "was never awaited" in first:
            file, line = last_frame(message.partition("Coroutine created at")[2])
            if file is None and re.search(r"\d+\.py$", item.get("filename", "")):
                file, line = item["filename"].rsplit("/", 1)[-1], item.get("lineno")
            result.append(Problem(f"{first} (a coroutine was called but never awaited)", file, line))
        elif item["kind"] == "warning" and item.get("category") == "ResourceWarning":
            name = item.get("filename", "").rsplit("/", 1)[-1]
            at = (name, item.get("lineno")) if FRAME.match(f'File "{name}", line 1') else (None, None)
            result.append(Problem(f"ResourceWarning: {first} (a resource was never closed)", *at))
        elif item["kind"] == "asyncio" and "exception was never retrieved" in first:
            file, line = last_frame(item.get("traceback", ""))
            error = exception_line(item.get("traceback", "")) or first
            result.append(Problem(f"{first}: {error}", file, line))
        elif item["kind"] == "asyncio" and (took := re.search(r"took ([\d.]+) seconds", first)):
            where = ASYNCIO_AT.search(first)
            name = f" in coroutine {where.group(1)}()" if where else ""
            result.append(Problem(f"blocked the event loop for {took.group(1)} s{name} (more than the "
                                  f"{threshold:g} s allowed: use `await asyncio.sleep`, or run blocking work "
                                  f"with `asyncio.to_thread`)", *(where.group(2, 3) if where else (None, None))))
        elif item["kind"] == "asyncio" and item.get("level") in ("ERROR", "CRITICAL"):
            file, line = last_frame(item.get("traceback", "") or message)
            result.append(Problem(f"asyncio reported an error: {first}", file, line))
    for problem in result:
        problem.line = int(problem.line) if problem.line is not None else None
    return result


OUT_OF_MEMORY = re.compile(r"\bMemoryError\b|\[Errno 12\]|Cannot allocate memory|std::bad_alloc")
