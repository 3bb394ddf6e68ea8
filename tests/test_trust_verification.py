"""A "Verified" means the block ran as shown: hidden setup cannot end the run early, `output` cannot vouch for text
it never compared, each block sees its own argv, output with progress lines round-trips, exit statuses are what
the program returned, and a cached result is reused only when nothing it depends on changed."""

import json

import pytest

from sites import invoke, make_site, post

POSTS = {
    "2024-05-01-setup-exits.md": post("Setup that exits", """\
<!-- snippet: setup
raise SystemExit
-->
```python
print("the block itself")
```
"""),
    "2024-05-02-argparse.md": post("Command-line arguments", """\
<!-- snippet: setup
import argparse
-->
```python
parser = argparse.ArgumentParser()
parser.add_argument("--name", default="world")
print(parser.parse_args(), __import__("sys").argv)
```

<!-- snippet: continue -->
```python
print(parser.parse_args().name)
```
"""),
    "2024-05-03-progress.md": post("Progress", """\
```python
import sys
for percent in (10, 50, 100):
    sys.stdout.write(f"\\r{percent}%")
print()
```
"""),
    "2024-05-04-exit-130.md": post("An exit status above 128", """\
```python
import sys
sys.exit(130)
```
"""),
}


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("trust") / "blog", POSTS)
    done = invoke(site, "test-snippets", "--timeout", "10")
    report = json.loads((site / "reports" / "snippets.json").read_text())
    return site, done, {(e["post"].split("/")[-1], e["index"]): e for e in report["snippets"]}


def test_hidden_setup_that_ends_the_process_fails_the_block(checked):
    _, done, entries = checked
    entry = entries[("2024-05-01-setup-exits.md", 1)]
    assert entry["status"] == "failed" and "the hidden setup ended the process" in entry["reason"], entry
    assert entry["setup"] == "raise SystemExit\n"  # and the page can show it


def test_each_block_sees_its_own_argv(checked):
    _, _, entries = checked
    first, second = entries[("2024-05-02-argparse.md", 1)], entries[("2024-05-02-argparse.md", 2)]
    assert first["status"] == "verified" and first["output"] == "Namespace(name='world') ['01.py']\n", first
    assert second["status"] == "verified" and second["output"] == "world\n" and second["after"] == [1], second


def test_progress_lines_are_recorded_and_match_again(checked):
    site, _, entries = checked
    assert entries[("2024-05-03-progress.md", 1)]["status"] == "verified"
    recorded = site / "snippets" / "2024-05-03-progress" / "01.out"
    assert recorded.read_bytes() == b"\r10%\r50%\r100%\n"
    again = invoke(site, "test-snippets", "--post", "_posts/2024-05-03-progress.md", "--no-cache")
    assert again.returncode == 0, again.stdout


def test_an_exit_status_above_128_is_an_exit_status_not_a_signal(checked):
    _, _, entries = checked
    entry = entries[("2024-05-04-exit-130.md", 1)]
    assert entry["status"] == "failed" and entry["reason"] == "exit status 130", entry


def test_output_after_a_block_that_is_not_a_program_is_refused(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-05-05-json-output.md": post("JSON", """\
<!-- snippet: output -->
```json
{"a": 1}
```

```
anything at all
```
""")})
    done = invoke(site, "test-snippets")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "_posts/2024-05-05-json-output.md:5: `output` is for a Python program" in done.stderr


def test_a_network_result_is_never_cached_and_the_jail_mode_is_part_of_the_key(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-05-06-net.md": post("Net", """\
<!-- snippet: network -->
```python
print("may use the network")
```

```python
print("offline")
```
""")})
    assert invoke(site, "test-snippets").returncode == 0
    warm = invoke(site, "test-snippets")
    assert warm.stdout.count("VERIFIED (cached)") == 1 and "02.py:" in warm.stdout.split("VERIFIED (cached)")[0]
    unjailed = invoke(site, "test-snippets", "--no-jail")
    assert "cached" not in unjailed.stdout and "WITHOUT the jail" in unjailed.stdout, unjailed.stdout
    entries = json.loads((site / "reports" / "snippets.json").read_text())["snippets"]
    assert [e["jailed"] for e in entries] == [False, False]
