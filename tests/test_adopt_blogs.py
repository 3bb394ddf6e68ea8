"""Adopting an existing Jekyll blog takes three commands, and its own theme then shows a panel under every code block:

    python3 -m venv .venv && .venv/bin/pip install <snipcheck>
    .venv/bin/snipcheck init
    .venv/bin/invoke build

Real things: the blogs of tests/blogs/ (`minima/`, the theme `jekyll new` gives, as Debian ships it; `own-layouts/`,
no theme gem), a fresh venv with snipcheck installed by pip from a copy of its source, Jekyll, Chromium.
tests/test_adopt_files.py checks what init writes without building."""

import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from jekyll_panels import read_page
from sites import invoke

REPO = Path(__file__).resolve().parent.parent
BLOGS = Path(__file__).parent / "blogs"
FAILING_POST = """---
layout: post
title: "Parsing numbers people type"
---
`int()` reads digits, not words:

```python
print(int("twelve"))
```
"""


def files(root: Path, skip: tuple[str, ...] = (".venv",)) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).parts[0] in skip}


def run(root: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """A command as the blogger types it in the blog's folder, with no venv on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", NO_COLOR="1")
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)


def next_commands(said: str) -> list[list[str]]:
    """The commands init's report says to run next, split into words."""
    block = said.split("Next, verify every snippet and build the site with your theme:\n", 1)[1]
    return [line.split() for line in block.splitlines() if line.startswith("    ")]


def post_pages(root: Path) -> list[Path]:
    return sorted(p for p in (root / "_site").rglob("*.html") if re.search(r"/\d{4}/", str(p)))


def assert_every_block_has_its_verified_panel(root: Path, posts: int) -> None:
    pages = post_pages(root)
    assert len(pages) == posts
    for path in pages:
        page = read_page(path.read_text(encoding="utf-8"))
        assert page.blocks and page.stray_panels == 0, path
        for block in page.blocks:
            assert block.panel is not None, f"{path}: no panel under {block.code!r}"
            assert block.panel.status == "verified", (path, block.panel.mark)


# ---- A minima blog, with snipcheck installed into its own venv.

@pytest.fixture(scope="module")
def minima(tmp_path_factory):
    """The minima blog after the three commands (and init run twice); what each one said."""
    source = tmp_path_factory.mktemp("source") / "snipcheck"  # a copy: building it writes build/ beside the source
    source.mkdir()
    shutil.copy2(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / "snipcheck", source / "snipcheck", ignore=shutil.ignore_patterns("__pycache__"))
    root = Path(shutil.copytree(BLOGS / "minima", tmp_path_factory.mktemp("minima") / "blog"))
    done = {"venv": run(root, sys.executable, "-m", "venv", ".venv")}
    done["install"] = run(root, ".venv/bin/pip", "install", "-q", str(source), timeout=600)
    assert done["install"].returncode == 0, done["install"].stdout + done["install"].stderr
    done["init"] = run(root, ".venv/bin/snipcheck", "init")
    after_first = files(root)
    done["init again"] = run(root, ".venv/bin/snipcheck", "init")
    done["unchanged"] = files(root) == after_first
    done["build"] = run(root, *next_commands(done["init"].stdout)[0])
    return root, done


def test_install_init_and_build_are_three_commands(minima):
    root, done = minima
    assert done["init"].returncode == 0, done["init"].stdout + done["init"].stderr
    assert "snipcheck init in" in done["init"].stdout and "(theme: minima 2)" in done["init"].stdout
    assert next_commands(done["init"].stdout) == [[".venv/bin/invoke", "build"],
                                                   [".venv/bin/invoke", "test-snippets", "--write-baseline"],
                                                   [".venv/bin/invoke", "build"]]
    assert done["build"].returncode == 0, done["build"].stdout[-3000:] + done["build"].stderr[-3000:]
    assert "Built the site into _site/" in done["build"].stdout


def test_the_installed_package_carries_what_init_writes(minima):
    root, _ = minima
    installed = next((root / ".venv" / "lib").glob("python3*/site-packages/snipcheck"))  # a copy, not a link here
    for path in ["_plugins/verified_snippets.rb", "_includes/snippet-check.html", "_includes/snippet-warning.html",
                 "_sass/_snippet-panels.scss", "tasks.py"]:
        assert (root / path).read_bytes() == (installed / "blog" / path).read_bytes() == \
            (REPO / "snipcheck" / "blog" / path).read_bytes(), path


def test_init_twice_changes_nothing_the_second_time(minima):
    _, done = minima
    assert done["init again"].returncode == 0
    assert "Nothing to change" in done["init again"].stdout
    assert done["unchanged"]


def test_no_post_is_touched(minima):
    root, _ = minima
    assert files(root / "_posts") == files(BLOGS / "minima" / "_posts")


def test_config_and_gitignore_only_gain_what_the_build_needs(minima):
    root, _ = minima
    config = (root / "_config.yml").read_text()
    original = (BLOGS / "minima" / "_config.yml").read_text()
    assert config.startswith(original)  # the blogger's comments and formatting, untouched
    assert yaml.safe_load(config) == {**yaml.safe_load(original),
                                      "exclude": ["snippets", ".cache", "reports", "tasks.py", ".venv"]}
    ignored = (root / ".gitignore").read_text()
    assert ignored.startswith((BLOGS / "minima" / ".gitignore").read_text())
    assert ignored.splitlines()[-6:] == [".cache/", "_data/snippets/", "snippets/*/*.timeline.svg", "reports/",
                                         ".venv/", ".bundle/snipcheck-resolved"]
    for private in ("tasks.py", "reports", ".venv", ".cache"):
        assert not (root / "_site" / private).exists(), private


def test_every_code_block_has_its_panel_in_minimas_own_layout(minima):
    root, _ = minima
    assert_every_block_has_its_verified_panel(root, posts=3)
    page = (root / "_site" / "python" / "2024" / "05" / "11" / "ordering-versions.html").read_text()
    for minimas in ('<header class="site-header"', '<div class="post-content e-content"', '<footer class="site-footer',
                    '<link rel="stylesheet" href="/assets/main.css">'):
        assert minimas in page
    css = (root / "_site" / "assets" / "main.css").read_text()
    assert ".site-header" in css and ".snippet-check" in css  # minima's styles, then the panels'


@contextmanager
def served(folder: Path):
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                               str(folder)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r"port (\d+)", server.stdout.readline())[1]  # port 0: the server picks a free one
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_in_the_browser_the_panel_sits_under_its_block_in_minimas_page(minima, chromium):
    root, _ = minima
    with served(root / "_site") as url:
        page = chromium.new_page()
        try:
            page.goto(f"{url}/python/2024/05/11/ordering-versions.html", wait_until="load")
            code = page.locator("figure.highlight")
            panel = code.locator("xpath=following-sibling::*[1]")
            assert panel.get_attribute("class") == "snippet-check"
            box, under = code.bounding_box(), panel.bounding_box()
            assert abs(under["y"] - (box["y"] + box["height"])) <= 1 and abs(under["x"] - box["x"]) <= 1
            style = panel.evaluate("p => [getComputedStyle(p).borderLeftColor, getComputedStyle(p).borderLeftWidth]")
            assert style == ["rgb(26, 127, 55)", "4px"]  # verified: green
            assert page.locator("pre.snippet-output").inner_text().endswith("0.9.3, 1.2.0, 1.10.0")
            header = page.locator("header.site-header").evaluate("h => getComputedStyle(h).borderTopWidth")
            assert header == "5px"  # minima's own look is still there
        finally:
            page.close()


# ---- A blog with its own layouts: init names the one line to add.

def test_a_blog_with_its_own_layouts_adds_one_line_and_builds(tmp_path):
    root = Path(shutil.copytree(BLOGS / "own-layouts", tmp_path / "blog"))
    first = run(root, sys.executable, "-m", "snipcheck", "init")
    assert first.returncode == 0, first.stdout + first.stderr
    where, line = re.search(r"one line is yours to add, before </head> in (\S+):\n    (.+)\n", first.stdout).groups()
    layout = root / where
    layout.write_text(layout.read_text().replace("</head>", f"  {line}\n</head>"))
    again = run(root, sys.executable, "-m", "snipcheck", "init")
    assert "loaded by _layouts/default.html" in again.stdout and "Nothing to change" in again.stdout
    assert (root / "_config.yml").read_text() == (BLOGS / "own-layouts" / "_config.yml").read_text().replace(
        "drafts-notes.txt]", "drafts-notes.txt, snippets, .cache, reports, tasks.py, .venv]")
    built = invoke(root, "build")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert_every_block_has_its_verified_panel(root, posts=2)
    page = (root / "_site" / "2024" / "reading-a-csv-file" / "index.html").read_text()
    for own in ('<header class="masthead">', '<article class="entry">', 'href="/assets/site.css"',
                'href="/assets/css/snippet-panels.css"'):
        assert own in page
    assert ".snippet-check" in (root / "_site" / "assets" / "css" / "snippet-panels.css").read_text()
    assert files(root / "_posts") == files(BLOGS / "own-layouts" / "_posts")


# ---- A first run with blocks that cannot be verified yet: a baseline, then a green build.

def test_a_baseline_of_todays_failures_makes_the_next_build_green(tmp_path):
    root = Path(shutil.copytree(BLOGS / "minima", tmp_path / "blog"))
    (root / "_posts" / "2024-06-01-parsing-numbers.md").write_text(FAILING_POST)
    assert run(root, sys.executable, "-m", "snipcheck", "init").returncode == 0
    failed = invoke(root, "build")
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    assert "ValueError: invalid literal for int() with base 10: 'twelve'" in failed.stdout
    assert not (root / "_site").exists()
    listed = invoke(root, "test-snippets", "--write-baseline")
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    baseline = yaml.safe_load((root / "snippets" / "baseline.yml").read_text())
    assert list(baseline) == ["_posts/2024-06-01-parsing-numbers.md"]
    [entry] = baseline["_posts/2024-06-01-parsing-numbers.md"]
    assert entry["block"] == "01.py" and "ValueError" in entry["reason"]
    built = invoke(root, "build")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    page = read_page(next((root / "_site").rglob("parsing-numbers.html")).read_text())
    [block] = page.blocks
    assert block.panel.status == "unverified" and "a known failure" in block.panel.mark
