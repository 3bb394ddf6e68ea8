"""Verify only what changed, and run the rest at once: the result cache, xdist, Ctrl-C and the preview."""

import http.client
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sites import invoke, make_site, post

SLEEPY = post("Sleepy", "".join(f"""
```python
import asyncio

async def main():
    await asyncio.sleep(0.2)
    print("snippet {n} done")

asyncio.run(main())
```
""" for n in range(1, 4)))


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path / "blog", {"2024-03-01-sleepy.md": SLEEPY})


def statuses(site):
    return [line.split()[-2:] for line in invoke(site, "test-snippets").stdout.splitlines() if "::0" in line]


def test_a_warm_run_reruns_nothing_unchanged_and_says_so(site):
    first = invoke(site, "test-snippets")
    assert first.returncode == 0 and "cached" not in first.stdout
    (site / "_posts" / "2024-03-01-sleepy.md").touch()  # else nothing changed, and no pytest runs (test_freshness)
    second = invoke(site, "test-snippets")
    assert second.returncode == 0
    assert second.stdout.count("VERIFIED (cached)") == 3
    assert "3 verified (3 cached)" in second.stdout
    forced = invoke(site, "test-snippets", "--no-cache")
    assert "cached" not in forced.stdout and forced.stdout.count("VERIFIED") == 3


def test_editing_one_snippet_reruns_only_that_one(site):
    invoke(site, "test-snippets")
    path = site / "_posts" / "2024-03-01-sleepy.md"
    path.write_text(path.read_text().replace('print("snippet 2 done")', 'print("snippet 2 changed")'))
    done = invoke(site, "test-snippets", "--update")
    assert done.stdout.count("VERIFIED (cached)") == 2
    assert (site / "snippets/2024-03-01-sleepy/02.out").read_text() == "snippet 2 changed\n"


def test_a_changed_recorded_output_invalidates_the_cached_pass(site):
    invoke(site, "test-snippets")
    (site / "snippets/2024-03-01-sleepy/01.out").write_text("something else\n")
    done = invoke(site, "test-snippets")
    assert done.returncode == 1
    assert "_posts/2024-03-01-sleepy.md:7: output differs from the recorded output" in done.stdout


def test_the_page_date_is_when_the_result_was_produced(site):
    invoke(site, "test-snippets")
    data = site / "_data/snippets/2024-03-01-sleepy.json"
    entries = json.loads(data.read_text())["snippets"]
    cache = site / ".cache/snippets"
    for result in cache.glob("*.json"):  # pretend these results were produced long ago
        result.write_text(json.dumps({**json.loads(result.read_text()), "date": "2020-01-02"}))
    (site / "_posts" / "2024-03-01-sleepy.md").touch()  # a run that looks the results up again
    invoke(site, "test-snippets")
    assert {e["date"] for e in json.loads(data.read_text())["snippets"]} == {"2020-01-02"}
    assert all(e["status"] == "verified" for e in entries)


def test_posts_split_across_xdist_workers_publish_every_result(tmp_path):
    posts = {f"2024-03-0{n}-post-{n}.md": SLEEPY for n in range(1, 5)}
    site = make_site(tmp_path / "blog", posts)
    assert invoke(site, "extract").returncode == 0
    done = subprocess.run([sys.executable, "-m", "pytest", "_posts", "-n", "2", "--dist", "loadfile",
                           "-p", "no:cacheprovider"], cwd=site, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "12 passed" in done.stdout
    for name in posts:
        data = json.loads((site / "_data/snippets" / name.replace(".md", ".json")).read_text())
        assert [e["status"] for e in data["snippets"]] == ["verified"] * 3


def snippet_processes(marker: str) -> list[int]:
    """Processes running a snippet file (in their working directory) that holds `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cwd" / "01.py").read_text():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_ctrl_c_stops_every_snippet_and_says_so(tmp_path):
    marker = "sleeping-for-ctrl-c-test"
    site = make_site(tmp_path / "blog", {"2024-03-02-hang.md": post("Hang", f"""
```python
import time
time.sleep(120)  # {marker}
```
""")})
    run = subprocess.Popen([sys.executable, "-m", "invoke", "test-snippets"], cwd=site, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for _ in range(300):  # wait until the snippet runs
        if running := snippet_processes(marker):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the snippet never started")
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, out[-2000:] + err[-2000:]
    assert "Interrupted: every snippet process was stopped" in err, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    assert not snippet_processes(marker) and not any(Path(f"/proc/{pid}").exists() for pid in running)
    assert sorted(p.name for p in (site / "snippets/2024-03-02-hang").iterdir()) == ["01.py"]


def test_the_preview_reverifies_a_saved_post(site):
    port = 4000 + (hash(str(site)) % 500)
    server = subprocess.Popen([sys.executable, "-m", "invoke", "serve", "--port", str(port)], cwd=site,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/2024/03/01/sleepy/"

    def page(wanted, seconds=60):
        for _ in range(seconds * 4):
            try:
                text = urllib.request.urlopen(url, timeout=2).read().decode()
                if wanted in text:
                    return text
            except (OSError, http.client.HTTPException):  # not up yet, or mid-regeneration
                pass
            time.sleep(0.25)
        pytest.fail(f"the preview never showed {wanted!r}")

    try:
        assert page("Verified with Python").count("Verified with Python") == 3
        path = site / "_posts" / "2024-03-01-sleepy.md"
        path.write_text(path.read_text().replace('print("snippet 3 done")', 'raise RuntimeError("broken on save")'))
        shown = page("Failed: RuntimeError")
        assert shown.count("Verified with Python") == 2
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def test_blocks_with_the_same_code_each_run_once(tmp_path, monkeypatch):
    """Runs start before pytest does, and each item then takes its own: two blocks with the same code (in two
    posts) must not share one, nor leave one unused and start another."""
    from snipcheck import commands
    from snipcheck.runner import Runner
    same = '```python\nprint("the same in both posts")\n```\n'
    blog = make_site(tmp_path / "blog", {"2024-03-01-a.md": post("A", same), "2024-03-02-b.md": post("B", same)})
    started, verify = [], Runner.verify

    def counted(self, job, snippet_file, folder):
        started.append(Path(snippet_file).relative_to(blog).as_posix())
        return verify(self, job, snippet_file, folder)

    monkeypatch.setattr(Runner, "verify", counted)
    monkeypatch.chdir(blog)
    commands.test_snippets(blog, no_cache=True, extra=["-p", "no:cacheprovider", "-q"])
    assert sorted(started) == ["snippets/2024-03-01-a/01.py", "snippets/2024-03-02-b/01.py"]
    assert json.loads((blog / "reports" / "snippets.json").read_text())["snippets"][1]["status"] == "verified"
