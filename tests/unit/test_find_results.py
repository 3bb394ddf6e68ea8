"""The page's data from a run's results (publish.write_results): merged, never shrunk by a partial run, and
gone with its post. Posts here use only highlight tags, so no Ruby runs."""

import json
from pathlib import Path

import pytest

from snipcheck.publish import code_sha256, data_file, write_results

POST = """---
title: Example
---
{% highlight python %}
print(1)
{% endhighlight %}

{% highlight python %}
print(2)
{% endhighlight %}
"""


def entry(index: int, code: str, status: str = "verified", **extra) -> dict:
    return {"post": "_posts/2024-01-01-a.md", "index": index, "sha256": code_sha256(code), "status": status,
            "checker": "Python 3.11.7", "date": "2024-01-01", "output": f"{index}\n", "site": "/x", **extra}


@pytest.fixture
def site(tmp_path) -> Path:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_posts" / "2024-01-01-a.md").write_text(POST)
    (tmp_path / "_posts" / "2024-01-02-b.md").write_text(POST)
    return tmp_path


def data(site: Path, name: str = "2024-01-01-a.md") -> dict:
    return json.loads(data_file(site, site / "_posts" / name).read_text())


def test_a_run_writes_every_block_in_page_order_with_its_fingerprint(site):
    write_results(site, [entry(1, "print(1)"), entry(2, "print(2)")], every_post=True)
    written = data(site)
    assert written["post"] == "_posts/2024-01-01-a.md"
    assert [b["index"] for b in written["snippets"]] == [1, 2]
    assert written["snippets"][0]["sha256"] == code_sha256("print(1)\n")
    assert "site" not in written["snippets"][0] and written["snippets"][0]["conditional"] is False


def test_a_partial_run_keeps_the_results_it_did_not_produce(site):
    write_results(site, [entry(1, "print(1)"), entry(2, "print(2)")], every_post=True)
    write_results(site, [entry(2, "print(2)", "failed", reason="boom")], every_post=False)  # -k, --lf
    assert [(b["index"], b["status"]) for b in data(site)["snippets"]] == [(1, "verified"), (2, "failed")]
    write_results(site, [], every_post=False)  # Ctrl-C before any result
    assert len(data(site)["snippets"]) == 2


def test_a_result_for_code_the_post_no_longer_shows_is_dropped(site):
    write_results(site, [entry(1, "print(1)"), entry(2, "print(2)")], every_post=True)
    post = site / "_posts" / "2024-01-01-a.md"
    post.write_text(POST.replace("print(2)", "print(3)"))
    write_results(site, [entry(1, "print(1)")], every_post=False)
    assert [b["index"] for b in data(site)["snippets"]] == [1]  # block 2 has no result: the build says so


def test_the_results_of_a_deleted_post_are_removed_even_by_a_partial_run(site):
    write_results(site, [entry(1, "print(1)"), dict(entry(1, "print(1)"), post="_posts/2024-01-02-b.md")],
                  every_post=True)
    gone = data_file(site, site / "_posts" / "2024-01-02-b.md")
    assert gone.exists()
    (site / "_posts" / "2024-01-02-b.md").unlink()
    write_results(site, [entry(1, "print(1)")], every_post=False)
    assert not gone.exists() and data_file(site, site / "_posts" / "2024-01-01-a.md").exists()


def test_a_full_run_removes_data_under_an_old_name(site):
    old = site / "_data" / "snippets" / "2024-01-01-a.json.old.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"post": "_posts/2024-01-01-a.md", "snippets": []}))
    unpublished = site / "_posts" / "2024-01-03-c.md"
    unpublished.write_text(POST.replace("title: Example", "title: Hidden\npublished: false"))
    write_results(site, [entry(1, "print(1)", post="_posts/2024-01-03-c.md")], every_post=True)
    assert not old.exists()
    assert not data_file(site, unpublished).exists()  # Jekyll does not publish it: no page to read it


def test_a_post_warning_is_kept_until_the_post_is_read_again(site):
    key = "_posts/2024-01-01-a.md"
    write_results(site, [entry(1, "print(1)")], every_post=False, warnings={key: "every Python block is skipped"})
    assert data(site)["warning"] == "every Python block is skipped"
    write_results(site, [], every_post=False, posts=[site / "_posts" / "2024-01-02-b.md"])
    assert data(site)["warning"] == "every Python block is skipped"
    write_results(site, [entry(1, "print(1)")], every_post=False)
    assert data(site)["warning"] is None


def test_printed_json_is_highlighted_as_class_spans_only(site):
    write_results(site, [entry(1, "print(1)", output='{"a": [1, 2]}\n')], every_post=False)
    markup = data(site)["snippets"][0]["output_html"]
    assert '<span class="nt">"a"</span>' in markup and "<script" not in markup
