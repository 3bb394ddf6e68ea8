"""What verifying each snippet of a post takes: the earlier blocks of its session (`continue`), its hidden
setup, the output the next block shows (`output`), and whether later blocks use its definitions."""

from dataclasses import dataclass, field

from .find import Snippet


@dataclass
class Job:
    snippet: Snippet
    timeout: float
    earlier: list[Snippet] = field(default_factory=list)  # run first, in the same process and namespace
    expected_output: Snippet | None = None  # the block that shows what this one prints
    used_later: bool = False  # a later `continue` block builds on its definitions
    slow_callback: float = 0.1  # seconds a callback may hold the event loop
    memory_mb: int = 1024  # per process

    @property
    def chain(self) -> list[Snippet]:
        return [*self.earlier, self.snippet]


def plan(snippets: list[Snippet], timeout: float, slow_callback: float = 0.1, memory_mb: int = 1024) -> list[Job]:
    jobs, session = [], []
    python = [s for s in snippets if s.language == "python"]
    for snippet in snippets:
        d = snippet.directives
        job = Job(snippet, d.timeout or timeout, slow_callback=slow_callback, memory_mb=memory_mb)
        if snippet.language == "python" and not d.skip:
            session = [*session, snippet] if d.session else [snippet]
            job.earlier = session[:-1]
            later = python[python.index(snippet) + 1:]
            job.used_later = bool(later) and later[0].directives.session
        if d.output and snippet.index < len(snippets):
            job.expected_output = snippets[snippet.index]  # the next block, in page order
        jobs.append(job)
    return jobs


def output_blocks(snippets: list[Snippet]) -> dict[int, int]:
    """{index of a block that shows output: index of the block that prints it}."""
    return {s.index + 1: s.index for s in snippets if s.directives.output and s.index < len(snippets)}
