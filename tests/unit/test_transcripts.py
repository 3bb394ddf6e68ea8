"""Sessions become steps: `>>>` sessions as doctest examples, IPython cells with what they printed, and shell
transcripts as the commands `bash -n` reads, each with its line in the block."""

import doctest

from snipcheck.transcripts import console, ipython, pycon


# --- `>>>` sessions ---------------------------------------------------------------------------------------------

def test_a_session_is_its_examples_with_what_each_shows():
    steps = pycon(">>> total = 2 + 2\n>>> total\n4\n>>> print('a')\na\n")
    assert [(s.source, s.want, s.line) for s in steps] == [
        ("total = 2 + 2\n", "", 1), ("total\n", "4\n", 2), ("print('a')\n", "a\n", 4)]


def test_continuation_lines_belong_to_the_example_and_output_ends_at_a_blank_line():
    steps = pycon(">>> for n in range(2):\n...     print(n)\n0\n1\n\nThat was it.\n")
    assert [(s.source, s.want, s.line) for s in steps] == [("for n in range(2):\n    print(n)\n", "0\n1\n", 1)]


def test_prose_between_examples_is_not_run():
    steps = pycon("First we make one:\n\n>>> x = [3, 1]\n\nThen we sort it, which gives:\n\n>>> sorted(x)\n[1, 3]\n")
    assert [(s.source, s.line) for s in steps] == [("x = [3, 1]\n", 3), ("sorted(x)\n", 7)]


def test_a_shown_traceback_is_the_exception_doctest_compares():
    (step,) = pycon(">>> 1 / 0\nTraceback (most recent call last):\n  ...\nZeroDivisionError: division by zero\n")
    assert step.exc_msg == "ZeroDivisionError: division by zero\n"


def test_doctest_options_are_read():
    (step,) = pycon(">>> list(range(20))  # doctest: +ELLIPSIS\n[0, 1, ..., 19]\n")
    assert step.options == {doctest.ELLIPSIS: True}


def test_an_unknown_option_does_not_lose_the_example():
    (step,) = pycon(">>> 1  # doctest: +NO_SUCH_OPTION\n1\n")
    assert (step.source, step.want, step.options) == ("1  # doctest: +NO_SUCH_OPTION\n", "1\n", {})


def test_a_prompt_without_its_blank_is_forgiven():
    steps = pycon(">>>x = 1\n>>> for i in [x]:\n...print(i)\n1\n")
    assert [(s.source, s.want) for s in steps] == [("x = 1\n", ""), ("for i in [x]:\nprint(i)\n", "1\n")]


def test_a_prompt_on_a_line_that_continues_a_statement_joins_it():
    steps = pycon(">>> options = {'a': 1,\n>>>            'b': 2}\n>>> sorted(options)\n['a', 'b']\n")
    assert [(s.source, s.line) for s in steps] == [("options = {'a': 1,\n           'b': 2}\n", 1),
                                                   ("sorted(options)\n", 3)]


def test_code_written_without_prompts_between_examples_runs_first():
    block = "import math\nradius = 2\n\n# Before\n>>> round(math.pi * radius)\n6\n"
    steps = pycon(block)
    assert [(s.source, s.want, s.line) for s in steps] == [
        ("import math\nradius = 2\n\n# Before\n", "", 1), ("round(math.pi * radius)\n", "6\n", 5)]


def test_prose_that_merely_parses_is_not_taken_for_code():
    assert [s.source for s in pycon("Note\n\n>>> 1\n1\n\nprint the result\n")] == ["1\n"]


def test_an_indented_session_is_read_like_an_unindented_one():
    (step,) = pycon("    >>> 'a' * 2\n    'aa'\n")
    assert (step.source, step.want) == ("'a' * 2\n", "'aa'\n")


def test_examples_become_doctest_examples_at_their_line():
    (step,) = pycon("Intro\n>>> 1 + 1\n2\n")
    example = step.doctest()
    assert (example.source, example.want, example.lineno) == ("1 + 1\n", "2\n", 1)


# --- IPython cells ------------------------------------------------------------------------------------------------

def test_a_cell_shows_what_it_printed_then_its_out_value():
    block = "In [1]: x = 21\n\nIn [2]: print('doubling'); x * 2\ndoubling\nOut[2]: 42\n\nIn [3]: x\nOut[3]: 21\n"
    steps = ipython(block)
    assert [(s.source, s.want, s.line, s.kind) for s in steps] == [
        ("x = 21\n", "", 1, "code"), ("print('doubling'); x * 2\n", "doubling\n42\n", 3, "code"),
        ("x\n", "21\n", 7, "code")]


def test_continuation_lines_and_a_long_out_value_on_its_own_lines():
    block = ("In [4]: def pair(n):\n   ...:     return {'n': n,\n   ...:             'sq': n * n}\n   ...:\n\n"
             "In [5]: pair(3)\nOut[5]:\n{'n': 3,\n 'sq': 9}\n")
    first, second = ipython(block)
    assert first.source == "def pair(n):\n    return {'n': n,\n            'sq': n * n}\n"
    assert (second.want, second.line) == ("{'n': 3,\n 'sq': 9}\n", 6)


def test_timeit_runs_its_statement_once_and_never_compares_timings():
    block = ("In [1]: %timeit -n 100 -r 3 sorted(range(10))\n"
             "1.2 µs ± 3 ns per loop (mean ± std. dev. of 3 runs, 100 loops each)\n\n"
             "In [2]: %time sum(range(4))\nCPU times: user 5 µs, sys: 0 ns, total: 5 µs\nWall time: 7.2 µs\n"
             "Out[2]: 6\n")
    timeit, time = ipython(block)
    assert (timeit.kind, timeit.magic, timeit.source, timeit.want) == ("timeit", "%timeit", "sorted(range(10))\n", "")
    assert (time.kind, time.magic, time.source, time.want) == ("timeit", "%time", "sum(range(4))\n", "6\n")


def test_a_timed_cell_is_its_body():
    block = "In [3]: %%time\n...: squares = [i * i for i in range(5)]\n...: total = sum(squares)\n...:\n" \
            "CPU times: user 8 µs\nWall time: 9 µs\n"
    (step,) = ipython(block)
    assert (step.kind, step.magic, step.source, step.want) == (
        "timeit", "%%time", "squares = [i * i for i in range(5)]\ntotal = sum(squares)\n", "")


def test_other_magics_and_shell_escapes_are_named_and_not_run():
    block = "In [1]: %load_ext autoreload\n\nIn [2]: !pip install httpx\n\nIn [3]: files = !ls\n\n" \
            "In [4]: len?\n\nIn [5]: %%bash\n   ...: echo hi\nhi\n"
    assert [(s.kind, s.magic) for s in ipython(block)] == [
        ("magic", "%load_ext"), ("magic", "!pip"), ("magic", "!ls"), ("magic", "?"), ("magic", "%%bash")]


def test_ipython_code_without_prompts_is_one_cell():
    (step,) = ipython("import math\nmath.tau\n")
    assert (step.source, step.line, step.kind) == ("import math\nmath.tau\n", 1, "code")


# --- shell transcripts --------------------------------------------------------------------------------------------

def test_a_transcript_is_its_commands_and_output_is_dropped():
    script = console("$ echo hello\nhello\n$ ls /tmp\nfile.txt\nother.txt\n")
    assert script.text == "echo hello\nls /tmp\n"
    assert [script.block_line(n) for n in (1, 2)] == [1, 3]


def test_secondary_prompts_continue_a_command():
    script = console("$ for name in a b; do\n>   echo \"$name\"\n> done\na\nb\n")
    assert script.text == "for name in a b; do\n  echo \"$name\"\ndone\n"
    assert script.lines == [1, 2, 3]


def test_a_trailing_backslash_continues_a_command_with_or_without_a_prompt():
    script = console("$ docker run \\\n    --rm \\\n> alpine true\nDone.\n")
    assert script.text == "docker run \\\n    --rm \\\nalpine true\n"
    assert script.lines == [1, 2, 3]


def test_prompts_people_use():
    block = "(venv) $ pip install httpx\nuser@box:~/site$ git status\n» mypy app.py\n❯ make\n% brew install zsh\n"
    assert console(block).text == "pip install httpx\ngit status\nmypy app.py\nmake\nbrew install zsh\n"


def test_an_output_line_that_starts_with_a_quote_mark_is_not_a_command():
    script = console("$ cat notes.md\n# Notes\n\n> a quoted line\n$ true\n")
    assert script.text == "cat notes.md\ntrue\n"


def test_a_transcript_without_any_prompt_has_no_commands():
    assert console("pip install httpx\nCollecting httpx\n") is None
    assert console("$HOME is where we start\n") is None
