"""The blogger's loop, end to end with real Jekyll, pytest and subprocesses: extract, verify, build."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from sites import invoke, make_site, post

LOCK_OUTPUT = "".join(f"Task Task {i}: {verb} lock\n" for i in range(3) for verb in ("acquiring", "releasing"))

MIXED = post("Mixed", """\
Some prose.

```python
import asyncio

async def main():
    print("hello from", __name__)

if __name__ == "__main__":
    asyncio.run(main())
```

~~~json
{"retries": 3}
~~~

1. A list item with a fence:

   ```bash
   echo "not executed"
   ```

Back to prose, then an indented block:

    plain indented text block

{% comment %}
```python
raise SystemExit("never extracted")
```
{% endcomment %}
""")

FAILING = post("Failing", """\
Intro.

```python
import asyncio

async def main():
    results = await asyncio.gather(asyncio.sleep(0, 1))
    print(reslts)

asyncio.run(main())
```
""")


def tree_digest(folder: Path) -> str:
    """A fingerprint of every file's path, bytes and mode below `folder`."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes() + str(path.stat().st_mode).encode())
    return digest.hexdigest()


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "blog", {"2024-02-01-mixed.md": MIXED})


def test_invoke_list_documents_every_task(site):
    listed = invoke(site, "--list").stdout
    for name in ("setup", "extract", "test-snippets", "build", "serve", "test"):
        assert re.search(rf"^\s+{name}\s+\S", listed, re.M), listed
    helped = invoke(site, "--help", "test-snippets").stdout
    for flag in ("--post", "--timeout", "--update", "--jobs"):
        assert flag in helped


def test_extract_writes_one_file_per_code_block_in_page_order(site):
    before = (site / "_posts" / "2024-02-01-mixed.md").read_bytes()
    done = invoke(site, "extract")
    assert done.returncode == 0, done.stderr
    folder = site / "snippets" / "2024-02-01-mixed"
    assert sorted(p.name for p in folder.iterdir()) == ["01.py", "02.json", "03.sh", "04.txt"]
    assert (folder / "02.json").read_text() == '{"retries": 3}\n'
    assert (folder / "03.sh").read_text() == 'echo "not executed"\n'
    assert (folder / "04.txt").read_text() == "plain indented text block\n"
    assert "never extracted" not in "".join(p.read_text() for p in folder.iterdir())
    assert (site / "_posts" / "2024-02-01-mixed.md").read_bytes() == before


def test_extract_removes_stale_snippets(site):
    invoke(site, "extract")
    stale = site / "snippets" / "2024-02-01-mixed" / "07.py"
    stale.write_text("print('old')\n")
    gone = site / "snippets" / "2023-01-01-deleted-post"
    gone.mkdir()
    (gone / "01.py").write_text("pass\n")
    assert invoke(site, "extract").returncode == 0
    assert not stale.exists() and not gone.exists()


def test_snippet_runs_as_main_in_a_temporary_folder_and_its_output_is_recorded(site):
    done = invoke(site, "test-snippets")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = site / "snippets" / "2024-02-01-mixed"
    assert (folder / "01.out").read_text() == "hello from __main__\n"
    assert "2024-02-01-mixed.md: 3 verified, 0 failed, 0 skipped, 1 shown, not verified" in done.stdout


def test_each_snippet_is_a_pytest_item_named_by_post_and_line(site):
    invoke(site, "extract")
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "pytest", "_posts", "--collect-only", "-q"], cwd=site,
                          capture_output=True, text=True)
    assert "_posts/2024-02-01-mixed.md::01.py:8" in done.stdout, done.stdout
    assert "_posts/2024-02-01-mixed.md::02.json:18" in done.stdout


def test_a_changed_output_fails_with_a_diff_until_updated(site):
    assert invoke(site, "test-snippets").returncode == 0
    recorded = site / "snippets" / "2024-02-01-mixed" / "01.out"
    recorded.write_text("hello from somewhere else\n")
    done = invoke(site, "test-snippets")
    assert done.returncode == 1
    assert "-hello from somewhere else" in done.stdout and "+hello from __main__" in done.stdout
    assert invoke(site, "test-snippets", "--update").returncode == 0
    assert recorded.read_text() == "hello from __main__\n"


def test_a_failing_snippet_names_the_post_line_that_raised(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-02-02-failing.md": FAILING})
    done = invoke(site, "test-snippets")
    assert done.returncode == 1
    # line 12 of the post is `print(reslts)`, inside the block
    assert "_posts/2024-02-02-failing.md:12: NameError: name 'reslts' is not defined" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_failing_snippet_shows_the_end_of_what_it_printed(tmp_path):
    code = "```python\nfor n in range(40):\n    print('line', n)\nraise ValueError('late')\n```\n"
    site = make_site(tmp_path / "blog", {"2024-02-06-prints.md": post("Prints", code)})
    done = invoke(site, "test-snippets")
    assert done.returncode == 1
    assert "_posts/2024-02-06-prints.md:8: ValueError: late" in done.stdout, done.stdout
    shown = done.stdout.split("\nstdout:\n", 1)[-1]
    assert shown.startswith("line 15\n") and "line 39\n" in shown and "line 14\n" not in shown, done.stdout


def test_a_failing_snippets_warnings_name_the_post_line_too(tmp_path):
    code = "```python\nimport warnings\nwarnings.warn('the old way', DeprecationWarning)\nraise SystemExit(3)\n```\n"
    site = make_site(tmp_path / "blog", {"2024-02-02-warned.md": post("Warned", code)})
    done = invoke(site, "test-snippets")
    assert done.returncode == 1
    assert "_posts/2024-02-02-warned.md:7: DeprecationWarning: the old way" in done.stdout, done.stdout[-2000:]
    assert "/home/snippet/01.py" not in done.stdout


FORGER = """```python
import json, os
shown = {os.readlink('/proc/self/fd/1'), os.readlink('/proc/self/fd/2')}
for name in os.listdir('/proc/self/fd'):
    try:
        if int(name) > 2 and os.readlink(f'/proc/self/fd/{name}').startswith('pipe:') \\
                and os.readlink(f'/proc/self/fd/{name}') not in shown:
            for forged in ({'kind': 'step', 'event': 'exit'}, {'kind': 'step', 'index': 1, 'file': '09.py',
                           'event': 'error'}, {'kind': 'warning', 'message': None}, {'kind': 'example'}):
                os.write(int(name), json.dumps(forged).encode() + b'\\n')
    except OSError:
        pass
print('forged')
```
"""


def test_reports_forged_by_a_snippet_do_not_break_the_verifier(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-02-02-forger.md": post("Forger", FORGER)})
    done = invoke(site, "test-snippets")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 verified" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_a_block_that_needs_one_that_did_not_compile_says_so_in_the_posts_terms(tmp_path):
    broken = ("```python\ndef total(rows):\n    return sum(rows)\n\nfor idx, row in enumerate([1, 2]:\n"
              "    print(idx, row)\n```\n\n```python\nprint(total([1, 2, 3]))\n```\n")
    site = make_site(tmp_path / "blog", {"2024-02-02-broken.md": post("Broken", broken)})
    assert invoke(site, "test-snippets").returncode == 1
    entries = json.loads((site / "reports" / "snippets.json").read_text())["snippets"]
    assert [(e["index"], e["status"], e["reason"]) for e in entries] == [
        (1, "failed", "SyntaxError: invalid syntax"),
        (2, "unverified", "needs block 01 (line 6), which failed: SyntaxError: invalid syntax")]


def test_a_hanging_snippet_times_out(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-02-03-hang.md": post("Hang", "```python\nwhile True:\n    pass\n```\n")})
    done = invoke(site, "test-snippets", "--timeout", "1")
    assert done.returncode == 1
    assert "_posts/2024-02-03-hang.md:6: timed out after 1 s" in done.stdout


def test_a_post_cannot_ask_for_more_time_than_the_command_line_gives(tmp_path):
    """A block's `timeout` directive raises the site's limit, but `--timeout` is the builder's word for the run:
    else a post could hold every build (a pull request's check, say) as long as it liked."""
    slow = "<!-- snippet: timeout 600 -->\n```python\nimport time\ntime.sleep(1.5)\nprint('slept')\n```\n"
    site = make_site(tmp_path / "blog", {"2024-02-03-slow.md": post("Slow", slow)})
    (site / "_config.yml").write_text((site / "_config.yml").read_text() + "\nsnippets:\n  timeout: 1\n")
    assert invoke(site, "test-snippets").returncode == 0  # the directive wins over the site's second
    done = invoke(site, "test-snippets", "--no-cache", "--timeout", "1")
    assert done.returncode == 1
    assert "_posts/2024-02-03-slow.md:7: timed out after 1 s (--timeout 1: its own `timeout 600` asks more)" \
        in done.stdout, done.stdout[-2000:]


OPENER = "import os, time\ntry:\n    while True:\n        os.open('/dev/null', os.O_RDONLY)\nexcept OSError:\n    time.sleep(30)\n"
PAST_A_LIMIT = {  # the block, the site's limit, what the report says at the block's first line
    "files and folders": ("import os\nmade = 0\nwhile True:\n    os.mkdir(f'/tmp/{made}')\n    made += 1\n", "disk: 4",
                          "disk limit (4 MB, 1024 files and folders): OSError: [Errno 28] No space left on device"),
    "a fork bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                    "processes: 32", "process limit (32 processes and threads): its processes reached it and were "
                    "stopped; start fewer processes or threads, or allow more"),  # at the limit, not at the timeout
    "a thread bomb": ("import threading, time\nwhile True:\n    try:\n        threading.Thread(target=time.sleep, "
                      "args=(60,), daemon=True).start()\n    except RuntimeError:\n        pass\n", "processes: 64",
                      "process limit (64 processes and threads): its processes reached it and were stopped; start "
                      "fewer processes or threads, or allow more"),
    "open files": ("import os, resource, sys\nhard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
                   "resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n"
                   "for _ in range(min(200, 70000 // hard + 2)):\n    if os.fork() == 0:\n"
                   f"        os.execv(sys.executable, [sys.executable, '-c', {OPENER!r}])\nos.wait()\n", "",
                   "open-file limit (65536 files open at once in all its processes): they were stopped; close the "
                   "files and sockets you no longer need"),
}


@pytest.mark.parametrize("what", PAST_A_LIMIT)
def test_a_snippet_past_a_limit_is_stopped_there_and_named(tmp_path, what):
    code, limit, said = PAST_A_LIMIT[what]
    site = make_site(tmp_path / "blog", {"2024-02-04-limited.md": post("Limited", f"```python\n{code}```\n")})
    (site / "_config.yml").write_text((site / "_config.yml").read_text() + f"\nsnippets:\n  {limit}\n" * bool(limit))
    done = invoke(site, "test-snippets", "--timeout", "30")
    assert done.returncode == 1
    assert f"_posts/2024-02-04-limited.md:6: {said}" in done.stdout, done.stdout[-2000:]


def test_build_publishes_the_seed_post_with_its_verified_output(tmp_path):
    site = make_site(tmp_path / "blog", seed=True)
    done = invoke(site, "build")
    assert done.returncode == 0, done.stdout + done.stderr
    page = (site / "_site/2024/06/03/asyncio-beyond-the-basics/index.html").read_text()
    assert "Verified with Python 3." in page
    assert 'class="highlight"' in page and '<span class="k">async</span>' in page
    assert (site / "_site/snippets/2024-06-03-asyncio-beyond-the-basics/01.py").read_text().startswith("import asyncio")
    assert (site / "snippets/2024-06-03-asyncio-beyond-the-basics/01.out").read_text() == LOCK_OUTPUT


def test_a_refused_build_leaves_the_published_site_byte_identical(tmp_path):
    site = make_site(tmp_path / "blog", seed=True)
    assert invoke(site, "build").returncode == 0
    before = tree_digest(site / "_site")
    (site / "_posts" / "2024-02-02-failing.md").write_text(FAILING)
    done = invoke(site, "build")
    assert done.returncode == 1
    assert "_posts/2024-02-02-failing.md:12: NameError" in done.stdout
    assert tree_digest(site / "_site") == before


@pytest.mark.parametrize("text, where, message", [
    (post("Open", "{% highlight python %}\nprint(1)\n"), ":5:", "'{% highlight %}' is never closed"),
    ("---\ntitle: [unclosed\n---\nText\n", ":", "front matter is not valid YAML"),
    ("No front matter here.\n", ":1:", "no front matter"),
    (post("Liquid", "```python\nprint(f'{{ name }}')\n```\n"), ":6:", "Liquid tags or {{ }} inside a code block"),
])
def test_a_malformed_post_is_refused_with_its_file_and_line(tmp_path, text, where, message):
    site = make_site(tmp_path / "blog", {"2024-02-04-bad.md": text})
    done = invoke(site, "build")
    assert done.returncode == 2
    assert f"_posts/2024-02-04-bad.md{where}" in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (site / "_site").exists()
