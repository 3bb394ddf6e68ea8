"""Blocks are classified by what they are, not only by their label: sessions, transcripts, pasted output and
config files under a code label are recognised; a Python program — even a broken one — stays Python. A plain
block after a program is compared with what it printed only when it is plainly its output."""

import pytest

from snipcheck.classify import compare_output, kind, terminal

# --- Python programs stay Python -----------------------------------------------------------------------------------

PROGRAMS = {
    "a program": "import asyncio\n\nasync def main():\n    await asyncio.sleep(0)\n\nasyncio.run(main())\n",
    "top-level await": "import asyncio\nawait asyncio.sleep(0)\n",
    "a docstring with a session": 'def double(x):\n    """\n    >>> double(2)\n    4\n    """\n    return 2 * x\n',
    "definitions only": "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: int\n    y: int\n",
    "a program that prints log-like text": 'print("2024-01-01 12:00:00 INFO started")\nprint("ERROR: none")\n',
    "an expression": "{'loss': 'log', 'average': False}\n",
}


@pytest.mark.parametrize("code", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_what_compiles_is_a_program(code):
    assert kind("python", code).name == "python"


BROKEN = {
    "a def with a typo": "def greet(name)\n    return f'hello {name}'\n",
    "Python 2 print": "name = 'x'\nprint name\n",
    "an unclosed call": "result = compute(1,\n                 2\n",
    "an excerpt": "with transaction() as conn:\n    # do the work\n",
    "a broken template string": 'page = Template("{% for x in xs %}{{ x }}{% endfor %}"\nprint(page)\n',
}


@pytest.mark.parametrize("code", BROKEN.values(), ids=BROKEN.keys())
def test_broken_code_that_reads_as_code_stays_python_so_its_error_is_reported(code):
    assert kind("python", code) == kind("py", code)
    assert kind("python", code).name == "python"


# --- sessions, whatever the label ---------------------------------------------------------------------------------

SESSION = ">>> from fractions import Fraction\n>>> Fraction(1, 3) * 3\nFraction(1, 1)\n"


@pytest.mark.parametrize("lang", ["python", None, "text", "pycon", "python-console", "ipython"])
def test_a_doctest_session_is_pycon_whatever_the_label(lang):
    assert kind(lang, SESSION).name == "pycon"


def test_the_note_says_what_the_label_got_wrong():
    assert kind("python", SESSION).note == "labelled python, but it is a >>> session"
    assert kind("pycon", SESSION).note == ""


def test_code_then_a_session_in_one_block_is_a_session():
    assert kind("python", "import math\nr = 2\n\n>>> math.pi * r\n6.28...\n").name == "pycon"


IPYTHON = ("In [1]: import math\n\nIn [2]: %timeit math.sqrt(2)\n38.1 ns ± 0.2 ns per loop\n\n"
           "In [3]: math.e\nOut[3]: 2.718281828459045\n")


@pytest.mark.parametrize("lang", ["python", None, "ipython", "ipython3"])
def test_ipython_cells_are_ipython(lang):
    assert kind(lang, IPYTHON).name == "ipython"


def test_ipython_label_without_prompts_is_one_cell():
    assert kind("ipython", "%matplotlib inline\nimport math\n") == kind("ipython", "x = 1\n")
    assert kind("ipython", "x = 1\n").name == "ipython"


TRANSCRIPT = "$ python -m venv .venv\n$ .venv/bin/pip install httpx\nSuccessfully installed httpx-0.27.0\n"


@pytest.mark.parametrize("lang", ["bash", "sh", "shell", None, "console", "shell-session", "python"])
def test_a_dollar_transcript_is_a_console_session(lang):
    assert kind(lang, TRANSCRIPT).name == "console"
    assert kind(lang, TRANSCRIPT).shell == "bash"


def test_an_unlabelled_transcript_says_so():
    assert kind(None, TRANSCRIPT).note == "unlabelled, but it is a shell session"


def test_a_transcript_may_start_with_a_comment():
    assert kind("bash", "# set up\n$ make install\n").name == "console"


def test_a_transcript_in_a_text_block_stays_text():
    assert kind("text", TRANSCRIPT).name == "text"


def test_console_without_any_prompt_is_output_not_verified_with_nothing_checked():
    found = kind("console", "Collecting httpx\nSuccessfully installed httpx-0.27.0\n")
    assert found.name == "output"
    assert "no line has a prompt" in found.note


def test_console_that_is_a_python_session_is_pycon():
    assert kind("console", SESSION).name == "pycon"


def test_console_starting_a_python_repl_stays_console():
    assert kind("console", "$ python3\n>>> 1 + 1\n2\n").name == "console"


def test_pycon_label_without_prompts_is_output():
    assert kind("pycon", "Fraction(1, 1)\n").name == "output"


# --- shell scripts ------------------------------------------------------------------------------------------------

def test_a_shell_script_is_checked_in_its_own_shell():
    assert kind("bash", "set -eu\nfor f in *.md; do echo \"$f\"; done\n") == kind("sh", "true\n")
    assert kind("bash", "true\n").shell == "bash"
    assert kind("zsh", "setopt extendedglob\nprint -l **/*.md\n").shell == "zsh"
    assert kind("zsh", "true\n").name == "shell"


def test_shell_commands_under_a_python_label_are_shell():
    found = kind("python", "pip install httpx anyio\npython train.py\n")
    assert (found.name, found.note) == ("shell", "labelled python, but it is shell commands")
    assert kind("python", "python = 3 +\n").name == "python"


def test_a_script_setting_variables_named_like_log_levels_is_a_script():
    assert kind("bash", "ERROR=1\nINFO=2\necho \"$ERROR\"\n").name == "shell"


# --- output, logs, tracebacks and templates under a code label ----------------------------------------------------

TRACEBACK = ('Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    main()\n'
             "ZeroDivisionError: division by zero\n")
IPYTHON_TRACEBACK = ("---------------------------------------------------------------------------\n"
                     "ZeroDivisionError                         Traceback (most recent call last)\n"
                     "----> 1 div(1, 0)\n\nZeroDivisionError: division by zero\n")
LOG = ("2024-05-01 10:00:01,086 deposit $785.00 to account 1\n2024-05-01 10:00:01,094 withdraw error: bad PIN\n"
       "2024-05-01 10:00:01,103 deposit $230.00 to account 1\n")
STD_LOG = "INFO:root:starting\nWARNING:root:disk almost full\nINFO:root:done\n"
PIP = ("Collecting httpx\n  Downloading httpx-0.27.0-py3-none-any.whl (75 kB)\n"
       "Installing collected packages: httpx\nSuccessfully installed httpx-0.27.0\n")
PYTEST = ("============================= test session starts ==============================\n"
          "platform linux -- Python 3.11.7, pytest-8.0.0\nrootdir: /code\ncollected 2 items\n\n"
          "test_app.py ..                                                           [100%]\n\n"
          "============================== 2 passed in 0.02s ===============================\n")
PROMPTED_TOOL = "» mypy app.py\napp.py:3: error: Incompatible return value type (got \"bytes\", expected \"int\")\n"
JINJA = "<ul>\n{% for post in posts %}\n  <li>{{ post.title }}</li>\n{% endfor %}\n</ul>\n"
DJANGO = "{% extends 'base.html' %}\n{% block content %}\nHello {{ user.name }}\n{% endblock %}\n"
HTML = "<table>\n  <tr><td>Workers</td><td>4</td></tr>\n</table>\n"
INI = "[coverage:run]\n# plugins we use:\nplugins =\n  coverage_conditional_plugin\n\n[mypy]\nstrict = True\n"
REPR = "dask.array<negative, shape=(10,), dtype=int64, chunksize=(5,)>\n"
PROGRESS = "proc 46145: task 0 lasted 2.68 seconds\nproc 46146: task 0 lasted 3.13 seconds\n"

MISLABELLED = [
    ("python", TRACEBACK, "output", "a traceback"),
    ("python", "def div(x, y):\n    return x / y\n\ndiv(1, 0)\n" + TRACEBACK, "output", "a traceback"),
    ("python", IPYTHON_TRACEBACK, "output", "a traceback"),
    ("python", LOG, "output", "log output"),
    ("python", STD_LOG, "output", "log output"),
    ("python", PIP, "output", "pip output"),
    ("python", JINJA, "output", "a template"),
    ("python", DJANGO, "output", "a template"),
    ("python", HTML, "output", "markup"),
    ("python", INI, "output", "an INI file"),
    ("python", "[mypy]\nstrict = True\nwarn_unused_ignores = True\n", "output", "an INI file"),
    ("python", "services:\n  web:\n    image: nginx\n    ports:\n      - 80:80\n", "output", "a YAML file"),
    ("python", REPR, "output", "does not read as Python"),
    ("python", PROGRESS, "output", "does not read as Python"),
    ("python", PROMPTED_TOOL, "console", "a shell session"),
    ("python", '{"debug": true, "workers": null}\n', "json", "JSON"),
    ("bash", PIP, "output", "pip output"),
    ("bash", PYTEST, "output", "test-runner output"),
    ("sh", TRACEBACK, "output", "a traceback"),
    ("bash", LOG, "output", "log output"),
    ("yaml", INI, "output", "an INI file"),
    ("yaml", LOG, "output", "log output"),
    ("json", TRACEBACK, "output", "a traceback"),
]


@pytest.mark.parametrize("lang, code, name, what", MISLABELLED)
def test_what_a_mislabelled_block_really_is(lang, code, name, what):
    found = kind(lang, code)
    assert found.name == name
    assert found.note.startswith(f"labelled {lang}, but it ")
    assert what in found.note


def test_a_traceback_label_is_output():
    assert kind("pytb", TRACEBACK).name == kind("python-traceback", TRACEBACK).name == "output"


# --- data formats, plain text and empty blocks --------------------------------------------------------------------

@pytest.mark.parametrize("lang, code, name", [
    ("json", '{"a": [1, 2]}\n', "json"), ("yaml", "a:\n  - 1\n", "yaml"), ("yml", "a: 1\n", "yaml"),
    ("toml", "[tool.black]\nline-length = 100\n", "toml"), ("yaml", "not: [valid\n", "yaml"),
])
def test_data_formats_keep_their_checker_even_when_invalid(lang, code, name):
    assert kind(lang, code) == kind(lang.upper(), code)
    assert kind(lang, code).name == name


@pytest.mark.parametrize("lang, note", [
    (None, ""), ("text", ""), ("output", ""), ("sql", "no checker for sql"),
    ("sage", "no checker for sage"), ("bazel", "no checker for bazel"),
    ("python2", "labelled python2: Python 2 code is not run"),
])
def test_blocks_without_a_checker_are_text(lang, note):
    assert kind(lang, "SELECT 1;\nx = y\n") == kind(lang, "SELECT 1;\nx = y\n")
    found = kind(lang, "SELECT name FROM users;\n")
    assert (found.name, found.note) == ("text", note)


@pytest.mark.parametrize("lang", ["python", "bash", None, "json", "console"])
def test_an_empty_block_is_empty(lang):
    assert kind(lang, "\n  \n").name == "empty"


def test_a_python_block_of_only_comments_is_empty():
    assert kind("python", "# tasks.py\n# (nothing yet)\n").name == "empty"


# --- does the next block show what the program printed? -----------------------------------------------------------

def test_the_same_output_matches():
    assert compare_output("x: 1\ny: 2\n", "x: 1\ny: 2\n").name == "matches"


def test_dots_match_anything_and_whitespace_is_loose():
    printed = "step 1 | loss 3.36\nstep 2 | loss 3.42\nstep 3 | loss 3.17\n"
    assert compare_output(printed, "step 1 | loss 3.36\n...\n").name == "matches"
    assert compare_output("a  b\n\n", "a b").name == "matches"


def test_drift_in_output_that_resembles_the_printed_one_differs_with_a_diff():
    printed = "Generator IS on the curve:  True\nTotally random point is not:  False\n"
    shown = "Generator IS on the curve:  True\nTotally random point is not:  True\n"
    verdict = compare_output(printed, shown, lead_in="")
    assert verdict.name == "differs"
    assert "-Totally random point is not:  True" in verdict.diff
    assert "+Totally random point is not:  False" in verdict.diff
    assert verdict.diff.startswith("--- shown in the post\n+++ printed by the code")


def test_a_lead_in_that_says_output_lets_a_looser_resemblance_count():
    printed = "total: 42 items\n"
    shown = "total: 41 items (cached)\n"
    assert compare_output(printed, shown, "It prints:").name == "differs"
    assert compare_output(printed, shown, "Here is the config file:").name == "unrelated"


@pytest.mark.parametrize("lead_in", ["Output:", "This prints:", "Running it, you'll see", "which gives",
                                     "The result is:", "And we should see the following log records:"])
def test_lead_ins_that_say_output(lead_in):
    assert compare_output("count = 10\n", "count = 12\n", lead_in).name == "differs"


def test_text_that_is_not_output_is_never_called_different():
    printed = "Generator IS on the curve:  True\n"
    csv = "name,email,value\nJames,jh@example.org,a\nNancy,nancy@example.org,b\n"
    assert compare_output(printed, csv, "The output file looks like this:").name == "unrelated"
    assert compare_output(printed, csv, "").name == "unrelated"
    assert compare_output(printed, "1/245: Whitelist gmail.com?\n", "").name == "unrelated"


def test_a_program_that_prints_nothing_shows_no_output():
    verdict = compare_output("", "Mr. Sharif Lehner,keion@example.org\n", "It prints:")
    assert (verdict.name, verdict.note) == ("unrelated", "the code prints nothing")


def test_a_block_of_only_dots_is_nothing_to_compare():
    assert compare_output("anything\n", "...\n").name == "unrelated"


def test_only_the_last_paragraph_of_the_lead_in_counts():
    lead_in = "The output of this program is long.\n\nHere is a different file:"
    assert compare_output("total: 42 items\n", "total: 41 items (cached)\n", lead_in).name == "unrelated"


def test_progress_lines_are_read_as_a_terminal_shows_them():
    printed = "downloading  10%\rdownloading  55%\rdownloading 100%\ndone\n"
    assert compare_output(printed, "downloading 100%\ndone\n").name == "matches"
    assert terminal("abcdef\rXY\n") == "XYcdef"
    assert terminal("\x1b[32mgreen\x1b[0m  \nab\bc\r\n") == "green\nac"
