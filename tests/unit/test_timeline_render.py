"""The timeline of a run, drawn from what the run recorded: a static SVG that is safe, small and readable in light
and dark, a text table for the terminal, and words for screen readers — all rounded, so that a run a few
milliseconds slower reads the same."""

import copy
import gzip
import re
import xml.etree.ElementTree as ET

import pytest

from snipcheck import timeline

SVG = "{http://www.w3.org/2000/svg}"


def wait(start, end, on, label, line, held=()):
    return {"start": start, "end": end, "on": on, "label": label, "file": "01.py", "line": line, "held": list(held)}


def task(name, coro, args, created, finished, runs, waits=(), **more):
    return {"name": name, "coro": coro, "args": args, "custom": not re.fullmatch(r"Task-\d+", name), "file": "01.py",
            "line": 13, "created": created, "finished": finished, "state": "done", "error": None,
            "runs": [list(r) for r in runs], "waits": list(waits), "blocked": [], **more}


# The seed post's Lock example as a run recorded it (warm/timeline.py): three tasks take turns with the lock.
SEED = {"kind": "timeline", "version": 1, "end": 3.0089, "callbacks": [], "truncated": False, "tasks": [
    task("Task-1", "main", "", 0.0, 3.0089, [(0.0002, 0.0011), (3.0088, 3.0089)],
         [wait(0.0011, 3.0088, "task", "gather(*tasks)", 13)], line=17),
    task("Task-2", "my_coroutine", "'Task 0', …", 0.0008, 1.0046, [(0.0019, 0.0023), (1.0042, 1.0046)],
         [wait(0.0023, 1.0042, "sleep", "sleep(1)", 6, ["lock"])]),
    task("Task-3", "my_coroutine", "'Task 1', …", 0.0009, 2.0066,
         [(0.0023, 0.0025), (1.0046, 1.0048), (2.0064, 2.0066)],
         [wait(0.0025, 1.0046, "lock", "lock", 4), wait(1.0048, 2.0064, "sleep", "sleep(1)", 6, ["lock"])]),
    task("Task-4", "my_coroutine", "'Task 2', …", 0.001, 3.0087,
         [(0.0026, 0.0027), (2.0067, 2.0069), (3.0085, 3.0087)],
         [wait(0.0027, 2.0067, "lock", "lock", 4), wait(2.0069, 3.0085, "sleep", "sleep(1)", 6, ["lock"])])]}

BLOCKED = {"kind": "timeline", "version": 1, "end": 0.3526, "callbacks": [], "truncated": False, "tasks": [
    task("Task-1", "main", "", 0.0, 0.3526, [(0.0002, 0.3013), (0.3523, 0.3526)],
         [wait(0.3013, 0.3523, "sleep", "sleep(0.05)", 6)],
         blocked=[{"start": 0.0002, "end": 0.3013, "line": 5, "lines": [4, 6]}])]}

DEFECTS = {"version": 1, "end": 0.108, "callbacks": [], "truncated": False, "tasks": [
    task("Task-1", "main", "", 0.0, 0.108, [(0.0003, 0.0057), (0.107, 0.108)],
         [wait(0.0057, 0.107, "sleep", "sleep(0.1)", 12)]),
    task("<b>&'x\x01", "fail", "", 0.0056, 0.0065, [(0.0065, 0.0065)], state="error", error="ValueError: boom")]}

HOSTILE = "<script>alert('x')</script>&\x01\u202e]]>"


def parsed(figure: str) -> ET.Element:
    return ET.fromstring(figure)


def texts(figure: str, css: str | None = "any") -> list[str]:
    """The figure's words (those of one class: None for the rows' names, "s" for the labels in the bars)."""
    return ["".join(node.itertext()) for node in parsed(figure).iter(SVG + "text") if css in ("any", node.get("class"))]


def shifted(data: dict, by: float) -> dict:
    """The same run, every time after the start a little later (as a second run of it would be)."""
    moved = copy.deepcopy(data)
    def move(value):
        return round(value * (1 + by), 4) if isinstance(value, float) else value
    moved["end"] = move(moved["end"])
    for item in moved["tasks"]:
        item["created"], item["finished"] = move(item["created"]), move(item["finished"])
        item["runs"] = [[move(a), move(b)] for a, b in item["runs"]]
        for stretch in item["waits"] + item["blocked"]:
            stretch["start"], stretch["end"] = move(stretch["start"]), move(stretch["end"])
    return moved


# --- the figure --------------------------------------------------------------------------------------------------

def test_the_seed_figure_has_a_row_per_task_named_as_in_the_code():
    assert texts(timeline.svg(SEED), None) == ["main()", "my_coroutine('Task 0', …)", "my_coroutine('Task 1', …)",
                         "my_coroutine('Task 2', …)"]


def test_the_seed_figure_shows_the_lock_passed_from_task_to_task():
    figure = parsed(timeline.svg(SEED))
    bands = [(float(r.get("x")), float(r.get("width"))) for r in figure.iter(SVG + "rect")
             if r.get("class") == "h" and r.get("height") == "3"]
    assert len(bands) == 3  # one turn each with the lock, one after the other, each as long
    assert [left + width for left, width in bands[:2]] == pytest.approx([left for left, _ in bands[1:]], abs=1)
    assert max(w for _, w in bands) - min(w for _, w in bands) < 2
    waiting = [r for r in figure.iter(SVG + "rect") if r.get("class") == "lock"]
    assert [float(r.get("width")) for r in waiting[:2]] == pytest.approx([bands[0][1], 2 * bands[0][1]], abs=2)
    assert texts(timeline.svg(SEED), "s") == ["gather(*tasks)", "sleep(1)", "lock", "sleep(1)", "lock", "sleep(1)"]
    assert "holds lock" in texts(timeline.svg(SEED), "m s")  # in the legend


def test_waiting_is_drawn_apart_from_running():
    figure = parsed(timeline.svg(SEED))
    runs = [p for p in figure.iter(SVG + "path") if p.get("class") == "r"]
    assert len(runs) == 4 and all(p.get("stroke-width") == "12" for p in runs)  # full height
    bars = [r for r in figure.iter(SVG + "rect")
            if r.get("class") in ("sleep", "lock", "task") and r.get("width") != "8"]  # not the legend's
    assert len(bars) == 6 and {r.get("height") for r in bars} == {"9"}  # thinner


def test_the_figure_is_static_and_needs_nothing_from_the_page():
    figure = timeline.svg(SEED)
    root = parsed(figure)
    assert root.tag == SVG + "svg" and root.get("viewBox").startswith("0 0 300 ")
    assert not [n for n in root.iter() if n.tag in (SVG + "script", SVG + "foreignObject", SVG + "image")]
    assert "href" not in figure and "url(" not in figure and " on" not in figure.replace(" on ", "")
    assert "@media(prefers-color-scheme:dark)" in figure  # light and dark, inside the figure itself
    assert root.find(SVG + "title").text.startswith("Timeline of 4 tasks over 3 s.")


def test_names_from_the_snippet_are_escaped():
    data = copy.deepcopy(SEED)
    data["tasks"][1].update(name=HOSTILE, custom=True)
    data["tasks"][2]["waits"][0]["label"] = HOSTILE
    figure = timeline.svg(data)
    root = parsed(figure)  # still well-formed XML
    assert not [n for n in root.iter() if n.tag == SVG + "script"] and "<script" not in figure
    assert "<script>alert('x')</script>&??]]>" in texts(figure)
    assert "\x01" not in timeline.text(data) and "\u202e" not in timeline.describe(data)


def test_a_blocked_loop_is_a_red_stretch_with_its_line():
    figure = timeline.svg(BLOCKED)
    red = [r for r in parsed(figure).iter(SVG + "rect") if r.get("class") == "b" and r.get("height") == "14"]
    assert len(red) == 1 and float(red[0].get("width")) == pytest.approx(0.3011 / 0.3526 * 288, abs=1)
    assert "blocked 300 ms at line 5" in texts(figure)


def test_an_error_a_lost_exception_and_a_forgotten_await_are_marked():
    events = [{"kind": "timeline", **DEFECTS},
              {"kind": "warning", "category": "RuntimeWarning", "message": "coroutine 'fetch' was never awaited",
               "filename": "/home/snippet/01.py", "lineno": 10},
              {"kind": "asyncio", "level": "ERROR", "message": "Task exception was never retrieved\nfuture: <Task "
               "finished name=\"<b>&'x\\x01\" coro=<fail() done, defined at /home/snippet/01.py:3> exception=Value"
               "Error('boom')>", "traceback": "Traceback (most recent call last):\n  File \"/home/snippet/01.py\", "
               "line 4, in fail\n    raise ValueError(\"boom\")\nValueError: boom\n"}]
    data = timeline.of(events)
    assert data["tasks"][1]["unretrieved"] and data["notes"] == [
        {"text": "coroutine 'fetch' was never awaited", "line": 10}]
    shown = texts(timeline.svg(data))
    assert "ValueError: boom, never retrieved" in shown and "coroutine 'fetch' was never awaited (line 10)" in shown
    assert "failed with ValueError: boom, never retrieved" in timeline.describe(data)


def test_a_run_without_an_event_loop_has_no_timeline():
    assert timeline.of([{"kind": "step", "event": "start"}]) is None
    assert timeline.of([{"kind": "timeline", "version": 1, "end": 0, "tasks": [], "callbacks": []}]) is None


def test_a_busy_run_still_makes_a_small_figure():
    """Forty workers that each ran and waited on a queue a hundred times."""
    workers = [task(f"Task-{n}", "worker", f"{n}", 0.001 * n, 2.0,
                    [(0.02 * i + 0.001 * n, 0.02 * i + 0.001 * n + 0.0005) for i in range(100)],
                    [wait(0.02 * i + 0.001 * n + 0.0005, 0.02 * (i + 1) + 0.001 * n, "queue", "queue.get()", 9)
                     for i in range(100)]) for n in range(40)]
    data = {"version": 1, "end": 2.05, "tasks": workers, "callbacks": [], "truncated": False}
    figure = timeline.svg(data)
    assert len(gzip.compress(figure.encode())) <= 3000
    assert any(text.startswith("and ") and text.endswith(" more tasks") for text in texts(figure))


@pytest.mark.parametrize("data", [SEED, BLOCKED, {"version": 1, **DEFECTS}], ids=["seed", "blocked", "defects"])
def test_each_figure_weighs_at_most_3_kB_gzipped(data):
    assert len(gzip.compress(timeline.svg(data).encode())) <= 3000


# --- words ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, shown", [(0.0004, "<1 ms"), (0.0123, "12 ms"), (0.3013, "300 ms"), (1.0046, "1 s"),
                                            (1.46, "1.5 s"), (3.0089, "3 s"), (12.4, "12 s")])
def test_times_are_rounded_to_two_significant_digits(seconds, shown):
    assert timeline.seconds(seconds) == shown


def test_a_second_run_a_little_slower_reads_the_same():
    slower = shifted(SEED, 0.01)
    assert timeline.describe(slower) == timeline.describe(SEED)
    assert timeline.rows(slower) == timeline.rows(SEED)
    assert texts(timeline.svg(slower)) == texts(timeline.svg(SEED))


def test_the_description_says_who_waited_on_what():
    assert timeline.describe(SEED) == (
        "Timeline of 4 tasks over 3 s. main(): waited 3 s on gather(*tasks); finished at 3 s. "
        "my_coroutine('Task 0', …): slept 1 s holding lock; finished at 1 s. "
        "my_coroutine('Task 1', …): waited 1 s for lock; slept 1 s holding lock; finished at 2 s. "
        "my_coroutine('Task 2', …): waited 2 s for lock; slept 1 s holding lock; finished at 3 s.")
    assert "blocked the loop for 300 ms at line 5" in timeline.describe(BLOCKED)


def test_rows_for_a_table_beside_the_figure():
    assert timeline.rows(SEED)[2] == {"task": "my_coroutine('Task 1', …)", "name": "Task-3", "created": "<1 ms",
                                      "did": "waited 1 s for lock; slept 1 s holding lock",
                                      "outcome": "finished at 2 s"}


def test_the_terminal_table_draws_a_lane_per_task():
    shown = timeline.text(SEED).splitlines()
    lanes = {line.split("|")[0].strip(): line.split("|")[1] for line in shown if line.count("|") == 2}
    assert lanes["main()"] == "t" * 40
    assert lanes["my_coroutine('Task 1', …)"] == "l" * 13 + "S" * 14 + " " * 13  # capital: holding the lock
    last = lanes["my_coroutine('Task 2', …)"]
    assert last.startswith("l" * 26) and last.endswith("S")
    assert "Task-3 my_coroutine('Task 1', …): created at <1 ms, waited 1 s for lock" in timeline.text(SEED)
    assert timeline.text(BLOCKED).splitlines()[2].split("|")[1].startswith("!" * 30)


def test_waits_joined_by_the_recorder_count_as_they_came():
    data = copy.deepcopy(SEED)
    data["tasks"][1]["waits"][0].update(count=50, waited=0.9)
    assert timeline.rows(data)[1]["did"] == "slept 900 ms (50 times) holding lock"


# --- what the renderers accept -----------------------------------------------------------------------------------

def test_the_recorded_event_is_read_as_it_is_drawn():
    assert timeline.svg(timeline.of([{"kind": "step"}, SEED])) == timeline.svg(SEED)


@pytest.mark.parametrize("broken", [{"end": "soon"}, {"end": float("nan")}, {"tasks": [{"name": "x"}]},
                                    {"tasks": "many"}, {"callbacks": [{"start": -1, "end": 1}]}])
def test_an_event_the_recorder_did_not_write_draws_nothing(broken):
    """The snippet shares a process with the recorder, so it could write an event of its own."""
    assert timeline.of([{**SEED, **broken}]) is None


def test_what_a_wait_is_on_never_reaches_the_markup_unchecked():
    data = copy.deepcopy(SEED)
    data["tasks"][0]["waits"][0]["on"] = 'task"><script>alert(1)</script>'
    figure = timeline.svg(timeline.of([data]))
    assert "<script" not in figure and '<rect class="other"' in figure


def test_a_block_of_a_session_is_shown_from_its_own_start():
    earlier = task("Task-1", "nap", "0.3", 0.0, 0.31, [(0.0, 0.001), (0.3, 0.31)],
                   [wait(0.001, 0.3, "sleep", "sleep(seconds)", 4)], step="01.py")
    own = task("Task-2", "nap", "0.1", 0.5, 0.61, [(0.5, 0.501), (0.6, 0.61)],
               [wait(0.501, 0.6, "sleep", "sleep(seconds)", 4)], step="02.py")
    data = timeline.of([{"kind": "timeline", "version": 1, "end": 0.61, "tasks": [earlier, own], "callbacks": []}],
                       step="02.py")
    assert [(t["name"], t["created"], t["finished"]) for t in data["tasks"]] == [("Task-2", 0.0, 0.11)]
    assert data["end"] == 0.11 and data["tasks"][0]["waits"][0]["start"] == 0.001
