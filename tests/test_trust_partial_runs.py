"""Partial runs (`-k`, `--post`) never shrink the page's data: results merge with what is there, and the
results of a deleted post go. After each, the site still builds with every block verified."""

import json
import subprocess
import sys

from jekyll_panels import read_page
from sites import invoke, make_site, post
from snipcheck.publish import data_file
from snipcheck.site import Build

TWO = post("Two", "```python\nprint('one')\n```\n\n```python\nprint('two')\n```\n")
ONE = post("One", "```python\nprint('alone')\n```\n")


def data(site, name):
    return json.loads(data_file(site, site / "_posts" / name).read_text())


def statuses(site, name):
    return [(b["index"], b["status"]) for b in data(site, name)["snippets"]]


def test_partial_runs_merge_and_a_deleted_posts_results_go(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-10-01-two.md": TWO, "2024-10-02-one.md": ONE})
    assert invoke(site, "build").returncode == 0
    full = statuses(site, "2024-10-01-two.md")
    assert full == [(1, "verified"), (2, "verified")]

    done = subprocess.run([sys.executable, "-m", "pytest", "_posts/2024-10-01-two.md", "-k", "01", "-p",
                           "no:cacheprovider"], cwd=site, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    assert statuses(site, "2024-10-01-two.md") == full  # block 2 was not run, and keeps its result

    one = data(site, "2024-10-02-one.md")
    assert invoke(site, "test-snippets", "--post", "_posts/2024-10-01-two.md").returncode == 0
    assert data(site, "2024-10-02-one.md") == one  # another post's data is untouched

    (site / "_posts" / "2024-10-02-one.md").unlink()
    assert invoke(site, "test-snippets", "--post", "_posts/2024-10-01-two.md").returncode == 0
    assert not data_file(site, site / "_posts" / "2024-10-02-one.md").exists()

    Build(site).publish(site / "_site")
    page = read_page((site / "_site/2024/10/01/two/index.html").read_text())
    assert [b.panel.status for b in page.blocks] == ["verified", "verified"]
