"""pytest plugin (entry point `snipcheck`): every code snippet of a post in `_posts/` is one test item,
`_posts/<post>.md::NN.ext:LINE`. `pytest _posts/` verifies them all."""

import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from . import cache, diagnostics, plan, publish, record, verify
from .errors import PostError, where
from .extract import write_post
from .find import Snippet, find_all, posts_in, site_root
from .runner import Runner

RESULT = "snippet"  # the user_properties key that carries a snippet's result to the summary (xdist too)
POSTS = pytest.StashKey[dict]()
SESSION = pytest.StashKey["SnippetSession"]()
WORDS = {verify.VERIFIED: ("passed", "V", "VERIFIED"),  # "passed": CI reads pytest's closing line
         verify.SKIPPED: ("skipped", "s", "SKIPPED"),
         verify.UNVERIFIED: ("shown, not verified", "u", "SHOWN, NOT VERIFIED")}


def pytest_addoption(parser):
    group = parser.getgroup("snipcheck", "verify the code snippets of Jekyll posts")
    group.addoption("--snippet-timeout", type=float, default=30.0, metavar="SECONDS",
                    help="kill a snippet (and all it started) after this long; default 30")
    group.addoption("--snippet-update", action="store_true",
                    help="re-record each snippet's output (NN.out) instead of comparing with it")
    group.addoption("--snippet-jobs", type=int, default=None, metavar="N",
                    help="how many snippets may run at once; default: one per 64 MB of free memory, 4 to 64")
    group.addoption("--snippet-slow-callback", type=float, default=0.1, metavar="SECONDS",
                    help="fail a snippet whose callback or task blocks the event loop longer; default 0.1")
    group.addoption("--snippet-memory", type=int, default=1024, metavar="MB",
                    help="memory each snippet process may use; default 1024")
    group.addoption("--snippet-report", metavar="PATH", help="also write the results as JSON to PATH")
    group.addoption("--snippet-no-cache", action="store_true",
                    help="run every snippet, even those whose passing result is cached in .cache/snippets")


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
        posts = posts_in(root)
        cache.update(find_all(posts if path in posts else [path], root))
    return cache[path]


class PostFile(pytest.File):
    def collect(self):
        found = _found(self.config, self.path)
        if isinstance(found, PostError):
            raise self.CollectError(str(found))
        root = site_root(self.path)
        files = write_post(root / "snippets", self.path, found)
        jobs = plan.plan(found, self.config.getoption("snippet_timeout"),
                         self.config.getoption("snippet_slow_callback"), self.config.getoption("snippet_memory"))
        shows_output_of = plan.output_blocks(found)
        items = self.snippet_items = {}
        for job, file in zip(jobs, files):
            producer = items.get(shows_output_of.get(job.snippet.index))
            items[job.snippet.index] = SnippetItem.from_parent(
                self, name=f"{job.snippet.name}:{job.snippet.line}", job=job, file=file, root=root,
                producer=producer)
            yield items[job.snippet.index]
        python = [s for s in found if s.language == "python"]
        if python and all(s.directives.skip for s in python):
            yield PostExecutesNothing.from_parent(self, name="python-is-executed", first=python[0])


class SnippetFailed(Exception):
    pass


class SnippetItem(pytest.Item):
    def __init__(self, *, job: plan.Job, file: Path, root: Path, producer: "SnippetItem | None", **kwargs):
        super().__init__(**kwargs)
        self.job, self.snippet, self.file, self.root, self.producer = job, job.snippet, file, root, producer
        self.future = None

    def start(self):
        """Take the cached result when nothing it depends on changed, or the run started before pytest did
        (see Prefetch); else queue the run."""
        if self.producer is not None or self.future is not None:
            return
        session = self.config.stash[SESSION]
        folder = None if self.config.getoption("snippet_no_cache") else self.root / ".cache" / "snippets"
        self.future = session.prefetched.pop(cache.key(self.job), None) or \
            session.runner.verify(self.job, self.file, folder)

    def _result(self) -> verify.Result:
        if self.producer is not None:  # this block shows another block's output: verified with it
            source = self.producer.outcome()
            if source.status == verify.VERIFIED:
                return verify.Result(verify.VERIFIED, f"the output of {self.producer.snippet.name}")
            return verify.Result(source.status if source.status != verify.FAILED else verify.UNVERIFIED, "",
                                 f"the output of {self.producer.snippet.name}, which was not verified")
        if self.future is None:  # under xdist each worker starts a post's snippets when it reaches the post
            for item in self.parent.snippet_items.values():
                item.start()
        return self.future.result()

    def outcome(self) -> verify.Result:
        """This snippet's result, including the comparison with its recorded output (once)."""
        if not hasattr(self, "_outcome"):
            result = self._result()
            if result.status == verify.VERIFIED and self.snippet.language == "python":
                diff = record.check_output(record.output_file(self.file), result.stdout,
                                           self.config.getoption("snippet_update"))
                if diff:
                    result.status, result.reason, result.line = verify.FAILED, diff, self.snippet.line
            self._outcome = result
        return self._outcome

    def runtest(self):
        result = self.outcome()
        self.user_properties.append((RESULT, self._entry(result)))
        if result.status == verify.FAILED:
            raise SnippetFailed(result)
        if result.status != verify.VERIFIED:
            pytest.skip(result.reason)

    def _entry(self, result) -> dict:
        """What the page and the summary need to know, as plain data (it travels between xdist workers)."""
        return {"post": os.path.relpath(self.snippet.post, self.root), "site": str(self.root),
                "index": self.snippet.index, "line": self.snippet.line, "lang": self.snippet.lang,
                "file": os.path.relpath(self.file, self.root), "sha256": publish.code_sha256(self.snippet.code),
                "status": result.status, "checker": result.checker, "date": result.date, "cached": result.cached,
                "output": result.stdout if result.status == verify.VERIFIED else None,
                "reason": result.reason or None, "where": where(self.snippet.post, result.line or self.snippet.line)}

    def repr_failure(self, excinfo):
        if not isinstance(excinfo.value, SnippetFailed):
            return super().repr_failure(excinfo)
        result = excinfo.value.args[0]
        at = result.line or self.snippet.line
        lines = self.snippet.code.rstrip("\n").split("\n")
        listing = [f"{'>' if self.snippet.line + i == at else ' '} {self.snippet.line + i:4d} | {text}"
                   for i, text in enumerate(lines)]
        parts = [f"{where(self.snippet.post, at)}: {result.reason}", "", *listing]
        if result.stderr.strip():
            parts += ["", "stderr:", *self._in_post_terms(result.stderr).rstrip().splitlines()[-25:]]
        return "\n".join(parts)

    def _in_post_terms(self, text: str) -> str:
        """Traceback lines of the snippet files, pointed at the post instead."""
        lines = {s.name: s.line for s in self.job.chain}

        def repoint(match):
            name, line = match.group(1), int(match.group(2))
            if name not in lines:
                return match.group(0)
            return f'File "{where(self.snippet.post)}", line {lines[name] + line - 1}'
        return diagnostics.FRAME.sub(repoint, text)

    def reportinfo(self):
        return self.path, self.snippet.line - 1, f"snippet {self.snippet.name} ({self.snippet.lang or 'text'})"


class PostExecutesNothing(pytest.Item):
    """A post that shows Python but skips every block of it verifies nothing: say so, and fail."""

    def __init__(self, *, first: Snippet, **kwargs):
        super().__init__(**kwargs)
        self.first = first

    def runtest(self):
        self.user_properties.append(("snippet-post-failure", self.repr_failure(None)))
        raise SnippetFailed(self.first)

    def repr_failure(self, excinfo):
        return (f"{where(self.first.post, self.first.line)}: vacuous post: every Python block is skipped, so none "
                "of its code is executed; remove a `skip`, or verify at least one block")

    def reportinfo(self):
        return self.path, self.first.line - 1, "every Python block is skipped"


class Prefetch:
    """Runs started before pytest (by `invoke test-snippets`, while pytest starts up), by cache key."""

    def __init__(self, runner: Runner, futures: dict):
        self.runner, self.futures = runner, futures


class SnippetSession:
    """Per pytest run: starts the snippets, gathers their results, publishes them and sums them up."""

    def __init__(self, config):
        self.config, self.runner, self.entries, self.failures = config, None, [], []
        self.prefetched, self.own_runner = {}, True

    def pytest_collection_finish(self, session):
        """Start every selected snippet now; each item then only waits for its own result."""
        items = [item for item in session.items if isinstance(item, SnippetItem)]
        prefetch = next((p for p in self.config.pluginmanager.get_plugins() if isinstance(p, Prefetch)), None)
        if prefetch is not None:
            self.runner, self.prefetched, self.own_runner = prefetch.runner, prefetch.futures, False
        if items:
            self.runner = self.runner or Runner(self.config.getoption("snippet_jobs"))
            if getattr(self.config, "workerinput", None) is None:  # xdist workers start per post, later
                for item in items:
                    item.start()

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            self.entries += [value for key, value in report.user_properties if key == RESULT]
            self.failures += [value for key, value in report.user_properties if key == "snippet-post-failure"]

    def pytest_report_teststatus(self, report, config):
        entry = dict(getattr(report, "user_properties", ())).get(RESULT)  # collect reports have none
        if report.when == "call" and entry and entry["status"] in WORDS:
            category, letter, word = WORDS[entry["status"]]
            return (category, "c", f"{word} (cached)") if entry.get("cached") else (category, letter, word)
        return None

    def pytest_sessionfinish(self, session):
        if self.runner is not None and self.own_runner:
            self.runner.close()
        if getattr(self.config, "workerinput", None) is not None:
            return  # an xdist worker: the controller publishes what the workers report
        by_post = defaultdict(list)
        for entry in self.entries:
            by_post[(entry["site"], entry["post"])].append(entry)
        for (site, post), entries in by_post.items():
            page = [{k: v for k, v in e.items() if k not in ("site", "post", "where", "cached")} for e in entries]
            publish.write_post_data(Path(site) / "_data", post, page)
        report = self.config.getoption("snippet_report")
        if report:
            Path(report).parent.mkdir(parents=True, exist_ok=True)
            Path(report).write_text(json.dumps({"snippets": self.entries, "failures": self._failure_lines()},
                                               indent=1) + "\n")

    def _failure_lines(self) -> list[str]:
        lines = [f"{e['where']}: {e['reason'].splitlines()[0]}" for e in self.entries if e["status"] == verify.FAILED]
        return lines + self.failures

    def pytest_terminal_summary(self, terminalreporter):
        if not self.entries and not self.failures:
            return
        write = terminalreporter.write_line
        terminalreporter.section("snippets")
        by_post = defaultdict(Counter)
        for entry in self.entries:
            by_post[entry["post"]][entry["status"]] += 1
            by_post[entry["post"]]["cached"] += bool(entry.get("cached"))
        for post, counts in sorted(by_post.items()):
            cached = f" ({counts['cached']} cached)" if counts["cached"] else ""
            write(f"{post}: {counts['verified']} verified{cached}, {counts['failed']} failed, "
                  f"{counts['skipped']} skipped, {counts['unverified']} shown, not verified")
        for line in self._failure_lines():
            write(line, red=True)
