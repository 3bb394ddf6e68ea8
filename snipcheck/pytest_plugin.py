"""pytest plugin (entry point `snipcheck`): every code block of a post in `_posts/` is one test item,
`_posts/<post>.md::NN.ext:LINE`. `pytest _posts/` verifies them all. Collection reads posts and writes nothing."""

import os
from pathlib import Path

import pytest

from . import baseline, cache, classify, diagnostics, discover, plan, publish, record
from .errors import EXIT_TOOL_BROKE, PostError, ToolError, printable, where
from .extract import post_folder
from .find import posts_in, site_root
from .jail import JailError
from .prepare import Prepared, prepare
from .result import FAILED, SKIPPED, UNVERIFIED, VERIFIED, Result
from .results import RESULT, SnippetSession
from .runner import Prefetch

SITES = pytest.StashKey[dict]()
SESSION = pytest.StashKey["SnippetSession"]()
OVERRIDES = {"snippet_timeout": "timeout", "snippet_memory": "memory", "snippet_slow_callback": "slow_callback"}


def pytest_addoption(parser):
    group = parser.getgroup("snipcheck", "verify the code snippets of Jekyll posts")
    group.addoption("--snippet-timeout", type=float, default=None, metavar="SECONDS",
                    help="stop a block (and all it started) after this long, whatever its own `timeout` "
                         "directive says; default: _config.yml, else 30")
    group.addoption("--snippet-update", action="store_true",
                    help="re-record each block's output (NN.out) instead of comparing with it")
    group.addoption("--snippet-jobs", type=int, default=None, metavar="N",
                    help="how many blocks may run at once; default: one per 32 MB of free memory, 4 to 64")
    group.addoption("--snippet-slow-callback", type=float, default=None, metavar="SECONDS",
                    help="fail a block whose callback or task blocks the event loop longer; default 0.1")
    group.addoption("--snippet-memory", type=int, default=None, metavar="MB",
                    help="memory each snippet process may use; default 1024")
    group.addoption("--snippet-report", metavar="PATH", help="also write the results as JSON to PATH")
    group.addoption("--snippet-no-cache", action="store_true",
                    help="run every block, even those whose passing result is cached in .cache/snippets")
    group.addoption("--snippet-write-baseline", action="store_true",
                    help="write snippets/baseline.yml: the blocks that fail now, which later runs accept as known")
    group.addoption("--snippet-timeline", action="store_true",
                    help="print what the event loop did in each asyncio example, as a text timeline")
    group.addoption("--snippet-no-jail", action="store_true",
                    help="run snippets without the bubblewrap jail (only where none can be made: they can then "
                         "read and change your files)")


def overrides(config) -> dict:
    chosen = {name: config.getoption(option) for option, name in OVERRIDES.items()}
    chosen["timeout_cap"] = chosen["timeout"]  # the builder's limit for the run: no directive goes past it
    if config.getoption("snippet_no_jail"):
        chosen["jail"] = False
    return chosen


def pytest_configure(config):
    config.stash[SITES] = {}
    config.stash[SESSION] = SnippetSession(config)
    config.pluginmanager.register(config.stash[SESSION], "snipcheck-session")


def pytest_collect_file(file_path: Path, parent):
    """A post as Jekyll tells posts (see discover), not any Markdown file under `_posts/`."""
    if file_path.suffix not in (".md", ".markdown") or "_posts" not in file_path.parts[:-1]:
        return None
    root = site_root(file_path)
    known = parent.config.stash[SESSION].posts
    if root not in known:
        known[root] = set(discover.posts(root))  # once per site and run
    if file_path not in known[root]:
        return None
    return PostFile.from_parent(parent, path=file_path)


def prepared(config, path: Path) -> Prepared:
    """All posts of a site are prepared together (one kramdown run), the first time one of them is collected."""
    root = site_root(path)
    sites = config.stash[SITES]
    prefetch = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, Prefetch)), None)
    if prefetch is not None and root in prefetch.sites and path in prefetch.sites[root].jobs:
        return prefetch.sites[root]  # `invoke test-snippets` prepared them already
    if root not in sites or path not in sites[root].jobs:
        posts = posts_in(root)
        sites[root] = prepare(root, posts if path in posts else [path], **overrides(config))
    return sites[root]


class PostFile(pytest.File):
    def collect(self):
        site = prepared(self.config, self.path)
        self.config.stash[SESSION].collected.setdefault(site.root, set()).add(self.path)
        jobs = site.jobs[self.path]
        if isinstance(jobs, PostError):
            raise self.CollectError(str(jobs))
        folder = post_folder(site.root / "snippets", self.path)
        items = self.snippet_items = {}
        for job in jobs:
            s = job.snippet
            producer = items.get(job.shows.index) if job.shows else None
            items[s.index] = SnippetItem.from_parent(self, name=f"{s.name}:{s.line}", job=job, file=folder / s.name,
                                                     root=site.root, producer=producer)
            yield items[s.index]


class SnippetFailed(Exception):
    pass


class SnippetItem(pytest.Item):
    def __init__(self, *, job: plan.Job, file: Path, root: Path, producer: "SnippetItem | None", **kwargs):
        super().__init__(**kwargs)
        self.job, self.snippet, self.file, self.root, self.producer = job, job.snippet, file, root, producer
        self.future = None

    @property
    def runs(self) -> bool:
        """Whether this block has a verification of its own (a block that only shows another's output has not,
        unless the output turns out not to be that)."""
        return not (self.producer is not None and self.job.output_expected)

    def start(self):
        """Take the cached result, or the run started before pytest did (see Prefetch); else queue the run."""
        if not self.runs or self.future is not None:
            return
        session = self.config.stash[SESSION]
        folder = None if self.config.getoption("snippet_no_cache") else self.root / ".cache" / "snippets"
        self.future = session.prefetched.pop((cache.key(self.job, session.runner.jailed), self.file), None) or \
            session.runner.verify(self.job, self.file, folder)
        if self.job.kind == "python" and self.config.getoption("snippet_update"):
            self.twin = session.runner.verify(self.job, self.file, None)  # re-recorded only if it repeats

    def _own(self) -> Result:
        if self.future is None:  # under xdist each worker starts a post's blocks when it reaches the post
            for item in self.parent.snippet_items.values():
                item.start()
        return self.future.result()

    def _result(self) -> Result:
        if self.producer is not None:  # this block may show what the block before it printed
            shown = self._as_output()
            if shown is not None:
                return shown
        return self._own()

    def _as_output(self) -> Result | None:
        source = self.producer.outcome()
        name = self.producer.snippet.name
        if source.status != VERIFIED:
            if self.job.output_expected:
                return Result(UNVERIFIED if source.status != SKIPPED else SKIPPED, "",
                              f"the output of {name}, which was not verified")
            return None
        verdict = classify.compare_output(source.stdout, self.snippet.code, self.snippet.before)
        if verdict.name == "matches":
            return Result(VERIFIED, f"the output of {name}", date=source.date, cached=source.cached,
                          jailed=source.jailed)
        if verdict.name == "differs" or self.job.output_expected:
            diff = verdict.diff
            return Result(FAILED, f"the output of {name}", "the output shown in the post differs from what the code "
                          f"prints ({name}, line {self.producer.snippet.line}):\n{diff}", self.snippet.line,
                          jailed=source.jailed)
        return None  # not its output after all: the block is what it is

    def outcome(self) -> Result:
        """This block's result, with its recorded output compared (once), and a failure that is really an
        earlier block's said once."""
        if not hasattr(self, "_outcome"):
            result = self._result()
            if result.status == VERIFIED and self.job.kind == "python" and self.runs:
                self._recorded(result)
            if result.status == FAILED and result.dependency is not None:
                earlier = self.parent.snippet_items.get(result.dependency)
                if earlier is not None and earlier.outcome().status in (FAILED, UNVERIFIED, SKIPPED):
                    result.status = UNVERIFIED  # the earlier block's failure is reported there, once
            self._known(result)
            self._outcome = result
        return self._outcome

    VARIES = "prints something different each run (random, or timing): its output is shown, never compared"

    def _recorded(self, result: Result) -> None:
        """Compare what it printed with `NN.out`, recorded the first time. Output that differs from it is run once
        more: when it varies between runs (random, timing), it is reported as such, and no longer recorded or
        compared; `--update` records only what a second run prints again."""
        path = record.output_file(self.file)
        if result.note == self.VARIES:
            path.unlink(missing_ok=True)
            return
        update = self.config.getoption("snippet_update")
        if update:
            twin = getattr(self, "twin", None) or self.config.stash[SESSION].runner.verify(self.job, self.file, None)
            if self._varies(result, twin.result()):
                path.unlink(missing_ok=True)
                return
        diff = record.check_output(path, result.stdout, update)
        if diff and self._varies(result, self.config.stash[SESSION].runner.verify(self.job, self.file, None).result()):
            path.unlink(missing_ok=True)
        elif diff:
            result.status, result.reason, result.line = FAILED, diff, self.snippet.line

    def _varies(self, result: Result, again: Result) -> bool:
        if again.status == VERIFIED and again.stdout != result.stdout:
            result.note, result.cached = self.VARIES, False
            folder = None if self.config.getoption("snippet_no_cache") else self.root / ".cache" / "snippets"
            if folder:  # the cached pass must say so too, or a warm run would compare it again
                cache.store(folder, self.job, self.config.stash[SESSION].runner.jailed, result)
            return True
        return False

    def _known(self, result: Result) -> None:
        """A failure listed in the site's baseline is accepted, and said so; a listed block that passes now is
        worth knowing about."""
        self.known = None
        known = self.config.stash[SESSION].baseline(self.root)
        key = (os.path.relpath(self.snippet.post, self.root), baseline.fingerprint(publish.code_sha256(self.snippet.code)))
        if key not in known:
            return
        if result.status == FAILED and not self.config.getoption("snippet_write_baseline"):
            self.known = result.reason
            result.status = UNVERIFIED
            result.reason = f"a known failure, listed in {baseline.FILE}: {result.reason.splitlines()[0]}"
        elif result.status == VERIFIED:
            self.config.stash[SESSION].fixed.append(
                f"{where(self.snippet.post, self.snippet.line)}: {self.snippet.name} passes now: remove it from "
                f"{baseline.FILE}")

    def runtest(self):
        try:
            result = self.outcome()
        except (JailError, ToolError) as err:
            self.config.stash[SESSION].broken = str(err)
            pytest.exit(str(err), returncode=EXIT_TOOL_BROKE)
        self.user_properties.append((RESULT, self._entry(result)))
        if result.status == FAILED:
            raise SnippetFailed(result)
        if result.status != VERIFIED:
            pytest.skip(printable(result.reason))

    def _entry(self, result: Result) -> dict:
        """What the page and the summary need to know, as plain data (it travels between xdist workers)."""
        s, d = self.snippet, self.snippet.directives
        expect = d.expect_exception or (f"exit {d.expect_exit}" if d.expect_exit is not None else None)
        return {"post": os.path.relpath(s.post, self.root), "site": str(self.root), "index": s.index,
                "line": s.line, "lang": s.lang, "kind": self.job.kind, "note": result.note or self.job.note or None,
                "file": os.path.relpath(self.file, self.root), "sha256": publish.code_sha256(s.code),
                "status": result.status, "checker": result.checker, "date": result.date, "cached": result.cached,
                "jailed": result.jailed, "output": result.stdout if result.status == VERIFIED else None,
                "reason": printable(result.reason) or None, "where": where(s.post, result.line or s.line),
                "packages": result.packages or None, "known": getattr(self, "known", None),
                "timeline": result.timeline, "network": self.job.network or None,
                "setup": d.setup or None, "expect": expect, "after": [b.index for b in self.job.after] or None,
                "output_of": self.producer.snippet.index if self.producer is not None
                and result.checker.startswith("the output of") else None}

    def repr_failure(self, excinfo):
        if not isinstance(excinfo.value, SnippetFailed):
            return super().repr_failure(excinfo)
        result = excinfo.value.args[0]
        at = result.line or self.snippet.line
        lines = self.snippet.code.rstrip("\n").split("\n")
        listing = [f"{'>' if self.snippet.line + i == at else ' '} {self.snippet.line + i:4d} | {text}"
                   for i, text in enumerate(lines)]
        parts = [f"{where(self.snippet.post, at)}: {result.reason}", "", *listing]
        for name, text in (("stdout", result.stdout), ("stderr", self._in_post_terms(result.stderr))):
            if text.strip():  # (the end of each: where it went wrong)
                parts += ["", f"{name}:", *text.rstrip().splitlines()[-25:]]
        return printable("\n".join(parts))  # a snippet's output, or a post, must not drive the terminal

    def _in_post_terms(self, text: str) -> str:
        """Traceback and warning lines of the snippet files, pointed at the post instead."""
        lines = {f"{s.index:02d}.py": s.line for s in self.job.chain}

        def repoint(match):
            name, line = match.group(1), int(match.group(2))
            if name not in lines:
                return match.group(0)
            return f'File "{where(self.snippet.post)}", line {lines[name] + line - 1}'

        def repoint_warning(match):
            name, line = match.group(1), int(match.group(2))
            return f"{where(self.snippet.post, lines[name] + line - 1)}: " if name in lines else match.group(0)
        return diagnostics.WARNING_AT.sub(repoint_warning, diagnostics.FRAME.sub(repoint, text))

    def reportinfo(self):
        return self.path, self.snippet.line - 1, f"snippet {self.snippet.name} ({self.snippet.lang or 'text'})"
