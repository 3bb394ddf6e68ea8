"""The tools `invoke bench` compares, each run as its user runs it: one fresh process of the same Python per
run, timed whole (start-up, imports, collection, every snippet, the report), its pytest summary read back so
a tool that failed or ran fewer snippets is shown as such. Only the plugin under test is loaded
(PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 and `-p`)."""

import importlib.metadata
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PYTEST = [sys.executable, "-m", "pytest", "_posts", "-p", "no:cacheprovider", "--rootdir", ".", "-q"]
SYBIL_CONFTEST = '''\
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser

pytest_collect_file = Sybil(parsers=[PythonCodeBlockParser()], patterns=["*.md"]).pytest()
'''


@dataclass
class Tool:
    name: str
    argv: list[str]
    does: str  # what one of its runs includes, for the bench's notes
    package: str = ""  # the distribution that must be installed; "" for ours
    conftest: str = ""  # written into the corpus before it runs
    env: dict[str, str] = field(default_factory=dict)

    def installed(self) -> bool:
        return not self.package or importlib.util.find_spec(self.package.replace("-", "_")) is not None

    def version(self) -> str:
        try:
            return importlib.metadata.version(self.package or "snipcheck")
        except importlib.metadata.PackageNotFoundError:
            return "not installed"


def ours(via: str = "invoke", jobs: int = 0, no_cache: bool = False) -> Tool:
    """Our verification, as a blogger runs it: `invoke test-snippets` in the site, or `pytest _posts`."""
    if via == "invoke":
        argv = [sys.executable, "-m", "invoke", "test-snippets", *(["--jobs", str(jobs)] if jobs else []),
                *(["--no-cache"] if no_cache else [])]
        how = "its setup check, extraction (kramdown), then pytest with only our plugin; "
    else:
        argv = [*PYTEST, "-p", "snipcheck.pytest_plugin", *(["--snippet-jobs", str(jobs)] if jobs else []),
                *(["--snippet-no-cache"] if no_cache else [])]
        how = "extraction (kramdown) during collection; "
    return Tool("ours", argv, how + "each snippet run as a program in our sandbox (`-X dev`, asyncio debug), "
                "concurrently, its output compared with NN.out; results published for the page")


SYBIL = Tool("Sybil", PYTEST, "with a conftest.py: Sybil(parsers=[PythonCodeBlockParser()], "
             "patterns=['*.md']); each block exec'd inside the pytest process, one after another, no isolation, "
             "output not checked", package="sybil", conftest=SYBIL_CONFTEST)
MARKDOWN_DOCS = Tool("markdown-docs", [*PYTEST, "-p", "pytest_markdown_docs.plugin", "--markdown-docs"],
                     "each ```python block exec'd inside the pytest process, one after another, no isolation, "
                     "output not checked", package="pytest-markdown-docs")
PEERS = [SYBIL, MARKDOWN_DOCS]


@dataclass
class Run:
    """One timed run of a tool over a corpus, and what its pytest summary says it did."""
    tool: str
    expected: int | None  # snippets it must report as passed; None: a command with no pytest summary
    seconds: float = 0.0
    code: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False
    missing: bool = False
    output: str = ""

    @property
    def ok(self) -> bool:
        """Every expected snippet passed, nothing failed: only then does its time mean anything."""
        if self.timed_out or self.missing or self.code != 0:
            return False
        passed = self.counts.get("passed", 0)
        return self.expected is None or passed == self.expected == sum(self.counts.values())

    def cell(self) -> str:
        if self.missing:
            return "not installed"
        if self.timed_out:
            return f"timeout >{self.seconds:.0f} s"
        if self.ok:
            return f"{self.seconds:.2f} s" + (f" ({self.expected})" if self.expected is not None else "")
        did = f"exit {self.code}" if self.expected is None else f"{self.counts.get('passed', 0)}/{self.expected}"
        return f"FAILED {did}" if self.code else f"ONLY {did}"

    def problem(self) -> str:
        """Why a run that is not ok is not: the summary and the end of its output."""
        said = ", ".join(f"{n} {k}" for k, n in self.counts.items()) or "no pytest summary"
        return f"{self.tool}: exit {self.code}, {said}\n" + "\n".join(self.output.strip().splitlines()[-15:])


SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")


UNCHANGED = re.compile(r"^Nothing changed since the last run \([^)]*\): (.*?)\. Its results stand", re.M)


def summary(output: str) -> dict[str, int]:
    """The counts of pytest's closing line (`3 passed, 1 failed in 0.52s`), or of ours when nothing changed since
    the last run and no pytest ran (`200 verified`: as passed); {} when there is neither."""
    if unchanged := UNCHANGED.search(output):
        return {"passed" if status == "verified" else status: int(n)
                for n, status in re.findall(r"(\d+) ([\w ]+)", unchanged.group(1))}
    for line in reversed(output.splitlines()):
        if re.search(r"\bin [\d.]+s\b", line) and (SUMMARY.search(line) or "no tests ran" in line):
            return {kind.rstrip("s") if kind.startswith("error") else kind: int(n)
                    for n, kind in SUMMARY.findall(line)}
    return {}


def run(tool: Tool, corpus: Path, expected: int | None, timeout: float, watch=None) -> Run:
    """Time `tool` over the corpus in a fresh process group; stop it all after `timeout` seconds.
    `watch(pid)`, if given, is called with the process id once it started (a memory sampler)."""
    if not tool.installed():
        return Run(tool.name, expected, missing=True)
    if tool.conftest:
        (corpus / "conftest.py").write_text(tool.conftest)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **tool.env)
    start = time.perf_counter()
    process = subprocess.Popen(tool.argv, cwd=corpus, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    if watch:
        watch(process.pid)
    try:
        output, _ = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        timed_out = True
    seconds = time.perf_counter() - start
    return Run(tool.name, expected, seconds if not timed_out else timeout, process.returncode, summary(output),
               timed_out, output=output)
