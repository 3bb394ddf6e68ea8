"""The timeline under an asyncio example shows what the event loop really did: each example below runs in the real
jail, recorded as the verifier records it, and its timeline is read against what the code does. Times vary a
little between runs, so they are checked loosely; names, what was waited on and the lines are checked exactly."""

import asyncio
import gzip
import re
from pathlib import Path

import pytest

from jail_runs import empty_env, request
from snipcheck import timeline
from snipcheck.find import find_snippets
from snipcheck.interpreter import Completed, Interpreter

SEED = Path(__file__).resolve().parent.parent / "_posts/2024-06-03-asyncio-beyond-the-basics.md"

SEMAPHORE = """\
import asyncio

async def download(n, limit):
    async with limit:
        await asyncio.sleep(0.4)
        return n

async def main():
    limit = asyncio.Semaphore(2)
    print(await asyncio.gather(*(download(n, limit) for n in range(4))))

asyncio.run(main())
"""
TO_THREAD = """\
import asyncio
import time

def blocking_io(seconds):
    time.sleep(seconds)
    return seconds

async def ticker():
    for _ in range(3):
        await asyncio.sleep(0.2)

async def main():
    print(await asyncio.gather(asyncio.to_thread(blocking_io, 0.6), ticker()))

asyncio.run(main())
"""
QUEUE = """\
import asyncio

async def producer(queue):
    for n in range(3):
        await asyncio.sleep(0.2)
        await queue.put(n)
    await queue.put(None)

async def consumer(queue):
    while (item := await queue.get()) is not None:
        print("got", item)

async def main():
    queue = asyncio.Queue()
    await asyncio.gather(producer(queue), consumer(queue))

asyncio.run(main())
"""
TASK_GROUP = """\
import asyncio

async def fetch(name, delay):
    await asyncio.sleep(delay)
    return name

async def main():
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(fetch("a", 0.2), name="fetch-a")
        b = tg.create_task(fetch("b", 0.4), name="fetch-b")
    print(a.result(), b.result())

asyncio.run(main())
"""
WAIT_FOR = """\
import asyncio

async def slow():
    await asyncio.sleep(5)

async def main():
    try:
        await asyncio.wait_for(slow(), timeout=0.3)
    except TimeoutError:
        print("timed out")

asyncio.run(main())
"""
CONDITION = """\
import asyncio

async def waiter(cond, name):
    async with cond:
        await cond.wait()
        print(name, "woke")

async def main():
    cond = asyncio.Condition()
    tasks = [asyncio.create_task(waiter(cond, n)) for n in ("a", "b")]
    await asyncio.sleep(0.3)
    async with cond:
        cond.notify_all()
    await asyncio.gather(*tasks)

asyncio.run(main())
"""
BLOCKED = """\
import asyncio
import time

async def main():
    time.sleep(0.4)
    await asyncio.sleep(0.1)

asyncio.run(main())
"""
DEFECTS = """\
import asyncio

async def fail():
    raise ValueError("boom")

async def fetch():
    return 1

async def main():
    fetch()
    task = asyncio.create_task(fail(), name="<b>&'fail")
    await asyncio.sleep(0.1)
    del task

asyncio.run(main())
"""
EXAMPLES = {"seed": find_snippets(SEED)[0].code, "semaphore": SEMAPHORE, "to_thread": TO_THREAD, "queue": QUEUE,
            "task_group": TASK_GROUP, "wait_for": WAIT_FOR, "condition": CONDITION, "blocked": BLOCKED,
            "defects": DEFECTS}


async def _run(env, codes: list[str], recording: bool) -> list[Completed]:
    interpreter = Interpreter(env.path)
    await interpreter.start()
    try:
        requests = [{**request(code), "timeline": recording} for code in codes]
        return await asyncio.gather(*(interpreter.run(r, {1: 20}) for r in requests))
    finally:
        await interpreter.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return empty_env(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def runs(env) -> dict[str, Completed]:
    """Every example, recorded, run at once (as the verifier runs a post's snippets)."""
    return dict(zip(EXAMPLES, asyncio.run(_run(env, list(EXAMPLES.values()), recording=True))))


@pytest.fixture(scope="module")
def timelines(runs) -> dict[str, dict]:
    return {name: timeline.of(run.events) for name, run in runs.items()}


def tasks(data: dict) -> dict[str, dict]:
    return {task["name"]: task for task in data["tasks"]}


def waits(task: dict, on: str) -> list[dict]:
    return [wait for wait in task["waits"] if wait["on"] == on]


def took(items: list[dict]) -> float:
    return sum(item.get("waited", item["end"] - item["start"]) for item in items)


def test_every_example_ran_as_it_does_without_the_timeline(runs):
    assert {name: run.returncode for name, run in runs.items()} == dict.fromkeys(EXAMPLES, 0)


def test_tasks_are_seen_as_they_are_made(timelines):
    seed = timelines["seed"]["tasks"]
    assert seed[1]["args"] == "'Task 0', …" and seed[1]["line"] == 13, \
        "is timeline.install() called at the end of hooks.patch_asyncio()?"


def test_the_seed_post_shows_three_tasks_taking_turns_with_the_lock(timelines):
    data = timelines["seed"]
    assert [(t["name"], t["coro"], t["args"]) for t in data["tasks"]] == [
        ("Task-1", "main", ""), ("Task-2", "my_coroutine", "'Task 0', …"),
        ("Task-3", "my_coroutine", "'Task 1', …"), ("Task-4", "my_coroutine", "'Task 2', …")]
    main, *workers = data["tasks"]
    assert [(w["on"], w["label"], w["line"]) for w in main["waits"]] == [("task", "gather(*tasks)", 13)]
    for turn, worker in enumerate(workers):
        held = [w for w in worker["waits"] if w["held"] == ["lock"]]
        assert [(w["on"], w["label"], w["line"]) for w in held] == [("sleep", "sleep(1)", 6)]
        assert held[0]["start"] == pytest.approx(turn, abs=0.2) and held[0]["end"] == pytest.approx(turn + 1, abs=0.2)
        assert took(waits(worker, "lock")) == pytest.approx(turn, abs=0.2)  # the others wait on it meanwhile
        assert all((w["label"], w["line"]) == ("lock", 4) for w in waits(worker, "lock"))
        assert worker["finished"] == pytest.approx(turn + 1, abs=0.2) and worker["state"] == "done"
    assert data["end"] == pytest.approx(3, abs=0.3)


def test_the_seed_figure_draws_each_turn_with_the_lock_after_the_last(timelines):
    figure = timeline.svg(timelines["seed"])
    bands = [float(x) for x in re.findall(r'<rect class="h" x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="3"', figure)]
    assert len(bands) == 3 and bands == sorted(bands)  # a staircase: one turn after another, evenly
    assert bands[1] - bands[0] == pytest.approx(bands[2] - bands[1], abs=8)
    assert "my_coroutine(&#x27;Task 1&#x27;, …)" in figure and ">lock<" in figure and ">sleep(1)<" in figure
    assert "holding lock" in timeline.describe(timelines["seed"])


def test_a_semaphore_lets_two_in_and_the_others_wait_for_it(timelines):
    workers = timelines["semaphore"]["tasks"][1:]
    waited = [took(waits(w, "lock")) for w in workers]
    assert sorted(waited) == pytest.approx([0, 0, 0.4, 0.4], abs=0.15)
    assert all(w["label"] == "limit" for t in workers for w in waits(t, "lock"))
    assert all(w["held"] == ["limit"] for t in workers for w in waits(t, "sleep"))


def test_a_thread_is_waited_on_while_the_loop_runs_on(timelines):
    data = timelines["to_thread"]
    pool = [t for t in data["tasks"] if t["coro"] == "to_thread"]
    assert len(pool) == 1 and pool[0]["args"] == "blocking_io"
    assert [(w["on"], w["label"]) for w in pool[0]["waits"]] == [("pool", "to_thread(blocking_io)")]
    assert took(pool[0]["waits"]) == pytest.approx(0.6, abs=0.15)
    ticker = next(t for t in data["tasks"] if t["coro"] == "ticker")
    assert sum(w.get("count", 1) for w in waits(ticker, "sleep")) == 3  # while the thread slept
    assert ticker["finished"] == pytest.approx(0.6, abs=0.15)


def test_a_consumer_waits_on_the_queue_its_producer_fills(timelines):
    consumer = next(t for t in timelines["queue"]["tasks"] if t["coro"] == "consumer")
    assert {(w["on"], w["label"], w["line"]) for w in consumer["waits"]} == {("queue", "queue.get()", 10)}
    assert took(consumer["waits"]) == pytest.approx(0.6, abs=0.15)


def test_a_task_group_waits_for_its_tasks_named_as_the_code_names_them(timelines):
    found = tasks(timelines["task_group"])
    assert [(w["on"], w["label"], w["line"]) for w in found["Task-1"]["waits"]] == [("task", "TaskGroup()", 8)]
    assert found["fetch-a"]["custom"] and found["fetch-a"]["args"] == "'a', 0.2"
    assert found["fetch-b"]["finished"] == pytest.approx(0.4, abs=0.15)
    assert "fetch-a" in timeline.svg(timelines["task_group"])


def test_wait_for_timing_out_cancels_the_task_it_waited_for(timelines):
    main, slow = timelines["wait_for"]["tasks"]
    assert main["waits"][0]["label"] == "wait_for(slow(), timeout=0.3)"
    assert slow["state"] == "cancelled" and slow["finished"] == pytest.approx(0.3, abs=0.15)
    assert "cancelled" in timeline.text(timelines["wait_for"])


def test_a_condition_is_waited_on_without_holding_its_lock(timelines):
    waiters = [t for t in timelines["condition"]["tasks"] if t["coro"] == "waiter"]
    assert [[(w["on"], w["label"], w["held"]) for w in t["waits"]] for t in waiters] == \
        [[("event", "cond.wait()", [])]] * 2


def test_a_blocked_loop_is_red_on_the_task_that_blocked_it_with_the_line(timelines):
    main = timelines["blocked"]["tasks"][0]
    assert len(main["blocked"]) == 1 and main["blocked"][0]["line"] == 5
    assert main["blocked"][0]["end"] - main["blocked"][0]["start"] == pytest.approx(0.4, abs=0.1)
    figure = timeline.svg(timelines["blocked"])
    assert '<rect class="b"' in figure and re.search(r"blocked \d+ ms at line 5", figure)  # (as long as it took)


def test_a_lost_exception_and_a_forgotten_await_are_marked(timelines):
    data = timelines["defects"]
    failed = tasks(data)["<b>&'fail"]
    assert failed["state"] == "error" and failed["error"] == "ValueError: boom" and failed["unretrieved"]
    assert data["notes"] == [{"text": "coroutine 'fetch' was never awaited", "line": 10}]
    figure = timeline.svg(data)
    assert "&lt;b&gt;&amp;&#x27;fail" in figure and "never retrieved" in figure and "never awaited" in figure


def test_each_figure_stays_small(timelines):
    for name, data in timelines.items():
        assert len(gzip.compress(timeline.svg(data).encode())) <= 3000, name


def test_recording_changes_nothing_a_snippet_shows(env, runs):
    plain = dict(zip(EXAMPLES, asyncio.run(_run(env, list(EXAMPLES.values()), recording=False))))
    for name, run in runs.items():
        assert (run.returncode, run.stdout) == (plain[name].returncode, plain[name].stdout), name
        if name != "blocked":  # its warning says how long it blocked, which varies
            assert run.stderr == plain[name].stderr, name
        assert [e["kind"] for e in run.events if e["kind"] != "timeline"] == [e["kind"] for e in plain[name].events]
    assert not any(e["kind"] == "timeline" for r in plain.values() for e in r.events)


def test_a_block_of_a_session_shows_only_what_it_started(env):
    """`continue`: earlier blocks run first in the same process; the figure under a block is that block's."""
    first = "import asyncio\n\nasync def nap(seconds):\n    await asyncio.sleep(seconds)\n\nasyncio.run(nap(0.3))\n"
    steps = [{"index": 1, "file": "01.py", "kind": "program", "code": first},
             {"index": 2, "file": "02.py", "kind": "program", "code": "asyncio.run(nap(0.1))\n", "own": True}]

    async def run():
        interpreter = Interpreter(env.path)
        await interpreter.start()
        try:
            return await interpreter.run({**request(""), "steps": steps, "timeline": True}, {1: 20, 2: 20})
        finally:
            await interpreter.close()
    events = asyncio.run(run()).events
    assert [t["step"] for t in timeline.of(events)["tasks"]] == ["01.py", "02.py"]
    data = timeline.of(events, step="02.py")
    assert [(t["coro"], t["args"], t["created"]) for t in data["tasks"]] == [("nap", "0.1", 0.0)]
    assert data["end"] == pytest.approx(0.1, abs=0.05)
    assert data["tasks"][0]["waits"][0]["line"] == 4  # the line in block 1 where it waits


def test_a_snippet_without_an_event_loop_has_no_timeline(env):
    run, = asyncio.run(_run(env, ["print('no loop')\n"], recording=True))
    assert timeline.of(run.events) is None
