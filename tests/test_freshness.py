"""A run with nothing changed since the last one that passed says so and starts neither pytest nor the jail; any
change to what verification depends on (a post, the settings, a recorded output, a published file, the options)
runs it again, and so does every run after one that did not pass."""

import json
import os

import pytest

from sites import invoke, make_site, post
from snipcheck import freshness

PROGRAM = post("Hello", """
```python
print("hello")
```
""")
UNCHANGED = "Nothing changed since the last run"


@pytest.fixture
def site(tmp_path):
    blog = make_site(tmp_path / "blog", {"2024-03-01-hello.md": PROGRAM})
    first = invoke(blog, "test-snippets")
    assert first.returncode == 0 and "1 passed" in first.stdout, first.stdout + first.stderr
    return blog


def test_nothing_changed_says_so_without_pytest(site):
    again = invoke(site, "test-snippets")
    assert again.returncode == 0
    assert f"{UNCHANGED} (" in again.stdout and "): 1 verified. Its results stand" in again.stdout
    assert "passed" not in again.stdout and "test session starts" not in again.stdout


@pytest.mark.parametrize("change", ["post", "config", "recorded output", "published data", "download", "report",
                                    "requirements"])
def test_any_change_it_depends_on_runs_it_again(site, change):
    path = {"post": "_posts/2024-03-01-hello.md", "config": "_config.yml",
            "recorded output": "snippets/2024-03-01-hello/01.out", "download": "snippets/2024-03-01-hello/01.py",
            "report": "reports/snippets.json", "requirements": "snippets/requirements.txt"}.get(change)
    if change == "published data":
        next((site / "_data" / "snippets").rglob("*.json")).unlink()
    elif change == "requirements":
        (site / path).write_text("# nothing yet\n")
    else:
        os.utime(site / path, ns=(0, (site / path).stat().st_mtime_ns + 10 ** 9))
    again = invoke(site, "test-snippets")
    assert UNCHANGED not in again.stdout and "1 passed" in again.stdout, again.stdout + again.stderr


def test_other_options_run_it_again(site):
    for options in (["--timeout", "7"], ["--no-cache"], ["--update"], ["--timeline"]):
        again = invoke(site, "test-snippets", *options)
        assert UNCHANGED not in again.stdout and "1 passed" in again.stdout, (options, again.stdout)


def test_after_a_failure_nothing_is_taken_as_unchanged(site):
    post_file = site / "_posts" / "2024-03-01-hello.md"
    text = post_file.read_text()
    post_file.write_text(text.replace('print("hello")', 'raise SystemExit(3)'))
    assert invoke(site, "test-snippets").returncode == 1
    assert not (site / freshness.STAMP).exists()
    assert invoke(site, "test-snippets").returncode == 1  # and again: a failure is never "unchanged"


def test_an_input_changed_during_the_run_leaves_no_stamp(site, tmp_path):
    options = {"posts": [], "timeout": None, "no_jail": False}
    before = freshness.snapshot(site)
    post_file = site / "_posts" / "2024-03-01-hello.md"
    os.utime(post_file, ns=(0, post_file.stat().st_mtime_ns + 10 ** 9))  # an edit saved while it verified
    assert not freshness.record(site, options, before, {"verified": 1})
    assert freshness.unchanged(site, options) is None
    assert freshness.record(site, options, freshness.snapshot(site), {"verified": 1})
    assert freshness.unchanged(site, options) == {"summary": {"verified": 1}, "when": json.loads(
        (site / freshness.STAMP).read_text())["when"]}
