"""What a code block is — by its content as well as its label — and so how it can be verified; and whether a
plain block shows what the block before it prints. A Python program is never taken for output: whatever
compiles stays Python, and so does broken code that reads as code, so that its real error is reported."""

import ast
import difflib
import doctest
import json
import re
import warnings
from dataclasses import dataclass

import yaml

from . import languages
from .names import is_empty
from .transcripts import IN, PROMPT

KINDS = ("python", "pycon", "ipython", "console", "shell", "json", "yaml", "toml", "output", "text", "empty")


@dataclass(frozen=True)
class Kind:
    name: str  # one of KINDS; `output`: shown, not verified; `text`: no checker
    note: str = ""  # why, when the label alone does not say it: "labelled python, but it is a >>> session"
    shell: str = ""  # for `shell` and `console`: whose syntax the commands are in (`bash`, `zsh`)


def kind(lang: str | None, code: str) -> Kind:
    """What a block is, from its label as the author wrote it (`lang`) and its code as the page shows it."""
    if is_empty(code):
        return Kind("empty", "the block is empty")
    claim, label = languages.claim(lang), f"labelled {lang}" if lang else "unlabelled"
    lines = [line for line in code.split("\n") if line.strip()]
    if claim == "python":
        return _python(code, lines, label)
    if claim == "text":  # `$ ` transcripts only when unlabelled: `text` says the author wants it shown as is
        found = _session(lines, everywhere=True, prompts=not lang)
        return _but(found, label) if found else Kind("text")
    if claim == "shell":
        shell = languages.shell_of(lang)
        found = _session(lines, everywhere=False) or _output(lines, SHAPES + DOCUMENTS, ini=False)
        return _but(found, label, shell) if found else Kind("shell", shell=shell)
    if claim == "console" and any(PROMPT.match(line) for line in lines):
        return Kind("console", shell="bash")
    if claim in ("console", "pycon", "ipython"):
        found = _session(lines, everywhere=True)
        if found and found[0] == claim:
            return Kind(claim)
        if found or claim == "ipython":  # IPython without `In [n]:` prompts is one cell
            return _but(found, label) if found else Kind("ipython")
        return Kind("output", f"{label}, but no line has a {'prompt' if claim == 'console' else '>>> prompt'}:"
                              " shown as output, not checked")
    if claim in ("json", "yaml", "toml"):
        found = _session(lines, everywhere=False) or _output(lines, SHAPES + DOCUMENTS, ini=claim != "toml")
        return _but(found, label) if found else Kind(claim)
    if claim == "python2":
        return Kind("text", f"{label}: Python 2 code is not run")
    if claim == "traceback":
        return Kind("output", "a traceback: shown, not verified")
    return Kind("text", f"no checker for {lang}")


def _but(found: tuple[str, str], label: str, shell: str = "bash") -> Kind:
    name, what = found
    return Kind(name, f"{label}, but it is {what}" if what else label, shell if name in ("console", "shell") else "")


PS1 = re.compile(r"^\s*>>>(?: |$)")


def _session(lines: list[str], everywhere: bool, prompts: bool = True) -> tuple[str, str] | None:
    """A `>>>` session, IPython cells or a shell transcript: anywhere in the block, or from its first line on."""
    code = [line for line in lines if not line.lstrip().startswith("#")] or lines
    look = lines if everywhere else code[:1]
    if any(PS1.match(line) for line in look):
        return "pycon", "a >>> session"
    if any(IN.match(line) for line in look):
        return "ipython", "IPython cells"
    if prompts and PROMPT.match(code[0]):
        return "console", "a shell session"
    return None


SHAPES = [  # output: (what, a line of it, the share of the block's lines that must be such lines)
    ("a traceback", re.compile(r"^(?:Traceback \(most recent call last\):|\w+(?:Error|Exception) +Traceback "
                               r"\(most recent call last\))"), 0),
    ("log output", re.compile(r"^\[?(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\d\d:\d\d:\d\d\b|"
                              r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)(?=[\]:\s]))"), .5),
    ("pip output", re.compile(r"^\s*(?:Collecting |Downloading |Using cached |Requirement already satisfied|"
                              r"Installing collected packages|Successfully (?:installed|uninstalled|built) |"
                              r"Building wheels? |Created wheel |Found existing installation|Uninstalling |"
                              r"Attempting uninstall|Obtaining |Preparing metadata)"), .5),
    ("test-runner output", re.compile(r"^(?:={3,} .* ={3,}$|platform \w+ -- Python|rootdir: |plugins: |collected \d+ "
                                      r"items?|\S+\.py (?:[.FEsx]+ +)?\[ *\d+%\])"), .5),
]
DOCUMENTS = [  # not output, but not code either; under a `python` label only when no line reads as code
    ("a template", re.compile(r"\{%-?\s*(?:if|for|block|extends|include|load|url|with|set|macro|static|trans|"
                              r"csrf_token|else|elif|end\w+)\b"), 0),
    ("markup", re.compile(r"^\s*</?[A-Za-z!][^>]*>?"), .5),
]
INI_SECTION = re.compile(r"^\[[\w.:\- ]+\]\s*$")
INI_KEY = re.compile(r"^[\w.-]+\s*(?:=|:\s)")


def _output(lines: list[str], shapes: list, ini: bool = True) -> tuple[str, str] | None:
    for what, line, share in shapes:
        hits = sum(bool(line.search(text)) for text in lines)
        if hits and hits >= share * len(lines):
            return "output", what
    return ("output", "an INI file") if ini and _ini(lines) else None


def _ini(lines: list[str]) -> bool:
    code = [line for line in lines if not line.lstrip().startswith(("#", ";"))]
    return bool(code) and bool(INI_SECTION.match(code[0])) and any(INI_KEY.match(line) for line in code) \
        and not any(STATEMENT.match(line) for line in code)


STATEMENT = re.compile(r"^\s*(?:(?:async\s+)?def\s+\w+\s*\(|class\s+\w+\s*[(:]|import\s+\w|from\s+[\w.]+\s+import\s|"
                       r"@[\w.]+|(?:return|yield|raise|assert|del|global|nonlocal)\b|(?:pass|break|continue)\s*$|"
                       r"(?:if|elif|while|for|with|try|except|finally|else|async\s+(?:for|with))\b.*:\s*(?:#.*)?$|"
                       r"print\s*\(|print\s+[\w\"'])")
CODE_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\s*,\s*[A-Za-z_][\w.]*)*\s*"
                       r"(?:[-+*/%&|^@]|//|\*\*|<<|>>)?=(?!=)|[A-Za-z_][\w.]*\()")
COMMAND_WORDS = {"pip", "pip3", "python", "python3", "conda", "mamba", "uv", "uvx", "poetry", "pipx", "git", "cd",
                 "ls", "mkdir", "rm", "cp", "mv", "cat", "echo", "export", "source", "curl", "wget", "docker",
                 "kubectl", "npm", "npx", "yarn", "make", "apt", "apt-get", "brew", "pytest", "mypy", "jupyter",
                 "virtualenv", "chmod", "touch", "tar", "ssh", "celery", "gunicorn", "uvicorn", "bundle", "gem"}
# a command word followed by an argument (not by `=`, `(`, `.`: then it is Python), or `./script`
COMMAND = re.compile(rf"^\s*(?:sudo\s+)?(?:\./\S+|(?:{'|'.join(map(re.escape, COMMAND_WORDS))})"
                     rf"(?=\s+[^\s=(.:\[]|\s*$))")


def _python(code: str, lines: list[str], label: str) -> Kind:
    tree = _compiles(code)
    if tree is not None:
        if not tree.body:
            return Kind("empty", "only comments, no code")
        if _ini(lines):  # `[section]` then `key = value` lines compile, but are not a program
            return Kind("output", f"{label}, but it is an INI file")
        if _json_document(code):
            return Kind("json", f"{label}, but it is JSON")
        return Kind("python")
    found = _session(lines, everywhere=True) or _output(lines, SHAPES, ini=False)
    if found:
        return _but(found, label)
    if any(STATEMENT.match(line) for line in lines):
        return Kind("python")  # broken code: its own error is the report
    found = _output(lines, DOCUMENTS)
    if found:
        return _but(found, label)
    if sum(bool(COMMAND.match(line)) for line in lines) * 2 >= len(lines):
        return Kind("shell", f"{label}, but it is shell commands", "bash")
    if sum(bool(CODE_LINE.match(line)) for line in lines) * 2 >= len(lines):
        return Kind("python")
    if _yaml_config(code):
        return Kind("output", f"{label}, but it is a YAML file")
    return Kind("output", f"{label}, but it does not read as Python: shown as output, not run")


def _compiles(code: str) -> ast.Module | None:
    """The block's syntax tree if it compiles (top-level `await` allowed: it runs on an event loop)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(code, "<block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            return ast.parse(code)
        except (SyntaxError, ValueError, OverflowError):
            return None


def _json_document(code: str) -> bool:
    """A JSON object or array with `true`/`false`/`null`: it compiles, but as Python it is a NameError."""
    try:
        value = json.loads(code)
    except ValueError:
        return False
    return isinstance(value, (dict, list)) and bool(re.search(r"\b(?:true|false|null)\b", code))


def _yaml_config(code: str) -> bool:
    try:
        value = yaml.safe_load(code)
    except yaml.YAMLError:
        return False
    return isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values())


@dataclass(frozen=True)
class Verdict:
    name: str  # matches | differs | unrelated
    diff: str = ""  # for `differs`: a unified diff from what the post shows to what the code prints
    note: str = ""  # why it was judged so


LEAD_IN = re.compile(r"\b(?:output|outputs|prints?|printed|printing|which gives|this gives|it gives|gives us|"
                     r"the results? (?:is|are|was|were)|displays|(?:we|you)(?:'ll| will| should| would)? (?:get|see))"
                     r"\b", re.I)
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours and cursor moves


def compare_output(printed: str, shown: str, lead_in: str = "") -> Verdict:
    """Whether a plain block (`shown`) is the output of the code before it (`printed`): `matches` (doctest's
    comparison: `...` matches anything, whitespace is loose), `differs` (with a diff), or `unrelated`. Text that
    is not output must never be called `differs`, so it is `differs` only when the shown text resembles what
    was printed: strongly (the same first line, or most lines alike), or a little when the lead-in says it
    shows output ("Output:", "this prints", "which gives", "the result is", "you'll see")."""
    got, want = terminal(printed), terminal(shown)
    if not want.replace("...", "").strip():
        return Verdict("unrelated", note="the block shows nothing to compare")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    if doctest.OutputChecker().check_output(want + "\n", got + "\n", flags):
        return Verdict("matches")
    if not got.strip():
        return Verdict("unrelated", note="the code prints nothing")
    says = bool(LEAD_IN.search(re.split(r"\n\s*\n", lead_in.strip())[-1])) if lead_in.strip() else False
    strong, some = _resemblance(got.split("\n"), want.split("\n"))
    if not (strong or says and some):
        return Verdict("unrelated", note="it does not resemble what the code prints")
    diff = difflib.unified_diff(want.split("\n"), got.split("\n"), "shown in the post", "printed by the code",
                                lineterm="")
    return Verdict("differs", "\n".join(diff), "the lead-in says it is the output" if says and not strong
                   else "it resembles what the code prints")


def _resemblance(got: list[str], want: list[str]) -> tuple[bool, bool]:
    """(strongly alike, somewhat alike). Only the first 200 lines count: enough to judge, and quick."""
    got = [" ".join(line.split()) for line in got[:200] if line.strip()]
    want = [" ".join(line.split()) for line in want[:200] if line.strip() and line.strip() != "..."]
    if not got or not want:
        return False, False
    best = [max(_ratio(w, g) for g in got) for w in want]
    same_start = want[0] == got[0] and len(want[0]) >= 4
    return same_start or sum(b >= .75 for b in best) * 2 >= len(want), any(b >= .6 for b in best)


def _ratio(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.real_quick_ratio() >= .6 and matcher.quick_ratio() >= .6 else 0.0


def terminal(text: str) -> str:
    """Text as a terminal shows it: `\\r` returns to the line's start and what follows overwrites it (progress
    bars), `\\b` steps back, colour codes vanish; trailing spaces and blank lines go."""
    shown = []
    for line in CONTROL.sub("", text).split("\n"):
        cells, at = [], 0
        for char in line:
            if char == "\r":
                at = 0
            elif char == "\b":
                at = max(at - 1, 0)
            else:
                cells[at:at + 1] = [char]
                at += 1
        shown.append("".join(cells).rstrip())
    return "\n".join(shown).rstrip("\n")
