"""`snipcheck init`: adopt an existing Jekyll blog, whatever its theme. It adds the tasks (`tasks.py`), the plugin
and the includes that place a panel under each code block, the panels' stylesheet and a way for the theme to
load it, and what the build needs in `_config.yml` and `.gitignore`. It never reads or writes a post.

Everything is planned first (a malformed `_config.yml` stops it before any file changes), then written, each
file whole. A file of the blogger's that differs from ours is kept unless `--force`; their own files are only
added to (see appends.py). Running it again changes nothing."""

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .appends import CannotAdd, add_excludes, add_ignores, add_line
from .discover import site_config
from .errors import EXIT_POST_MALFORMED, EXIT_TOOL_BROKE, PostError
from .files import write_atomic

EXIT_KEPT = 1  # done, but a file of the blogger's that differs from ours was kept
BLOG = Path(__file__).with_name("blog")  # what init writes; this project's own blog carries the same files
EXCLUDE = ["snippets", ".cache", "reports", "tasks.py", ".venv"]
IGNORE = [".cache/", "_data/snippets/", "snippets/*/*.timeline.svg", "reports/", ".venv/",  # a run's, not reviewed
          ".bundle/snipcheck-resolved"]  # (invoke setup's stamp)
IGNORE_COMMENT = "snipcheck: verification results and caches (do commit snippets/: it holds the reviewed outputs)"
STYLESHEET = "assets/css/snippet-panels.scss"  # Jekyll makes it /assets/css/snippet-panels.css
LINK = """<link rel="stylesheet" href="{{ '/assets/css/snippet-panels.css' | relative_url }}">"""
LINKED = re.compile(r"snippet-panels\.css")
IMPORT = '@import "snippet-panels"; // the panels under code blocks (snipcheck)'
IMPORTED = re.compile(r"""@import[^;\n]*["']snippet-panels["']""")
# minima 2's own assets/main.scss, which a blog replaces by writing its own (minima's README, "Customization").
MINIMA_MAIN = '---\n# Only the main Sass file needs front matter (the dashes are enough)\n---\n\n@import "minima";\n'


@dataclass
class Step:
    path: str  # relative to the blog
    text: str  # the whole new text
    done: str  # what it did, as the report says it: "wrote", "replaced", "added to"
    why: str = ""


@dataclass
class Plan:
    theme: str
    steps: list[Step] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # files of the blogger's left as they were, and why
    todo: list[str] = field(default_factory=list)  # what is left for the blogger to do


class Refused(Exception):
    """Not a blog init can set up (no or unreadable `_config.yml`, a file it must read is not text)."""


def _read(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as file:  # exactly: a CRLF file stays CRLF
            return file.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise Refused(f"{path}: cannot be read as text ({getattr(err, 'strerror', None) or err.reason}), and "
                      "snipcheck init must read it. Fix or move it, then run `snipcheck init` again; nothing was "
                      "changed.") from None


def _text_of(path: Path) -> str:
    """The text of a file init only searches (a layout, a stylesheet, the Gemfile), undecodable bytes replaced."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _folder(config: dict, key: str, default: str) -> str:
    value = config.get(key)
    value = value[0] if isinstance(value, list) and value else value
    return str(value).strip("/") if isinstance(value, str) and value.strip("/") else default


def _ours(plan: Plan, root: Path, source: str, target: str, force: bool) -> None:
    """Our file at `target`: written when absent, left when the same, kept or (with force) replaced otherwise."""
    text, old = (BLOG / source).read_text(encoding="utf-8"), _read(root / target)
    if old is None:
        plan.steps.append(Step(target, text, "wrote"))
    elif old != text and force:
        plan.steps.append(Step(target, text, "replaced", "it differed from snipcheck's"))
    elif old != text:
        how = (f"snipcheck's tasks are in {BLOG / source}: merge them into yours, or replace yours"
               if source == "tasks.py" else "if you did not change it on purpose, replace it")
        plan.kept.append(f"{target}: yours differs from snipcheck {__version__}'s, so it was kept; {how} with "
                         "`snipcheck init --force`.")


def _theirs(plan: Plan, root: Path, target: str, change) -> None:
    """A file of the blogger's, added to: `change(old text)` gives the new text and what was added."""
    old = _read(root / target)
    new, why = change(old or "")
    if new != old:
        plan.steps.append(Step(target, new, "wrote" if old is None else "added to", why))


def _minima(root: Path, config: dict) -> int | None:
    """minima's major version when the blog uses it: from Gemfile.lock; a remote theme is GitHub's (3)."""
    remote = str(config.get("remote_theme") or "")
    if re.search(r"\bminima\b", remote):
        tag = re.search(r"@v?(\d+)", remote)
        return int(tag[1]) if tag else 3
    if str(config.get("theme") or "").strip() != "minima":
        return None
    lock = _text_of(root / "Gemfile.lock")
    version = re.search(r"^ {4}minima \((\d+)", lock, re.M)
    return int(version[1]) if version else 2  # RubyGems' minima is 2.5.x


def _loaded_by(root: Path, config: dict, sass: str) -> tuple[str, bool] | None:
    """Which of the blog's files already loads the panels' styles, and whether through the stylesheet's link."""
    pages = [_folder(config, "layouts_dir", "_layouts"), _folder(config, "includes_dir", "_includes")]
    for folder, pattern, glob in [(pages[0], LINKED, "*.html"), (pages[1], LINKED, "*.html"),
                                  (sass, IMPORTED, "*.scss"), ("assets", IMPORTED, "*.scss")]:
        for path in sorted((root / folder).rglob(glob)):
            if path.name not in ("_snippet-panels.scss", "snippet-panels.scss") and pattern.search(_text_of(path)):
                return str(path.relative_to(root)), pattern is LINKED
    return None


def _head_of(root: Path, config: dict) -> str:
    for folder in (_folder(config, "layouts_dir", "_layouts"), _folder(config, "includes_dir", "_includes")):
        for path in sorted((root / folder).glob("*.html")):
            if "</head>" in _text_of(path):
                return f"before </head> in {path.relative_to(root)}"
    return "in your theme's head: copy its _includes/head.html into your blog's _includes/ and add it there"


def _styles(plan: Plan, root: Path, config: dict, minima: int | None, force: bool) -> None:
    """The panels' stylesheet, and a way for the theme to load it."""
    sass = _folder(config.get("sass") if isinstance(config.get("sass"), dict) else {}, "sass_dir", "_sass")
    _ours(plan, root, "_sass/_snippet-panels.scss", f"{sass}/_snippet-panels.scss", force)
    loaded = _loaded_by(root, config, sass)
    if loaded:
        plan.theme += f"; the panels' styles are loaded by {loaded[0]}"
        if loaded[1]:
            _ours(plan, root, STYLESHEET, STYLESHEET, force)
    elif minima is not None and minima >= 3:  # its head includes _includes/custom-head.html, empty in the theme
        _ours(plan, root, STYLESHEET, STYLESHEET, force)
        _theirs(plan, root, f"{_folder(config, 'includes_dir', '_includes')}/custom-head.html",
                lambda old: (add_line(old, LINK, LINKED), "the link to the panels' styles"))
    elif minima is not None:  # minima 2 has no head hook: a blog restyles it with its own assets/main.scss
        _theirs(plan, root, "assets/main.scss", lambda old: (
            add_line(old or MINIMA_MAIN, IMPORT, IMPORTED),
            "the panels' styles" if old else "minima's styles, then the panels' (minima 2 has no head hook)"))
    else:
        _ours(plan, root, STYLESHEET, STYLESHEET, force)
        plan.todo.append(f"snipcheck knows no hook of this theme, so one line is yours to add, "
                         f"{_head_of(root, config)}:\n    {LINK}")


def _excludes(old: str) -> tuple[str, str]:
    new, added = add_excludes(old, EXCLUDE)
    return new, f"exclude: {', '.join(added)}"


def _ignores(old: str) -> tuple[str, str]:
    new, added = add_ignores(old, IGNORE, IGNORE_COMMENT)
    return new, ", ".join(added)


def make_plan(root: Path, force: bool = False) -> Plan:
    """What init would do to the blog at `root`; nothing is written."""
    if not (root / "_config.yml").is_file():
        raise Refused(f"{root}: no _config.yml here. Run `snipcheck init` in your Jekyll blog's folder (the one "
                       "with _config.yml), or name it: `snipcheck init path/to/blog`.")
    try:
        config = site_config(root)
    except PostError as err:
        raise Refused(str(err)) from None
    theme, minima = config.get("remote_theme") or config.get("theme"), _minima(root, config)
    plan = Plan(f"theme: minima {minima}" if minima else f"theme: {theme}" if theme else
                "no theme gem: its own layouts")
    _ours(plan, root, "tasks.py", "tasks.py", force)
    plugins, includes = _folder(config, "plugins_dir", "_plugins"), _folder(config, "includes_dir", "_includes")
    _ours(plan, root, "_plugins/verified_snippets.rb", f"{plugins}/verified_snippets.rb", force)
    for include in ("snippet-check.html", "snippet-warning.html"):
        _ours(plan, root, f"_includes/{include}", f"{includes}/{include}", force)
    _styles(plan, root, config, minima, force)
    try:
        _theirs(plan, root, "_config.yml", _excludes)
    except CannotAdd as err:
        plan.kept.append(f"_config.yml: {err}")
    _theirs(plan, root, ".gitignore", _ignores)
    if config.get("safe") or re.search(r"""^\s*gem\s+["']github-pages["']""", _text_of(root / "Gemfile"), re.M):
        plan.todo.append("This blog builds in GitHub Pages' safe mode, which runs no plugin of _plugins/: the "
                         "panels appear in what `invoke build` makes (_site/), so publish that folder.")
    return plan


def _invoke(root: Path) -> str:
    """How to call invoke in the blog: plainly when this venv is on PATH, else by its path."""
    ours = Path(sys.executable).parent / "invoke"
    found = shutil.which("invoke")
    if found and Path(found).resolve() == ours.resolve() or not ours.exists():
        return "invoke"
    try:
        return str(ours.relative_to(root))
    except ValueError:
        return str(ours)


def init(root: Path, force: bool = False, say=print) -> int:
    """Set up the blog at `root`; the exit code: 0 done, 1 a file of the blogger's kept as it was, 2 not a blog,
    3 a file could not be written."""
    root = root.resolve()
    try:
        plan = make_plan(root, force)
    except Refused as err:
        say(str(err))
        return EXIT_POST_MALFORMED
    failed = ""
    for number, step in enumerate(plan.steps):  # write first, then tell: a closed output cannot stop it halfway
        try:
            write_atomic(root / step.path, step.text)
        except OSError as err:
            failed = (f"Could not write {step.path} ({err.strerror}): it and the files after it are as they were. "
                      "Fix that, then run `snipcheck init` again.")
            plan.steps = plan.steps[:number]
            break
    say(f"snipcheck init in {root} ({plan.theme})")
    for step in plan.steps:
        say(f"  {step.done:<9} {step.path}" + (f": {step.why}" if step.why else ""))
    if failed:
        say(failed)
        return EXIT_TOOL_BROKE
    for kept in plan.kept:
        say(f"  kept      {kept}")
    say("No post was touched." if plan.steps else "Nothing to change: the blog already has what snipcheck needs. "
        "No post was touched.")
    for todo in plan.todo:
        say(f"\n{todo}")
    invoke = _invoke(root)
    here = "" if Path.cwd().resolve() == root else f"    cd {root}\n"
    say(f"\nNext, verify every snippet and build the site with your theme:\n{here}    {invoke} build\n"
        "If some blocks cannot be verified yet, list them in snippets/baseline.yml (review it and commit it: later "
        f"builds fail only on new failures), then build:\n    {invoke} test-snippets --write-baseline\n"
        f"    {invoke} build")
    return EXIT_KEPT if plan.kept else 0
