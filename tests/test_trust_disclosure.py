"""The page discloses what a reader cannot see in the code: hidden setup (viewable), an expected error or
exit status, the blocks a block runs after, the block whose output it shows, a note, a result that did
not come from the sandbox, and a warning about the whole post. The panel is an include a theme overrides.

These read results as the verification writes them (publish.write_results) and build with Jekyll alone."""

from pathlib import Path

import pytest

from jekyll_panels import read_page
from sites import make_site, post
from snipcheck.publish import code_sha256, write_results
from snipcheck.site import Build

BODY = """\
```python
import math
```

```python
print(math.pi / 0)
```

```python
import sys
sys.exit(3)
```

```python
print(math.tau)
```

```text
6.283185307179586
```

```python
>>> 1 + 1
2
```
"""
KEY = "_posts/2024-09-01-disclosed.md"


def result(index: int, code: str, **fields) -> dict:
    return {"post": KEY, "index": index, "line": 5 + 4 * index, "lang": "python", "kind": "python",
            "file": f"snippets/2024-09-01-disclosed/{index:02d}.py", "sha256": code_sha256(code),
            "status": "verified", "checker": "Python 3.11.7", "date": "2024-09-01", "output": None, **fields}


RESULTS = [
    result(1, "import math", setup="import os\nos.environ['TZ'] = 'UTC'\n"),
    result(2, "print(math.pi / 0)", expect="ZeroDivisionError", after=[1]),
    result(3, "import sys\nsys.exit(3)", expect="exit 3", jailed=False),
    result(4, "print(math.tau)", after=[1, 2, 3], output="6.283185307179586\n"),
    result(5, "6.283185307179586", kind="output", lang="text", output_of=4, checker="the output of block 4"),
    result(6, ">>> 1 + 1\n2", kind="output", status="unverified",
           note="labelled python, but it is program output: shown, not verified",
           reason="program output under a python label"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    site = make_site(tmp_path_factory.mktemp("disclosure") / "blog",
                     {"2024-09-01-disclosed.md": post("Disclosed", BODY)})
    write_results(site, RESULTS, every_post=True, warnings={KEY: "Every Python block of this post is skipped."})
    Build(site).publish(site / "_site")
    return site


def page(site: Path):
    return read_page((site / "_site/2024/09/01/disclosed/index.html").read_text(encoding="utf-8"))


def test_each_block_says_what_the_reader_cannot_see(built):
    panels = [block.panel for block in page(built).blocks]
    assert "Hidden setup code" in panels[0].text and "os.environ['TZ'] = 'UTC'" in panels[0].text
    assert "Expected to raise ZeroDivisionError" in panels[1].text and "Runs after block 1," in panels[1].text
    assert "Expected to exit with status 3" in panels[2].text
    assert panels[2].mark == "Verified with Python 3.11.7 on 2024-09-01 (run without the jail)"
    assert panels[0].mark == "Verified with Python 3.11.7 on 2024-09-01"  # a sandboxed result says nothing more
    assert "Runs after blocks 1\u20133" in panels[3].text
    assert "The output of block 4, checked against what it printed" in panels[4].text
    assert panels[5].status == "unverified" and "labelled python, but it is program output" in panels[5].text


def test_hidden_setup_is_folded_away_and_gets_no_copy_button(built):
    html = (built / "_site/2024/09/01/disclosed/index.html").read_text(encoding="utf-8")
    assert '<details class="snippet-setup"><summary>Hidden setup code, run first</summary>' in html
    assert '<pre class="snippet-setup-code">' in html
    assert "snippet-setup-code" in (built / "_site/assets/js/copy.js").read_text()


def test_a_warning_about_the_whole_post_stands_at_its_top(built):
    assert page(built).warnings == ["Every Python block of this post is skipped."]


def test_a_theme_can_restyle_the_panel_by_overriding_its_include(built, tmp_path):
    site = Path(__import__("shutil").copytree(built, tmp_path / "themed", symlinks=True))
    (site / "_includes" / "snippet-check.html").write_text(
        '<aside class="snippet-check" data-status="{{ include.snippet.status }}">'
        '{{ include.snippet.status | upcase }} {{ include.snippet.checker | escape }}</aside>\n')
    Build(site).publish(site / "_site")
    html = (site / "_site/2024/09/01/disclosed/index.html").read_text(encoding="utf-8")
    assert '<aside class="snippet-check" data-status="verified">VERIFIED Python 3.11.7</aside>' in html
    assert "snippet-mark" not in html
