"""pytest plugin (entry point `snipcheck`): every code snippet of a post in `_posts/` is one test item,
`_posts/<post>.md::NN.ext:LINE`. `pytest _posts/` verifies them all."""

import datetime
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from . import publish, record, verify
from .errors import PostError, where
from .extract import post_folder, write_post
from .find import Snippet, find_all, site_root
from .runner import Runner

RESULT = "snippet"  # the user_properties key that carries a snippet's result to the summary (xdist too)
POSTS = pytest.StashKey[dict]()
SESSION = pytest.StashKey["SnippetSession"]()


def pytest_addoption(parser):
    group = parser.getgroup("snipcheck", "verify the code snippets of Jekyll posts")
    group.addoption("--snippet-timeout", type=float, default=30.0, metavar="SECONDS",
                    help="kill a snippet (and all it started) after this long; default 30")
    group.addoption("--snippet-update", action="store_true",
                    help="re-record each snippet's output (NN.out) instead of comparing with it")
    group.addoption("--snippet-jobs", type=int, default=16, metavar="N",
                    help="how many snippets may run at once; default 16 (they mostly wait)")


def pytest_configure(config):
    config.stash[POSTS] = {}
    config.stash[SESSION] = SnippetSession(config)
    config.pluginmanager.register(config.stash[SESSION], "snipcheck-session")


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix in (".md", ".markdown") and "_posts" in file_path.parts[:-1]:
        return PostFile.from_parent(parent, path=file_path)
    return None


def _found(config, path: Path) -> list[Snippet] | PostError:
    """All posts of a site are read with one kramdown run, the first time one of them is collected."""
    cache = config.stash[POSTS]
    if path not in cache:
        root = site_root(path)
        posts = sorted(p for p in (root / "_posts").rglob("*") if p.suffix in (".md", ".markdown"))
        cache.update(find_all(posts if path in posts else [path], root))
    return cache[path]


class PostFile(pytest.File):
    def collect(self):
        found = _found(self.config, self.path)
        if isinstance(found, PostError):
            raise self.CollectError(str(found))
        root = site_root(self.path)
        files = write_post(root / "snippets", self.path, found)
        for snippet, file in zip(found, files):
            yield SnippetItem.from_parent(self, name=f"{snippet.name}:{snippet.line}", snippet=snippet,
                                          file=file, root=root)


class SnippetFailed(Exception):
    pass


class SnippetItem(pytest.Item):
    def __init__(self, *, snippet: Snippet, file: Path, root: Path, **kwargs):
        super().__init__(**kwargs)
        self.snippet, self.file, self.root = snippet, file, root
        self.future = None

    def start(self):
        timeout = self.config.getoption("snippet_timeout")
        self.future = self.config.stash[SESSION].runner.submit(lambda: verify.verify(self.snippet, timeout))

    def runtest(self):
        if self.future is None:
            self.start()
        result = self.future.result()
        if result.status == verify.VERIFIED and self.snippet.language == "python":
            diff = record.check_output(record.output_file(self.file), result.stdout,
                                       self.config.getoption("snippet_update"))
            if diff:
                result.status, result.reason = verify.FAILED, diff
        self.user_properties.append((RESULT, self._entry(result)))
        if result.status == verify.FAILED:
            raise SnippetFailed(result)
        if result.status != verify.VERIFIED:
            pytest.skip(result.reason)

    def _entry(self, result) -> dict:
        """What the page and the summary need to know, as plain data (it travels between xdist workers)."""
        post_line = self.snippet.line + (result.line or 1) - 1
        return {"post": os.path.relpath(self.snippet.post, self.root), "site": str(self.root),
                "index": self.snippet.index, "line": self.snippet.line, "lang": self.snippet.lang,
                "file": os.path.relpath(self.file, self.root), "sha256": publish.code_sha256(self.snippet.code),
                "status": result.status, "checker": result.checker, "date": datetime.date.today().isoformat(),
                "output": result.stdout if result.status == verify.VERIFIED else None,
                "reason": result.reason or None, "where": where(self.snippet.post, post_line)}

    def repr_failure(self, excinfo):
        if not isinstance(excinfo.value, SnippetFailed):
            return super().repr_failure(excinfo)
        result = excinfo.value.args[0]
        at = self.snippet.line + (result.line or 1) - 1
        lines = self.snippet.code.rstrip("\n").split("\n")
        listing = [f"{'>' if self.snippet.line + i == at else ' '} {self.snippet.line + i:4d} | {text}"
                   for i, text in enumerate(lines)]
        parts = [f"{where(self.snippet.post, at)}: {result.reason}", "", *listing]
        if result.stderr.strip():
            parts += ["", "stderr:", *result.stderr.rstrip().splitlines()[-20:]]
        return "\n".join(parts)

    def reportinfo(self):
        return self.path, self.snippet.line - 1, f"snippet {self.snippet.name} ({self.snippet.lang or 'text'})"


class SnippetSession:
    """Per pytest run: starts the snippets, gathers their results, publishes them and sums them up."""

    def __init__(self, config):
        self.config, self.runner, self.entries = config, None, []

    def pytest_collection_finish(self, session):
        """Start every selected snippet now; each item then only waits for its own result."""
        items = [item for item in session.items if isinstance(item, SnippetItem)]
        if items:
            self.runner = Runner(self.config.getoption("snippet_jobs"))
            for item in items:
                item.start()

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            self.entries += [value for key, value in report.user_properties if key == RESULT]

    def pytest_sessionfinish(self, session):
        if self.runner is not None:
            self.runner.close()
        if getattr(self.config, "workerinput", None) is not None:
            return  # an xdist worker: the controller publishes what the workers report
        by_post = defaultdict(list)
        for entry in self.entries:
            by_post[(entry["site"], entry["post"])].append(entry)
        for (site, post), entries in by_post.items():
            page = [{k: v for k, v in e.items() if k not in ("site", "post", "where")} for e in entries]
            publish.write_post_data(Path(site) / "_data", post, page)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.entries:
            return
        write = terminalreporter.write_line
        terminalreporter.section("snippets")
        by_post = defaultdict(Counter)
        for entry in self.entries:
            by_post[entry["post"]][entry["status"]] += 1
        for post, counts in sorted(by_post.items()):
            write(f"{post}: {counts['verified']} verified, {counts['failed']} failed, "
                  f"{counts['skipped']} skipped, {counts['unverified']} shown, not verified")
        for entry in self.entries:
            if entry["status"] == verify.FAILED:
                write(f"{entry['where']}: {entry['reason'].splitlines()[0]}", red=True)
