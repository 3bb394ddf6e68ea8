"""`snipcheck init` on an existing blog, without building it (no Ruby, no Jekyll): the files it writes are the ones
this blog publishes with, it only adds to the blogger's own files, twice is once, and it never touches a post.

The fixture blogs are in tests/blogs/: `minima/` (the theme `jekyll new` gives) and `own-layouts/` (no theme gem).
tests/test_adopt_blogs.py builds them with Jekyll."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from snipcheck.adopt import BLOG, EXCLUDE, IGNORE, init, make_plan
from snipcheck.appends import CannotAdd, add_excludes, add_ignores

REPO = Path(__file__).resolve().parent.parent
BLOGS = Path(__file__).parent / "blogs"
# The files init writes into every blog, and where this blog keeps its copy of each.
SHARED = ["_plugins/verified_snippets.rb", "_includes/snippet-check.html", "_includes/snippet-warning.html",
          "_sass/_snippet-panels.scss"]


def blog(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(BLOGS / name, tmp_path / name))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the blog: its bytes and modification time."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p.is_file()}


def run_init(root: Path, *, force: bool = False) -> tuple[int, str]:
    said = []
    code = init(root, force=force, say=said.append)
    return code, "\n".join(said)


# ---- One source of truth: this blog's plugin, includes and panel styles are what init writes.

@pytest.mark.parametrize("path", SHARED)
def test_our_blog_carries_exactly_what_init_writes(path):
    ours, package = REPO / path, BLOG / path
    assert ours.read_bytes() == package.read_bytes(), \
        f"{path} differs from snipcheck/blog/{path}, which `snipcheck init` writes into every blog. The package's " \
        f"copy is the source: change it, then `cp snipcheck/blog/{path} {path}`."


def test_init_in_our_blog_would_change_nothing_but_keeps_our_fuller_tasks():
    plan = make_plan(REPO)
    assert plan.steps == []
    assert [kept.split(":")[0] for kept in plan.kept] == ["tasks.py"]
    assert "loaded by _sass/_code.scss" in plan.theme


def test_a_blog_gets_the_same_tasks_as_ours():
    """One set of tasks, in the package: a blog's tasks.py only names its folder; ours adds the project's own."""
    import invoke
    loaded = {}
    for path in (BLOG / "tasks.py", REPO / "tasks.py"):
        spec = {"__file__": str(path)}
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), spec)
        loaded[path] = spec["namespace"]
    theirs, ours = loaded[BLOG / "tasks.py"], loaded[REPO / "tasks.py"]
    assert isinstance(theirs, invoke.Collection)
    assert set(theirs.task_names) == {"setup", "extract", "test-snippets", "build", "serve"}
    assert set(theirs.task_names) < set(ours.task_names)
    for name in theirs.task_names:
        assert theirs[name].body.__code__.co_code == ours[name].body.__code__.co_code


# ---- Only adding to the blogger's files.

def removed_lines(old: str, new: str) -> list[str]:
    lines = new.splitlines()
    gone = []
    for line in old.splitlines():
        if line in lines:
            lines = lines[lines.index(line) + 1:]
        else:
            gone.append(line)
    return gone


CONFIGS = {
    "none": "title: A blog   # the name\ntheme: minima\n# exclude:\n#   - vendor/\n",
    "block": "exclude:\n    -   Gemfile   # bundler's\n    - vendor\n# the end\ntitle: x\n",
    "block, last line": "title: x\nexclude:\n- Gemfile\n- vendor",
    "flow": "exclude: [Gemfile, vendor]  # short\ntitle: x\n",
    "flow, empty": "exclude: []\n",
    "flow, lines": "exclude: [\n  Gemfile,\n  vendor,\n]\ntitle: x\n",
    "null": "exclude:   # nothing yet\ntitle: x\n",
    "crlf": "title: x\r\nexclude:\r\n  - vendor\r\n",
    "empty": "",
}


@pytest.mark.parametrize("text", CONFIGS.values(), ids=CONFIGS.keys())
def test_excludes_are_added_to_the_list_as_it_is_written_and_only_once(text):
    new, added = add_excludes(text, EXCLUDE)
    assert added == EXCLUDE
    before, after = yaml.safe_load(text) or {}, yaml.safe_load(new)
    assert after == {**before, "exclude": (before.get("exclude") or []) + EXCLUDE}
    if "[" not in text:  # a flow list is extended inside its line; anything else only gains lines
        assert removed_lines(text, new) == []
    if "\r\n" in text:
        assert new.count("\n") == new.count("\r\n")  # its line endings, kept
    assert add_excludes(new, EXCLUDE) == (new, [])


def test_entries_already_excluded_in_any_spelling_are_not_added_again():
    text = "exclude:\n  - /snippets/\n  - .cache/\n  - reports\n  - '*.py'\n"
    new, added = add_excludes(text, EXCLUDE)
    assert added == [".venv"]
    assert new == text + "  - .venv\n"


@pytest.mark.parametrize("text, says", [("exclude: vendor\n", "not a list"), ("- a\n- b\n", "not a mapping"),
                                        ("title: [unclosed\n", "not valid YAML")])
def test_a_config_that_cannot_be_extended_safely_is_left_alone_with_the_lines_to_add(text, says):
    with pytest.raises(CannotAdd) as refused:
        add_excludes(text, EXCLUDE)
    assert says in str(refused.value)


def test_gitignore_gains_only_what_it_does_not_ignore_yet():
    text = "/_site/\n/.cache/\n_data/\n/.bundle/\n*.log\n"  # _data/ and /.bundle/ cover what snipcheck writes in them
    new, added = add_ignores(text, IGNORE, "snipcheck")
    assert added == ["snippets/*/*.timeline.svg", "reports/", ".venv/"]
    assert new == text + "\n# snipcheck\nsnippets/*/*.timeline.svg\nreports/\n.venv/\n"
    assert add_ignores(new, IGNORE, "snipcheck") == (new, [])


# ---- init on a whole blog.

def test_init_twice_changes_nothing_the_second_time_and_never_a_post(tmp_path):
    root = blog(tmp_path, "minima")
    posts = snapshot(root / "_posts")
    code, said = run_init(root)
    assert code == 0, said
    first = snapshot(root)
    for written in ["tasks.py", *SHARED, "assets/main.scss"]:
        assert written in first, said
    assert "No post was touched." in said and "invoke build" in said and "test-snippets --write-baseline" in said
    code, said = run_init(root)
    assert code == 0, said
    assert "Nothing to change" in said
    assert snapshot(root) == first
    assert snapshot(root / "_posts") == posts


def test_minima_2_loads_the_panel_styles_from_its_own_main_stylesheet(tmp_path):
    root = blog(tmp_path, "minima")
    (root / "assets").mkdir()
    (root / "assets" / "main.scss").write_text('---\n---\n@import "minima";\n.site-title { color: teal; }\n')
    code, said = run_init(root)
    assert code == 0, said
    assert (root / "assets" / "main.scss").read_text() == \
        '---\n---\n@import "minima";\n.site-title { color: teal; }\n' \
        '@import "snippet-panels"; // the panels under code blocks (snipcheck)\n'
    assert not (root / "assets" / "css").exists()  # no separate stylesheet: minima 2's page links main.css only


def test_minima_3_loads_the_panel_styles_through_its_custom_head_hook(tmp_path):
    root = blog(tmp_path, "minima")
    (root / "Gemfile.lock").write_text("GEM\n  specs:\n    minima (3.0.0)\n      jekyll (>= 4.0)\n")
    code, said = run_init(root)
    assert code == 0, said
    hook = (root / "_includes" / "custom-head.html").read_text()
    assert hook == """<link rel="stylesheet" href="{{ '/assets/css/snippet-panels.css' | relative_url }}">\n"""
    assert (root / "assets" / "css" / "snippet-panels.scss").read_text() == \
        (BLOG / "assets" / "css" / "snippet-panels.scss").read_text()
    (root / "_includes" / "custom-head.html").write_text("<meta name=x>\n")  # the blogger's own hook
    run_init(root)
    assert (root / "_includes" / "custom-head.html").read_text() == "<meta name=x>\n" + hook
    assert run_init(root)[1].count("Nothing to change") == 1


def test_a_theme_without_a_known_hook_gets_the_one_line_to_add_and_where(tmp_path):
    root = blog(tmp_path, "own-layouts")
    code, said = run_init(root)
    assert code == 0, said
    assert "one line is yours to add, before </head> in _layouts/default.html:\n    <link rel=\"stylesheet\" " \
           "href=\"{{ '/assets/css/snippet-panels.css' | relative_url }}\">" in said
    assert (root / "assets" / "css" / "snippet-panels.scss").is_file()
    layout = root / "_layouts" / "default.html"
    layout.write_text(layout.read_text().replace("</head>", "<link rel=\"stylesheet\" href=\"{{ "
                                                  "'/assets/css/snippet-panels.css' | relative_url }}\">\n</head>"))
    code, said = run_init(root)
    assert "loaded by _layouts/default.html" in said and "yours to add" not in said and "Nothing to change" in said


def test_a_file_of_ours_the_blogger_changed_is_kept_until_forced(tmp_path):
    root = blog(tmp_path, "minima")
    run_init(root)
    include = root / "_includes" / "snippet-check.html"
    include.write_text("<div class=\"snippet-check\">mine</div>\n")
    code, said = run_init(root)
    assert code == 1
    assert "kept      _includes/snippet-check.html: yours differs from snipcheck" in said
    assert "`snipcheck init --force`" in said
    assert include.read_text() == "<div class=\"snippet-check\">mine</div>\n"
    code, said = run_init(root, force=True)
    assert code == 0 and "replaced  _includes/snippet-check.html" in said
    assert include.read_text() == (BLOG / "_includes" / "snippet-check.html").read_text()


@pytest.mark.parametrize("config, says", [(None, "no _config.yml here"), ("title: [x\n", "not valid YAML")])
def test_a_folder_that_is_not_a_readable_blog_is_refused_before_any_file_changes(tmp_path, config, says):
    root = blog(tmp_path, "minima")
    (root / "_config.yml").unlink()
    if config is not None:
        (root / "_config.yml").write_text(config)
    before = snapshot(root)
    code, said = run_init(root)
    assert code == 2 and says in said, said
    assert snapshot(root) == before


def test_init_runs_from_the_command_line_before_the_blog_has_tasks(tmp_path):
    root = blog(tmp_path, "own-layouts")
    done = subprocess.run([sys.executable, "-m", "snipcheck", "init"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "wrote     tasks.py" in done.stdout
    done = subprocess.run([sys.executable, "-m", "snipcheck", "init", str(tmp_path / "nowhere")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "no _config.yml here" in done.stdout and "Traceback" not in done.stderr
