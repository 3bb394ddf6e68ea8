"""The verification plan, fast and without Ruby or a jail: directives, what each block runs after, which block's
output another shows, downloads, cache keys, and the diagnostics that make an example fail."""

from pathlib import Path

import pytest

from snipcheck import cache, diagnostics, directives, plan
from snipcheck.directives import DirectiveError, Directives, Found
from snipcheck.errors import PostError
from snipcheck.find import Snippet
from snipcheck.settings import Settings

POST = Path("_posts/2024-01-01-x.md")


def blocks(*codes, langs=None, **directives_of) -> list[Snippet]:
    """Snippets of one post, in page order; `directives_of` maps 'd2' to the Directives of block 2."""
    found, line = [], 5
    for number, code in enumerate(codes, 1):
        lang = (langs or {}).get(number, "python")
        found.append(Snippet(POST, number, lang, code, line, directives=directives_of.get(f"d{number}", Directives())))
        line += code.count("\n") + 3
    return found


def parsed(text: str) -> Directives:
    into = Directives()
    directives.parse(Found(1, 1, text), into)
    return into


def test_directives_are_read_with_their_arguments():
    d = parsed(" skip needs a database; timeout 60")
    assert (d.skip, d.timeout) == ("needs a database", 60.0)
    assert parsed(" expect exit 3").expect_exit == 3 and parsed(" expect ValueError").expect_exception == "ValueError"
    assert parsed(" continue; output; network").session and parsed(" output").output
    assert parsed(" setup\nimport asyncio\n").setup == "import asyncio\n"
    with pytest.raises(DirectiveError, match="unknown snippet directive 'sometimes'"):
        parsed(" sometimes")


def test_a_block_runs_after_exactly_the_blocks_it_needs():
    jobs = plan.plan(blocks("import math\n", "radius = 2\n", "print('alone')\n", "print(math.pi * radius ** 2)\n"))
    assert [[s.index for s in job.after] for job in jobs] == [[], [], [], [1, 2]]
    assert jobs[3].kinds == {1: "python", 2: "python", 4: "python"}


def test_continue_runs_after_the_previous_block_whatever_it_defines():
    jobs = plan.plan(blocks("x = 1\n", "print('a')\n", "print('b')\n", d3=Directives(session=True)))
    assert [s.index for s in jobs[2].after] == [2]


def test_a_plain_block_after_a_program_may_show_its_output():
    jobs = plan.plan(blocks("print('hi')\n", "hi\n", "print('x')\n", langs={2: None}))
    assert jobs[1].shows is jobs[0].snippet and not jobs[1].output_expected
    assert jobs[2].shows is None


def test_output_after_a_block_that_is_not_a_program_is_refused():
    said = Directives(output=True, lines=[7])
    with pytest.raises(PostError, match="`output` is for a Python program"):
        plan.plan(blocks('{"a": 1}\n', "anything\n", langs={1: "json", 2: None}, d1=said))


def test_a_coroutine_function_no_block_runs_is_attached_to_its_block():
    jobs = plan.plan(blocks("import asyncio\n\nasync def main():\n    pass\n", "print('no main here')\n"))
    assert jobs[0].unrun == [("main", 3)] and jobs[1].unrun == []


def test_sessions_are_planned_as_sessions_whatever_their_label():
    jobs = plan.plan(blocks("def f(x):\n    return x * 2\n", ">>> f(2)\n4\n"))
    assert jobs[1].kind == "pycon" and [s.index for s in jobs[1].after] == [1]
    assert [(e.source, e.want) for e in jobs[1].examples] == [("f(2)\n", "4\n")]


def test_the_download_of_a_block_that_needs_others_holds_them():
    jobs = plan.plan(blocks("import math\n", "print(math.tau)\n"))
    text = plan.download(jobs[1])
    assert text.index("import math") < text.index("print(math.tau)")
    assert "# --- block 01 of the post (line 5), which this one needs ---" in text
    assert plan.download(jobs[0]) == "import math\n"


class Env:  # what the cache key reads of an environment
    def __init__(self, key="e1", packages=None):
        self.key, self.packages, self.requirements = key, packages or {}, ()


def key(codes=("print(1)\n",), jailed=True, env=None, settings=Settings()) -> str:
    job = plan.plan(blocks(*codes), settings)[-1]
    job.env = env or Env()
    return cache.key(job, jailed)


def test_the_cache_key_follows_everything_a_result_depends_on():
    base = key()
    assert key() == base
    assert key(("print(2)\n",)) != base
    assert key(jailed=False) != base
    assert key(env=Env(packages={"numpy": "2.0"})) != base
    assert key(settings=Settings(timeout=5)) != base
    assert key(("x = 1\n", "print(x)\n")) != key(("x = 2\n", "print(x)\n"))  # a block it needs changed


def test_diagnostics_name_the_pitfall_and_its_line():
    found = [{"kind": "warning", "category": "RuntimeWarning", "filename": "/home/snippet/01.py", "lineno": 4,
              "message": "coroutine 'fetch' was never awaited\nCoroutine created at (most recent call last)\n"
                         '  File "/home/snippet/01.py", line 7, in main\n    fetch()\n'},
             {"kind": "asyncio", "level": "WARNING", "traceback": "",
              "message": "Executing <Task pending name='Task-1' coro=<main() running at /home/snippet/01.py:5>> "
                         "took 0.301 seconds"}]
    first, second = diagnostics.problems(found, 0.1)
    assert first.reason.startswith("coroutine 'fetch' was never awaited") and (first.file, first.line) == ("01.py", 7)
    assert second.reason.startswith("blocked the event loop for 0.301 s in coroutine main()") and second.line == 5


def test_an_exception_group_is_named_with_its_first_error():
    stderr = ("  + Exception Group Traceback (most recent call last):\n"
              "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
              "  +-+---------------- 1 ----------------\n"
              "    | Traceback (most recent call last):\n"
              "    | ValueError: boom\n")
    assert diagnostics.exception_line(stderr) == \
        "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception): ValueError: boom"
