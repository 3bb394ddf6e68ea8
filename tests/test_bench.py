"""`invoke bench` measures what it says it measures: each tool really runs every snippet of the corpus, a run
that failed, ran fewer or hung is shown as such and never timed, and the memory sampler sees the whole process
tree. Benchmarks print numbers; no test here asserts a time."""

import re
import sys

import pytest

from sites import REPO
from snipcheck import bench, peers

FAILING = "---\nlayout: post\ntitle: Broken\n---\n```python\nresults = [1, 2]\nprint(reslts)\n```\n"


def test_pytests_closing_line_gives_the_counts():
    assert peers.summary("....\n200 passed in 0.52s\n") == {"passed": 200}
    assert peers.summary("=== 3 failed, 197 passed, 2 warnings, 1 error in 2.01s ===") == \
        {"failed": 3, "passed": 197, "error": 1}
    assert peers.summary("_posts/a.md: 2 verified, 0 failed\n2 passed in 0.1s\n") == {"passed": 2}
    assert peers.summary("no tests ran in 0.01s") == {}
    assert peers.summary("Traceback (most recent call last):\nImportError: no sybil") == {}


def test_only_a_run_where_every_snippet_passed_gets_a_time():
    assert peers.Run("x", 200, 1.5, 0, {"passed": 200}).cell() == "1.50 s (200)"
    assert peers.Run("x", 200, 1.5, 1, {"passed": 190, "failed": 10}).cell() == "FAILED 190/200"
    assert peers.Run("x", 200, 1.5, 0, {"passed": 150}).cell() == "ONLY 150/200"
    assert peers.Run("x", 200, 1.5, 0, {"passed": 199, "skipped": 1}).cell() == "ONLY 199/200"
    assert peers.Run("x", 200, 120.0, timed_out=True).cell() == "timeout >120 s"
    assert peers.Run("x", 200, missing=True).cell() == "not installed"
    assert peers.Run("jekyll", None, 1.25, 0).cell() == "1.25 s"


def test_the_corpus_has_the_snippets_asked_for():
    posts = bench.corpus(25, 10, 0)
    assert len(posts) == 3
    assert sum(text.count("```python") for text in posts.values()) == 25
    assert "asyncio.sleep(0)" in next(iter(posts.values()))
    assert "asyncio.sleep(1.5)" in next(iter(bench.corpus(1, 10, 1.5).values()))


@pytest.mark.parametrize("tool", [peers.ours("invoke"), peers.ours("pytest"), *peers.PEERS],
                         ids=["ours-invoke", "ours-pytest", *(t.name for t in peers.PEERS)])
def test_each_tool_runs_every_snippet_and_shows_a_failure_as_one(tool, tmp_path):
    site = bench.blog(REPO, tmp_path / "good", bench.corpus(5, 3, 0))
    done = peers.run(tool, site, 5, timeout=120)
    assert done.ok, done.problem()
    assert done.counts == {"passed": 5}

    broken = bench.blog(REPO, tmp_path / "broken", {**bench.corpus(2, 2, 0), "2024-02-01-broken.md": FAILING})
    done = peers.run(tool, broken, 3, timeout=120)
    assert not done.ok
    assert done.cell() == "FAILED 2/3", done.problem()
    assert "exit 1" in done.problem()


def test_a_command_past_its_timeout_is_stopped_and_shown_as_timed_out(tmp_path):
    sleeper = peers.Tool("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], "")
    done = peers.run(sleeper, tmp_path, None, timeout=1)
    assert done.timed_out and not done.ok
    assert done.cell() == "timeout >1 s"


def test_memory_is_summed_over_the_whole_process_tree(tmp_path):
    child = "import time; data = b'x' * (20 << 20); time.sleep(1.5)"  # 20 MB really written
    parent = (f"import subprocess, sys; children = [subprocess.Popen([sys.executable, '-c', {child!r}]) "
              "for _ in range(2)]; [c.wait() for c in children]")
    memory = bench.TreeMemory()
    peers.run(peers.Tool("tree", [sys.executable, "-c", parent], ""), tmp_path, None, timeout=60,
              watch=memory.watch)
    memory.stop()
    assert max(len(sample) for sample in memory.samples) == 3
    assert max(sum(kb for _, kb in sample.values()) for sample in memory.samples) > 40 * 1024
    report = "\n".join(memory.report("parent"))
    assert "3 processes" in report and "under it 2 processes" in report


def test_the_bench_prints_every_row_with_what_each_tool_ran(tmp_path):
    printed = []
    bench.run(REPO, posts=1, snippets=2, sleepers=2, sleep=0.1, timeout=120, say=printed.append)
    text = "\n".join(printed)

    def row(what: str) -> str:
        found = next((line for line in printed if what in line), None)
        assert found is not None, f"no row {what!r} in:\n{text}"
        return found

    assert "Sybil" in text and "pytest-markdown-docs" in text and "cores" in text
    # ours, Sybil and pytest-markdown-docs each ran both snippets
    assert row("2 trivial asyncio snippets, cold").count("(2)") == 3, text
    assert row("2 snippets sleeping 0.1 s, cold").count("(2)") == 3, text
    for what in ("kramdown's cache kept", "warm (nothing changed)", "posts touched", "serial",
                 "bare `bundle exec jekyll build`", "warm `invoke build`", "the seed post, cold", "the seed post, warm",
                 "floor: one snippet sleeping 0.1 s, cold", "`invoke --list`"):
        assert re.search(r"\d+\.\d\d s", row(what)), row(what)
    assert "MB PSS in all" in text
    assert "Seed post page, gzipped" in text
    assert re.search(r"Floor: one snippet sleeping 0.1 s takes \d+\.\d\d s cold, so 2 of them cannot take less", text), text
    assert "Runs that failed" not in text, text
