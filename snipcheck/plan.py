"""What verifying each block of a post takes. A post reads like a notebook: each block is classified by what it is
(a program, a `>>>` or IPython session, a shell transcript, data, pasted output); a Python block that uses names
earlier blocks define runs after exactly those blocks, in one namespace; a plain block right after a program may
show what it printed. Pure: no file is read or written here."""

from dataclasses import dataclass, field

from . import classify, imports, names, transcripts
from .errors import PostError
from .find import Snippet
from .settings import Settings

PYTHON = {"python", "pycon", "ipython"}  # kinds that run in the snippet's Python
SESSIONS = {"pycon", "ipython"}


@dataclass
class Job:
    snippet: Snippet
    kind: str  # what the block is: python, pycon, ipython, console, shell, json, yaml, toml, output, text, empty
    note: str = ""  # why that differs from its label, for the report and the page
    settings: Settings = field(default_factory=Settings)
    after: list[Snippet] = field(default_factory=list)  # run first, in the same process and namespace
    shows: Snippet | None = None  # the program whose output this block shows
    output_expected: bool = False  # the author said so (`output`): it must match, whatever it looks like
    examples: list = field(default_factory=list)  # a session's steps (transcripts.Example)
    unrun: list[tuple[str, int]] = field(default_factory=list)  # coroutine functions defined here, never run
    missing: list = field(default_factory=list)  # packages it imports that nobody declared (imports.Missing)
    env: object = None  # the environments.Env it runs in (None: not a Python block)
    kinds: dict[int, str] = field(default_factory=dict)  # the kind of each block of its chain, by index
    source: str = ""  # the Python it runs (a session's examples joined), for the names and imports read from it
    post_names: frozenset = frozenset()  # every name some Python block of the post binds
    blocked: str = ""  # why a block it needs cannot run ("needs block 02 (line 9), which needs package aiohttp")

    @property
    def chain(self) -> list[Snippet]:
        return [*self.after, self.snippet]

    @property
    def timeout(self) -> float:
        return self.settings.timeout_for(self.snippet.directives.timeout)

    @property
    def network(self) -> bool:
        return self.snippet.directives.network or self.settings.network


def source(snippet: Snippet, kind: str) -> str:
    """The Python a block runs: its code, or the sources of its session's examples."""
    if kind == "pycon":
        return "".join(example.source for example in transcripts.pycon(snippet.code))
    if kind == "ipython":
        return "".join(e.source for e in transcripts.ipython(snippet.code) if e.kind != "magic")
    return snippet.code


def plan(snippets: list[Snippet], settings: Settings = Settings()) -> list[Job]:
    jobs = []
    for snippet in snippets:
        kind = classify.kind(snippet.lang, snippet.code)
        jobs.append(Job(snippet, kind.name, kind.note, settings))
    python = [job for job in jobs if job.kind in PYTHON]
    for job in python:
        job.source = source(job.snippet, job.kind)
    sources = {job.snippet.index: job.source for job in python}
    needed = names.needs(list(sources.items()))
    post_names = frozenset().union(*(names.bound(text) for text in sources.values()))
    by_index = {job.snippet.index: job for job in jobs}
    for number, job in enumerate(python):
        if job.snippet.directives.session and number:  # `continue`: the previous block's session, then it
            job.after = python[number - 1].chain
        else:
            job.after = [by_index[i].snippet for i in needed.get(job.snippet.index, [])]
        job.kinds = {s.index: by_index[s.index].kind for s in job.chain}
        job.post_names = post_names
        if job.kind in SESSIONS:
            job.examples = transcripts.pycon(job.snippet.code) if job.kind == "pycon" else \
                transcripts.ipython(job.snippet.code)
    for index, name, line in names.unrun_coroutines(list(sources.items())):
        by_index[index].unrun.append((name, line))
    _pair_outputs(jobs)
    return jobs


def _pair_outputs(jobs: list[Job]) -> None:
    """A plain block right after a program may show what it printed; `output` says it does."""
    for before, job in zip(jobs, jobs[1:]):
        said = before.snippet.directives.output
        if said and before.kind != "python":
            raise PostError(before.snippet.post, before.snippet.directives.lines[-1],
                            f"`output` is for a Python program, and this block is {before.kind}",
                            "Remove `output`: only what a program prints can be compared with the next block.")
        if before.kind == "python" and (said or job.kind in ("output", "text")) and not job.snippet.directives.skip:
            job.shows, job.output_expected = before.snippet, said


def attach_env(jobs: list[Job], env) -> None:
    """The environment the post's Python blocks run in, and what they import that it lacks."""
    by_index = {job.snippet.index: job for job in jobs}
    for job in jobs:
        if job.kind in PYTHON:
            job.env = env
            job.missing = imports.undeclared(job.source, env)
    for job in jobs:
        lacking = [s for s in job.after if by_index[s.index].missing]
        if lacking:
            s = lacking[0]
            packages = ", ".join(m.distribution for m in by_index[s.index].missing)
            job.blocked = f"needs block {s.index:02d} (line {s.line}), which needs package {packages}"


def download(job: Job) -> str:
    """The file a reader downloads for a block: the code as shown; for a program that needs earlier blocks, those
    first (and hidden setup), marked, so that it runs as it is; with the post's packages as PEP 723 metadata, so
    that `uv run NN.py` installs them."""
    code = job.snippet.code
    if job.kind != "python":
        return code
    parts = []
    for snippet in job.chain:
        own = snippet is job.snippet
        if snippet.directives.setup:
            parts.append(f"# --- hidden setup of block {snippet.index:02d} (not shown on the page) ---\n"
                         f"{snippet.directives.setup}")
        if not own:
            parts.append(f"# --- block {snippet.index:02d} of the post (line {snippet.line}), which this one needs ---\n"
                         f"{source(snippet, job.kinds.get(snippet.index, 'python'))}")
    if parts:
        parts.append(f"# --- block {job.snippet.index:02d} (line {job.snippet.line}) ---\n{code}")
        code = "\n".join(part if part.endswith("\n") else part + "\n" for part in parts)
    requirements = list(getattr(job.env, "requirements", ()) or ())
    if requirements:
        from .environments import pep723_header
        code = pep723_header(requirements, getattr(job.env, "python_version", "3")) + code
    return code
