"""Adopting a blog whose posts do not all pass yet: a baseline lists today's failures, later runs fail only on new
ones, and the page never calls a listed block verified."""

import subprocess
import sys

import yaml

from sites import make_site, post

POSTS = {
    "2024-06-01-old.md": post("Old", """\
```python
print("fine")
```

```python
items = [1, 2]
print(itemz)
```

```python
import time
time.sleep(1.5)
print("slow")
```
"""),
}


def pytest_in(site, *args):
    return subprocess.run([sys.executable, "-m", "pytest", "_posts", "-p", "no:cacheprovider", *args], cwd=site,
                          capture_output=True, text=True, timeout=300)


def test_a_baseline_accepts_todays_failures_and_only_those(tmp_path):
    site = make_site(tmp_path / "blog", POSTS)
    assert pytest_in(site, "--snippet-timeout", "1").returncode == 1
    written = pytest_in(site, "--snippet-timeout", "1", "--snippet-write-baseline")
    assert written.returncode == 0, written.stdout[-2000:]
    listed = yaml.safe_load((site / "snippets" / "baseline.yml").read_text())
    first, second = listed["_posts/2024-06-01-old.md"]
    assert first["block"] == "02.py" and first["reason"].startswith("NameError: name 'itemz' is not defined")
    assert second["block"] == "03.py" and second["reason"] == "timed out after 1 s"

    accepted = pytest_in(site, "--snippet-timeout", "1")
    assert accepted.returncode == 0, accepted.stdout[-2000:]
    assert "2 known failures, accepted by snippets/baseline.yml" in accepted.stdout
    data = (site / "_data" / "snippets").glob("*.json")
    assert "a known failure, listed in snippets/baseline.yml" in "".join(p.read_text() for p in data)

    path = site / "_posts" / "2024-06-01-old.md"
    path.write_text(path.read_text().replace("print(itemz)", "print(itemz[0])"))  # edited: no longer known
    assert pytest_in(site, "--snippet-timeout", "1").returncode == 1

    fixed = pytest_in(site, "--snippet-timeout", "5")  # the slow block passes when given time
    assert "03.py passes now: remove it from snippets/baseline.yml" in fixed.stdout
