"""What a pytest run of snippets adds up to: it starts every block at once, gathers each block's result (from
the items, or from xdist workers), publishes the results for the pages, writes the report and the baseline,
and sums them up at the end."""

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from . import baseline, imports, plan, publish
from .errors import printable
from .find import posts_in
from .result import FAILED, SKIPPED, UNVERIFIED, VERIFIED
from .runner import Prefetch, Runner

RESULT = "snippet"  # the user_properties key that carries a block's result to the summary (xdist too)
WORDS = {VERIFIED: ("passed", "V", "VERIFIED"),  # "passed": CI reads pytest's closing line
         SKIPPED: ("skipped", "s", "SKIPPED"),
         UNVERIFIED: ("shown, not verified", "u", "SHOWN, NOT VERIFIED")}


class SnippetSession:
    """Per pytest run: starts the snippets, gathers their results, publishes them and sums them up."""

    def __init__(self, config):
        self.config, self.runner, self.entries = config, None, []
        self.prefetched, self.own_runner, self.broken = {}, True, None
        self.baselines, self.fixed, self.collected, self.posts, self.timelines = {}, [], {}, {}, {}

    def baseline(self, root: Path) -> dict:
        if root not in self.baselines:
            self.baselines[root] = baseline.load(root)
        return self.baselines[root]

    def pytest_collection_finish(self, session):
        """Start every selected block now; each item then only waits for its own result."""
        items = [item for item in session.items if hasattr(item, "job")]  # our SnippetItems
        prefetch = next((p for p in self.config.pluginmanager.get_plugins() if isinstance(p, Prefetch)), None)
        if prefetch is not None:
            self.runner, self.prefetched, self.own_runner = prefetch.runner, prefetch.futures, False
        if items and not self.config.option.collectonly:
            jailed = all(item.job.settings.jail for item in items)
            self.runner = self.runner or Runner(self.config.getoption("snippet_jobs"), jailed)
            if getattr(self.config, "workerinput", None) is None:  # xdist workers start per post, later
                for item in items:
                    item.start()

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            for key, value in report.user_properties:
                if key == RESULT:
                    self.entries.append(value)
                    self.timelines[(value["site"], value["post"], value["index"])] = value.get("timeline")
                    if getattr(self.config, "workerinput", None) is None:  # (xdist: the controller publishes)
                        publish.timeline_figure(Path(value["site"]), value)  # now, while later blocks still run

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
        by_site = defaultdict(list)
        for entry in self.entries:
            by_site[Path(entry["site"])].append(entry)
        for root in set(by_site) | set(self.collected):
            collected = self.collected.get(root, set())
            entries = by_site.get(root, [])
            by_post = defaultdict(list)
            for entry in entries:
                by_post[entry["post"]].append(entry)
            warnings = {post: warning for post, ours in by_post.items() if (warning := self._warning(ours))}
            publish.write_results(root, entries, every_post=collected >= set(self.posts.get(root) or posts_in(root)), posts=collected,
                                  warnings=warnings)
        if self.config.getoption("snippet_write_baseline"):
            for site in {entry["site"] for entry in self.entries}:
                ours = [e for e in self.entries if e["site"] == site]
                written = baseline.write(Path(site), ours)
                self.wrote = f"wrote {written} ({sum(e['status'] == FAILED for e in ours)} failing blocks)" if written \
                    else "nothing fails: no baseline needed"
            if session.exitstatus == pytest.ExitCode.TESTS_FAILED and not self.broken:
                session.exitstatus = pytest.ExitCode.OK  # every failure is in the baseline now
        report = self.config.getoption("snippet_report")
        if report:
            Path(report).parent.mkdir(parents=True, exist_ok=True)
            Path(report).write_text(json.dumps({"snippets": self.entries, "failures": self._failure_lines(),
                                                "warnings": self._warnings()}, indent=1) + "\n")

    @staticmethod
    def _warning(entries: list[dict]) -> str | None:
        python = [e for e in entries if e["kind"] in plan.PYTHON]
        if python and all(e["status"] == SKIPPED for e in python):
            return "every Python block of this post is skipped, so none of its code was run"
        return None

    def _warnings(self) -> list[str]:
        by_post = defaultdict(list)
        for entry in self.entries:
            by_post[entry["post"]].append(entry)
        lines = [f"{post}: {warning}" for post, entries in sorted(by_post.items())
                 if (warning := self._warning(entries))]
        missing = [imports.Missing(name, name) for name in sorted({p for e in self.entries for p in e.get("packages") or ()})]
        if missing:
            lines.append(f"some blocks need packages nobody declared; {imports.declare_hint(missing)}")
        return lines

    def _failure_lines(self) -> list[str]:
        return [f"{e['where']}: {e['reason'].splitlines()[0]}" for e in self.entries if e["status"] == FAILED]

    def pytest_terminal_summary(self, terminalreporter):
        if self.broken:
            terminalreporter.write_line(printable(self.broken), red=True)
        if not self.entries:
            return
        def write(line: str, **markup) -> None:
            terminalreporter.write_line(printable(line), **markup)  # post names come from their files
        terminalreporter.section("snippets")
        by_post = defaultdict(Counter)
        for entry in self.entries:
            by_post[entry["post"]][entry["status"]] += 1
            by_post[entry["post"]]["cached"] += bool(entry.get("cached"))
        for post, counts in sorted(by_post.items()):
            cached = f" ({counts['cached']} cached)" if counts["cached"] else ""
            write(f"{post}: {counts['verified']} verified{cached}, {counts['failed']} failed, "
                  f"{counts['skipped']} skipped, {counts['unverified']} shown, not verified")
        for line in self._warnings():
            write(f"warning: {line}", yellow=True)
        known = sum(bool(e.get("known")) for e in self.entries)
        if known:
            write(f"{known} known failures, accepted by {baseline.FILE}")
        for line in self.fixed:
            write(line, green=True)
        if getattr(self, "wrote", None):
            write(self.wrote)
        if any(e.get("jailed") is False for e in self.entries):
            write("warning: snippets ran WITHOUT the jail (--no-jail): they could read and change your files",
                  yellow=True)
        if self.config.getoption("snippet_timeline"):
            from . import timeline
            for entry in self.entries:
                data = self.timelines.get((entry["site"], entry["post"], entry["index"]))
                if data and data.get("tasks"):
                    terminalreporter.section(f"timeline of {entry['where']}", sep="-")
                    write(timeline.text(data))
        for line in self._failure_lines():
            write(line, red=True)
