"""Sessions as steps: a `>>>` session, IPython cells and a `$ ` shell transcript, cut into what can be run or
checked, each with its line in the block (1-based). Nothing here runs code; the verifier does."""

import ast
import codeop
import doctest
import re
import textwrap
import warnings
from dataclasses import dataclass, field

PS1 = re.compile(r"^(\s*)>>>(?!>)")  # doctest wants a blank after the prompt; people forget it, so we do not
PS2 = re.compile(r"^\s*\.\.\.(?![.:])")  # `...:` is IPython's
IN = re.compile(r"^In \[(\d*)\]:(?: |$)")
CONTINUATION = re.compile(r"^\s*\.\.\.:(?: |$)")
OUT = re.compile(r"^Out\[(\d*)\]:(?: |$)")
# `$ `, `% ` (zsh), `» ` or `❯ ` (themed shells), after an optional `(venv) ` and `user@host:dir`
PROMPT = re.compile(r"^(?:\([\w.-]+\) ?)?(?:[\w.-]+@[\w.-]+(?::[^\s$%]*)? ?)?[$%»❯] ")
TIMING = {"%time", "%timeit", "%%time", "%%timeit"}


@dataclass
class Example:
    source: str  # the code to run, prompts removed, ending with "\n"
    want: str = ""  # what the page shows it printing ("" for nothing), doctest style
    line: int = 1  # the block line of its first prompt
    exc_msg: str | None = None  # when `want` is a traceback: the exception line doctest compares
    options: dict[int, bool] = field(default_factory=dict)  # from `# doctest: +ELLIPSIS` comments
    kind: str = "code"  # code | timeit (run once, timing never compared) | magic (not runnable)
    magic: str = ""  # "%timeit", "%load_ext", "!pip", "?": what the report names

    def doctest(self) -> doctest.Example:
        return doctest.Example(self.source, self.want, self.exc_msg, lineno=self.line - 1, options=self.options)


def pycon(code: str) -> list[Example]:
    """The examples of a `>>>` session, with doctest's meaning: `...` lines continue the source, the lines up
    to a blank line or the next prompt are its output, everything else is prose. Two slips people make are
    forgiven: no blank after a prompt, and `>>>` on a line that continues an unfinished statement. Code
    written without prompts between examples (imports, assignments, definitions) runs too, printing nothing."""
    lines, examples, prose, i = code.split("\n"), [], [], 0
    while i < len(lines):
        first = PS1.match(lines[i])
        if not first:
            prose.append(i)
            i += 1
            continue
        examples += _code_in_prose(lines, prose)
        prose, start, indent = [], i, first.group(1)
        source = [_unprompt(lines[i])]
        i += 1
        while i < len(lines) and (PS2.match(lines[i]) or PS1.match(lines[i]) and _unfinished(source)):
            source.append(_unprompt(lines[i]))
            i += 1
        want = []
        while i < len(lines) and lines[i].strip() and not PS1.match(lines[i]):
            want.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        examples.append(_example(textwrap.dedent("\n".join(source)).split("\n"), want, start + 1))
    return examples + _code_in_prose(lines, prose)


def _unprompt(line: str) -> str:
    text = line.lstrip()[3:]
    return text[1:] if text.startswith(" ") else text


def _unfinished(source: list[str]) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return codeop.compile_command("\n".join(textwrap.dedent("\n".join(source)).split("\n")) + "\n",
                                          symbol="exec") is None
        except (SyntaxError, ValueError, OverflowError):
            return False


def _example(source: list[str], want: list[str], line: int) -> Example:
    """Let doctest read the example, written out in its canonical form: its options and exception message."""
    text = "\n".join([">>> " + source[0], *("... " + s for s in source[1:]), *want]) + "\n"
    try:
        (parsed,) = [p for p in doctest.DocTestParser().parse(text) if isinstance(p, doctest.Example)]
    except ValueError:  # an unknown `# doctest:` option: run it without options rather than not at all
        return Example("\n".join(source) + "\n", "\n".join(want) + "\n" if want else "", line)
    return Example(parsed.source, parsed.want, line, parsed.exc_msg, parsed.options)


SETUP = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.FunctionDef, ast.AsyncFunctionDef,
         ast.ClassDef)


def _code_in_prose(lines: list[str], prose: list[int]) -> list[Example]:
    """Lines between examples that are code, not prose: runnable statements that print nothing."""
    found = []
    for part in _runs(prose):
        chunks = [part] if _is_setup(lines, part) else _paragraphs(lines, part)
        found += [Example(textwrap.dedent("\n".join(lines[n] for n in c)).strip("\n") + "\n", "", _first(lines, c))
                  for c in chunks if _is_setup(lines, c)]
    return found


def _runs(numbers: list[int]) -> list[list[int]]:
    runs = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _paragraphs(lines: list[str], part: list[int]) -> list[list[int]]:
    paragraphs = [[]]
    for n in part:
        if lines[n].strip():
            paragraphs[-1].append(n)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_setup(lines: list[str], chunk: list[int]) -> bool:
    try:
        body = ast.parse(textwrap.dedent("\n".join(lines[n] for n in chunk))).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and all(isinstance(s, SETUP) for s in body)


def _first(lines: list[str], chunk: list[int]) -> int:
    return next(n for n in chunk if lines[n].strip()) + 1


def ipython(code: str) -> list[Example]:
    """IPython cells: `In [n]:` and its `...:` lines are the source; what follows, up to the next cell, is what
    IPython printed — the printed lines, then the `Out[n]:` value without its prefix. A block without any
    `In [n]:` is one cell. `%time`/`%timeit` (line or cell) mark a step to run once, with only its Out value
    compared; any other magic, `!shell` line or `obj?` makes the cell not runnable, named by its magic."""
    lines = code.split("\n")
    starts = [n for n, text in enumerate(lines) if IN.match(text)]
    if not starts:
        return [_cell(lines, [], [], 1)] if code.strip() else []
    cells = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        source, n = [IN.sub("", lines[start], count=1)], start + 1
        while n < end and CONTINUATION.match(lines[n]):
            source.append(CONTINUATION.sub("", lines[n], count=1))
            n += 1
        shown = lines[n:end]
        out = next((k for k, text in enumerate(shown) if OUT.match(text)), len(shown))
        value = [OUT.sub("", shown[out], count=1), *shown[out + 1:]] if out < len(shown) else []
        cells.append(_cell(source, shown[:out], value[1:] if value and not value[0].strip() else value, start + 1))
    return cells


MAGIC = re.compile(r"^\s*(?:[\w.]+\s*=\s*)?(%%?\w+|!\S*)")  # `%magic`, `%%cell`, `!cmd`, `x = !cmd`
HELP = re.compile(r"^\s*(?:\?+[\w.]+|[\w.]+\?+)\s*$")  # `?obj`, `obj?`, `obj??`
TIMEIT_OPTIONS = re.compile(r"^(?:-[nrp]\s*\d+\s+|-[tcqo]\s+)*")


def _cell(source: list[str], printed: list[str], value: list[str], line: int) -> Example:
    while source and not source[-1].strip():
        source = source[:-1]
    want = _text(printed + value)
    head = MAGIC.match(source[0]) if source else None
    if head and head.group(1) in ("%%time", "%%timeit"):
        body = textwrap.dedent("\n".join(source[1:]))
        return Example(body.strip("\n") + "\n", _text(value), line, kind="timeit", magic=head.group(1))
    kept, kind, magic = [], "code", ""
    for text in source:
        found = MAGIC.match(text)
        if found and found.group(1) in ("%time", "%timeit") and text.lstrip().startswith("%"):
            indent, statement = text[:len(text) - len(text.lstrip())], text.lstrip()[len(found.group(1)):].strip()
            kept.append(indent + TIMEIT_OPTIONS.sub("", statement))
            kind, magic = ("timeit", found.group(1)) if kind == "code" else (kind, magic)
        elif found or HELP.match(text):
            name = found.group(1) if found else "?"
            return Example(_text(source), want, line, kind="magic",
                           magic=name if not name.startswith("!") else "!" + name[1:].split("/")[-1])
        else:
            kept.append(text)
    source_text = textwrap.dedent("\n".join(kept)).strip("\n") + "\n"
    return Example(source_text, _text(value) if kind == "timeit" else want, line, kind=kind, magic=magic)


def _text(lines: list[str]) -> str:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return "\n".join(lines) + "\n" if lines else ""


@dataclass
class Script:
    text: str  # the commands, as `bash -n` should read them
    lines: list[int]  # lines[n - 1]: the block line of script line n

    def block_line(self, script_line: int) -> int:
        return self.lines[min(max(script_line, 1), len(self.lines)) - 1]


def console(code: str) -> Script | None:
    """The commands of a shell transcript: each line after a prompt (`$ `, `% `, `» `, `❯ `, with an optional
    `(venv) ` or `user@host:dir` before it), with its `> ` continuation lines and the lines after a trailing
    backslash, one script line per block line so errors map back. Output lines are dropped. None when no line
    has a prompt: then nothing would be checked, and the caller says so rather than calling it verified."""
    commands, where, command, backslash = [], [], False, False
    for n, text in enumerate(code.split("\n"), 1):
        prompt = PROMPT.match(text)
        secondary = text.startswith("> ") or text == ">"  # bash's PS2
        if backslash or prompt or command and secondary:
            text = text[prompt.end():] if prompt else text[2:] if secondary else text
            commands.append(text)
            where.append(n)
            command, backslash = True, text.rstrip().endswith("\\")
        else:
            command = False
    return Script("\n".join(commands) + "\n", where) if commands else None
