"""A post reads like a notebook: a block runs after exactly the earlier blocks that define the names it uses,
found from the code. Definitions-only blocks are fine; a coroutine function that no block runs is flagged."""

from snipcheck.names import definitions_only, is_empty, needs, unrun_coroutines


def post(*sources: str) -> list[tuple[int, str]]:
    return list(enumerate(sources, 1))


# --- which earlier blocks a block needs ---------------------------------------------------------------------------

def test_a_block_that_defines_everything_it_uses_needs_nothing():
    assert needs(post("import math\nprint(math.pi)\n", "total = sum([1, 2])\nprint(total)\n")) == {1: [], 2: []}


def test_a_notebook_chain_is_closed_transitively_in_page_order():
    found = needs(post("import random\nrandom.seed(1)\n",
                       "secret = random.randrange(10)\n",
                       "print('unrelated')\n",
                       "public = secret * 2\nprint(public)\n"))
    assert found == {1: [], 2: [1], 3: [], 4: [1, 2]}


def test_a_helper_used_three_blocks_later():
    found = needs(post("def slugify(title):\n    return title.lower().replace(' ', '-')\n",
                       "titles = ['A Post']\n", "print('aside')\n",
                       "print([slugify(t) for t in titles])\n"))
    assert found[4] == [1, 2]


def test_a_redefined_name_comes_from_the_latest_earlier_block():
    found = needs(post("LIMIT = 10\n", "LIMIT = 20\n", "print(LIMIT)\n", "LIMIT = LIMIT + 1\n", "print(LIMIT)\n"))
    assert found == {1: [], 2: [], 3: [2], 4: [2], 5: [2, 4]}


def test_names_bound_before_use_are_not_needs_but_names_used_first_are():
    assert needs(post("x = 1\n", "x = 2\nprint(x)\n"))[2] == []
    assert needs(post("x = 1\n", "print(x)\nx = 2\n"))[2] == [1]


def test_builtins_are_not_needs_unless_an_earlier_block_rebinds_them():
    assert needs(post("data = [3, 1]\n", "print(sorted(data), len(data), __name__)\n"))[2] == [1]
    assert needs(post("def print(*args):\n    pass\n", "print('hi')\n"))[2] == [1]


def test_names_used_in_function_bodies_count():
    found = needs(post("import time\n", "def wait(delay, func):\n    time.sleep(delay)\n    func()\n",
                       "wait(0, lambda: None)\n"))
    assert found == {1: [], 2: [1], 3: [1, 2]}


def test_a_function_may_use_a_name_its_own_block_defines_after_it():
    assert needs(post("helper = None\n", "def run():\n    return helper()\n\ndef helper():\n    return 1\n"))[2] == []


def test_a_called_function_finds_the_helpers_defined_after_it():
    """`deposit` is shown before the helpers it calls; the block that calls it needs them all."""
    found = needs(post("def deposit(amount):\n    check(amount)\n    return record(amount)\n",
                       "def check(amount):\n    assert amount > 0\n",
                       "def record(amount):\n    return LEDGER.append(amount)\n",
                       "LEDGER = []\n",
                       "deposit(5)\nprint(LEDGER)\n"))
    assert found[1] == []
    assert found[5] == [1, 2, 3, 4]


def test_a_helper_redefined_in_between_is_the_one_the_call_gets():
    found = needs(post("def helper():\n    return 1\n\ndef run():\n    return helper()\n",
                       "def helper():\n    return 2\n",
                       "print(run())\n"))
    assert found[3] == [1, 2]


def test_a_block_that_changes_what_a_needed_block_made_comes_with_it():
    found = needs(post("class Point:\n    def __init__(self, x):\n        self.x = x\n\nG = Point(1)\n",
                       "def add(self, other):\n    return Point(self.x + other.x)\n\nPoint.__add__ = add\n",
                       "print((G + G).x)\n",
                       "cache = {}\n", "cache['answer'] = 42\n", "del cache['answer']\n", "print(cache)\n",
                       "import random\n", "random.seed(1337)\n", "print(random.random())\n"))
    assert found[3] == [1, 2]  # the class was patched after G was made
    assert found[7] == [4, 5, 6]
    assert found[10] == [8, 9]


def test_a_change_after_a_rebinding_is_not_the_old_objects():
    found = needs(post("rows = []\n", "rows.append(1)\n", "rows = [0]\n", "print(rows)\n"))
    assert found[4] == [3]


def test_every_kind_of_binding_binds():
    found = needs(post(
        "import os.path\nfrom json import dumps as to_json\n",
        "first, *rest = [1, 2, 3]\n(a, b) = c = 4, 5\n",
        "for item in range(2):\n    pass\nwith open(os.devnull) as sink:\n    pass\n",
        "try:\n    1 / 0\nexcept ZeroDivisionError as error:\n    pass\n",
        "if (size := 3) > 2:\n    pass\n",
        "def remember():\n    global remembered\n    remembered = True\n",
        "class Config:\n    debug = False\n",
        "counter = 0\n",
        "counter += 1\n",
        "print(os, to_json, first, rest, a, b, c, item, sink, error, size, remembered, Config, counter)\n"))
    assert found[10] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert found[9] == [8]  # `+=` reads before it writes


def test_local_variables_comprehension_variables_and_parameters_are_not_needs():
    found = needs(post("x = 1\nn = 2\n",
                       "def f(x):\n    n = x + 1\n    return [x for x in range(n)]\n\n"
                       "squares = [n * n for n in range(3)]\n"))
    assert found[2] == []


def test_a_class_body_uses_module_names_at_once_and_its_methods_when_called():
    found = needs(post("BASE = object\n", "SCALE = 2\n",
                       "class Box(BASE):\n    def size(self):\n        return SCALE\n"))
    assert found[3] == [1, 2]


def test_attributes_and_keyword_arguments_are_not_names():
    assert needs(post("path = 'x'\nsep = ','\n", "import os\nprint(os.path, dict(sep=1))\n"))[2] == []


def test_assigning_an_attribute_or_item_uses_the_object():
    assert needs(post("settings = {}\n", "settings['debug'] = True\n"))[2] == [1]


def test_a_star_import_may_define_anything():
    found = needs(post("value = 1\n", "from math import *\n", "print(value, floor(2.5), len('x'))\n"))
    assert found[3] == [1, 2]


def test_a_block_that_does_not_parse_is_read_as_well_as_it_can():
    """Statements that parse are read exactly; the rest by its tokens (every name is taken as used)."""
    found = needs(post("import json\nrows = ['[1]']\nsource = 'disk'\n",
                       "def load(text):\n    return json.loads(text)\n\nprint 'loading from', source\n"
                       "result = load(rows[0]\n",
                       "print(result)\n"))
    assert found[2] == [1]
    assert found[3] == [1, 2]  # `result` is bound by a line that does not parse


def test_session_sources_count_like_any_other():
    found = needs(post("from fractions import Fraction\n", "third = Fraction(1, 3)\nthird * 3\n"))
    assert found[2] == [1]


# --- definitions-only blocks --------------------------------------------------------------------------------------

def test_definitions_only_blocks():
    assert definitions_only("import time\n\ndef wait(delay):\n    time.sleep(delay)\n")
    assert definitions_only('"""Helpers."""\nMAX = 1000.0\nNAMES = ("a", "b")\n\nclass Box:\n    pass\n')
    assert definitions_only("from collections import namedtuple\nPerson = namedtuple('Person', 'name email')\n")
    assert definitions_only("try:\n    import django\n    HAS_DJANGO = True\n"
                            "except ImportError:\n    HAS_DJANGO = False\n")
    assert definitions_only("import sys\nif sys.version_info >= (3, 8):\n    route = 'new'\nelse:\n    route = 'old'\n")


def test_blocks_that_do_something_are_not_definitions_only():
    assert not definitions_only("import logging\nlogging.basicConfig(level=logging.INFO)\n")
    assert not definitions_only("def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n")
    assert not definitions_only("rows = load_rows()\n")
    assert not definitions_only("def broken(:\n")
    assert not definitions_only("# only a comment\n")


def test_is_empty():
    assert is_empty("") and is_empty("\n  \n\t\n")
    assert not is_empty("# a comment\n")


# --- coroutine functions that nothing runs ------------------------------------------------------------------------

def test_a_main_that_no_block_runs_is_flagged_with_its_line():
    found = unrun_coroutines(post("import asyncio\n", "\nasync def main():\n    await asyncio.sleep(0)\n"))
    assert found == [(2, "main", 2)]


def test_a_coroutine_run_or_named_by_any_block_is_fine():
    assert unrun_coroutines(post("async def main():\n    pass\n", "import asyncio\nasyncio.run(main())\n")) == []
    assert unrun_coroutines(post("async def fetch(u):\n    return u\n\nasync def main():\n"
                                 "    return [await fetch(u) for u in 'ab']\n", "runner.main\n")) == []


def test_a_coroutine_referenced_only_in_a_block_that_does_not_parse_still_counts():
    assert unrun_coroutines(post("async def main():\n    pass\n", "print asyncio.run(main())\n")) == []


def test_methods_decorated_coroutines_and_dunders_are_left_to_their_callers():
    source = ("class Client:\n    async def fetch(self):\n        pass\n\n    async def __aenter__(self):\n"
              "        return self\n\n@app.get('/')\nasync def root():\n    return {}\n")
    assert unrun_coroutines(post(source)) == []


def test_a_nested_coroutine_nobody_awaits_is_flagged():
    source = ("async def main():\n    async def worker():\n        pass\n    return 1\n\n"
              "import asyncio\nasyncio.run(main())\n")
    assert unrun_coroutines(post(source)) == [(1, "worker", 2)]
