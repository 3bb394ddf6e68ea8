"""`invoke bench`: how fast verification is and what memory it takes, side by side with Sybil and
pytest-markdown-docs on the same generated posts, in one run. Benchmarks, not tests: they print numbers beside
their targets and never fail a test suite. Every tool runs as its own process (peers.py); nothing here
imports how snippets run."""

import compileall
import gzip
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import peers, site

SITE_FILES = ["Gemfile", "Gemfile.lock", "_config.yml", "_layouts", "_includes", "_plugins", "_sass", "assets",
              "index.html", "tags.html", "404.html", "robots.txt"]
SEED = "2024-06-03-asyncio-beyond-the-basics"
SNIPPET = """```python
import asyncio

async def main():
    await asyncio.sleep({sleep})
    print("post {post}, snippet {number}: done")

asyncio.run(main())
```
"""
PER_POST = 10  # sleeping snippets per generated post
TIMED = """```python
import asyncio
import time

started = time.perf_counter()
asyncio.run(asyncio.sleep(0))
print("%.3f" % ((time.perf_counter() - started) * 1000))
```
"""  # prints how long its own asyncio.run took, in ms: what recording a timeline adds is measured inside
TOOLS = ["ours", "Sybil", "markdown-docs"]


def copy_site(repo: Path, dest: Path, posts: dict[str, str]) -> Path:
    """A copy of the blog's site files with the given posts ({file name: text})."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in SITE_FILES:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, dest / name)
        elif source.exists():
            shutil.copy2(source, dest / name)
    (dest / "_posts").mkdir(parents=True, exist_ok=True)
    for name, text in posts.items():
        (dest / "_posts" / name).write_text(text, encoding="utf-8")
    return dest


def corpus(snippets: int, per_post: int, sleep: float) -> dict[str, str]:
    """`snippets` snippets, `per_post` to a post, each waiting `sleep` seconds on the event loop (0: a
    trivial asyncio program) and printing one line."""
    counts = [min(per_post, snippets - start) for start in range(0, snippets, per_post)]
    return {f"2024-{p // 28 + 1:02d}-{p % 28 + 1:02d}-bench-{p + 1}.md":  # a real date for up to 336 posts
            f"---\nlayout: post\ntitle: Bench {p + 1}\n---\n" +
            "\n".join(SNIPPET.format(sleep=f"{sleep:g}", post=p + 1, number=n + 1) for n in range(count))
            for p, count in enumerate(counts)}


def blog(repo: Path, dest: Path, posts: dict[str, str], seed: bool = False) -> Path:
    """A blogger's checkout: the site, tasks.py, the posts, and for the seed post its recorded output."""
    copy_site(repo, dest, posts)
    shutil.copy2(repo / "tasks.py", dest / "tasks.py")
    if seed:
        shutil.copy2(repo / "_posts" / f"{SEED}.md", dest / "_posts" / f"{SEED}.md")
        if (repo / "snippets" / SEED).is_dir():
            shutil.copytree(repo / "snippets" / SEED, dest / "snippets" / SEED)
    return dest


REPEATS = 3  # runs of each timed command but the minute-long ones and those that change what follows
INSTALLED = {"envs", "packages-checked"}  # what a site's first run makes once, as the peers' own installation


def make_cold(root: Path, keep_kramdown: bool = False) -> None:
    """Empty `.cache/`: our results, and kramdown's conversions unless kept. `snippets/` (NN.out) stays, and
    what is installed: the snippet environment and the package check."""
    for entry in (root / ".cache").glob("*"):
        if entry.name not in INSTALLED and not (keep_kramdown and entry.name == "kramdown"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def touch(root: Path) -> None:
    """A new modification time for every post, content unchanged: a run must look at each again."""
    for post in (root / "_posts").iterdir():
        os.utime(post)


def page_weight(built: Path) -> dict[str, int]:
    """Gzipped bytes of the seed post page and the CSS and JS it loads from the site."""
    page = next(built.rglob(f"*{SEED.split('-', 3)[3]}*/index.html"))
    html = page.read_text(encoding="utf-8")
    weights = {"HTML": len(gzip.compress(html.encode(), 9))}
    for kind, pattern in (("CSS", r'<link[^>]+href="([^"]+\.css)"'), ("JS", r'<script[^>]+src="([^"]+\.js)"')):
        for ref in re.findall(pattern, html):
            if not ref.startswith(("http:", "https:", "//")):
                weights[f"{kind} {ref}"] = len(gzip.compress((built / ref.lstrip("/")).read_bytes(), 9))
    return weights


class TreeMemory:
    """The PSS of a process and of every process under it (`/proc/<pid>/task/*/children`, recursively),
    sampled on a thread every `interval` seconds. PSS splits shared pages among the processes sharing them,
    so the sum is what the tree costs. A process whose memory cannot be read (another user's) is skipped
    and counted in `unreadable`."""

    def __init__(self, interval: float = 0.02):
        self.interval, self.samples, self.unreadable = interval, [], set()
        self.root, self._stop, self._thread, self.duration = 0, threading.Event(), None, 0.0
        self.run: peers.Run | None = None  # the run it sampled

    def watch(self, pid: int) -> None:
        self.root, self._started = pid, time.perf_counter()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.duration = time.perf_counter() - self._started if self._thread else 0.0

    def _sample(self) -> None:
        while not self._stop.is_set():
            sample = {pid: seen for pid in tree(self.root) if (seen := self._read(pid))}
            if sample:
                self.samples.append(sample)
            self._stop.wait(self.interval)

    def _read(self, pid: int) -> tuple[str, int] | None:
        """(command name, PSS in kB), or None for what is gone, a zombie, or not readable."""
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except PermissionError:
            self.unreadable.add(pid)
            return None
        except OSError:  # ended meanwhile
            return None
        pss = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
        return (name, int(pss.group(1))) if pss else None

    def report(self, root_name: str) -> list[str]:
        if not self.samples:
            return ["  no samples (the command ended before the first one, or /proc is not readable)"]
        peak = max(self.samples, key=lambda s: sum(kb for _, kb in s.values()))
        total = sum(kb for _, kb in peak.values())
        others = {pid: seen for pid, seen in peak.items() if pid != self.root}
        count, kb_by_name = Counter(name for name, _ in others.values()), Counter()
        for name, kb in others.values():
            kb_by_name[name] += kb
        mean = sum(kb_by_name.values()) / max(len(others), 1)
        lines = [f"  peak: {total / 1024:.1f} MB PSS in all, {len(peak)} processes (most at once: "
                 f"{max(len(s) for s in self.samples)}); {len(self.samples)} samples in {self.duration:.1f} s",
                 f"  at the peak: {root_name} (the command's own process) {peak.get(self.root, ('', 0))[1] / 1024:.1f}"
                 f" MB; under it {len(others)} processes" + (f", {mean / 1024:.1f} MB each on average: " + ", ".join(
                     f"{name} {n} x {kb_by_name[name] / n / 1024:.1f} MB" for name, n in count.most_common())
                     if others else "")]
        if self.unreadable:
            lines.append(f"  {len(self.unreadable)} processes could not be read (another user's) and are not "
                         "included")
        return lines


def tree(root: int) -> list[int]:
    """`root` and every process under it, as the kernel lists children of each thread."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                todo += [int(child) for child in children.read_text().split()]
        except OSError:  # it ended meanwhile
            pass
    return found


@dataclass
class Row:
    what: str
    runs: dict[str, peers.Run | str] = field(default_factory=dict)  # a str says why a tool did not run
    target: str = ""
    verdict: str = ""


def verdict(value: float | None, limit: float, judged: bool, shown: str = "") -> str:
    if value is None:
        return "n/a: not every run passed"
    word = ("met" if value <= limit else "missed") if judged else "not judged (other size)"
    return f"{word}, {shown}" if shown else word


def table(rows: list[Row]) -> list[str]:
    cells = [["what", *TOOLS, "target", "verdict"]]
    for row in rows:
        runs = [row.runs.get(t, "") for t in TOOLS]
        cells.append([row.what, *(r if isinstance(r, str) else r.cell() for r in runs), row.target, row.verdict])
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]


def header(repo: Path, via: str) -> list[str]:
    memory = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    lock = repo / "Gemfile.lock"
    gems = dict(re.findall(r"^    (jekyll|kramdown) \(([^)]+)\)", lock.read_text() if lock.exists() else "", re.M))
    bwrap = shutil.which("bwrap") and subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout
    versions = [f"snipcheck {peers.ours().version()}", f"pytest {importlib.metadata.version('pytest')}",
                *(f"{tool.package} {tool.version()}" for tool in peers.PEERS),
                *(f"{gem} {version}" for gem, version in gems.items()), (bwrap or "bwrap: none").strip()]
    return [f"Machine: {os.cpu_count()} cores, {int(memory.group(1)) / 2 ** 20:.1f} GiB memory, load average "
            f"{os.getloadavg()[0]:.1f} now (timings are noisy when it is above the cores)",
            f"Python {sys.version.split()[0]} ({sys.executable}); ours runs as `"
            f"{'invoke test-snippets' if via == 'invoke' else 'pytest _posts'}`",
            "Versions: " + ", ".join(versions)]


def median(runs: list[peers.Run]) -> peers.Run:
    """The run of median time, or the first that went wrong: a failure is never hidden behind a good time."""
    failed = [run for run in runs if not run.ok]
    return failed[0] if failed else sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


class Session:
    """One bench run: its temporary folder, how ours runs, the time limit, and the runs that went wrong."""

    def __init__(self, repo: Path, tmp: Path, via: str, timeout: float):
        self.repo, self.tmp, self.via, self.timeout, self.problems = repo, tmp, via, timeout, []
        self.ours = peers.ours(via)
        # Byte-compiled ahead, as pip leaves an installed package (the peers'): an editable install is compiled on
        # first import, the warm interpreter's code never (the jail is read-only), and not at all under
        # PYTHONDONTWRITEBYTECODE.
        compileall.compile_dir(Path(__file__).parent, quiet=1)

    def timed(self, tool: peers.Tool, where: Path, expected: int | None, cold: str = "", watch=None,
              repeats: int = 1) -> peers.Run:
        """The median of `repeats` runs (this machine's timings wander), or the first that went wrong. `cold`:
        "all" empties `.cache/` before each, "kramdown kept" all of it but kramdown's conversions."""
        runs = []
        for _ in range(repeats):
            runs.append(self._once(tool, where, expected, cold, watch))
            if not runs[-1].ok:
                break
        return median(runs)

    def _once(self, tool: peers.Tool, where: Path, expected: int | None, cold: str, watch) -> peers.Run:
        if cold:
            make_cold(where, keep_kramdown=cold == "kramdown kept")
        done = peers.run(tool, where, expected, self.timeout, watch)
        if not done.ok and not done.missing:
            bug = where / ".cache" / "last-error.txt"  # our tool's own failure: its details die with the folder
            self.problems.append(done.problem() + (f"\n{bug.name}:\n" + "\n".join(
                bug.read_text().strip().splitlines()[-12:]) if bug.exists() else ""))
        return done

    def invoke(self, task: str) -> peers.Tool:
        return peers.Tool(f"invoke {task}", [sys.executable, "-m", "invoke", task], "")

    def blog(self, name: str, posts: dict[str, str], seed: bool = False) -> Path:
        """A checkout of its own, set up once (invoke's setup check resolves the Gemfile per checkout)."""
        where = blog(self.repo, self.tmp / name, posts, seed)
        self.timed(self.invoke("setup"), where, None)
        return where


def trivial_rows(s: Session, posts: int, snippets: int) -> list[Row]:
    count, trivial = posts * snippets, corpus(posts * snippets, snippets, 0)
    mine = s.blog("trivial/ours", trivial)
    cold = Row(f"{count} trivial asyncio snippets, cold",
               {"ours": s.timed(s.ours, mine, count, "all", repeats=REPEATS)}, "<= 1.5 x Sybil")
    kept = Row("  same, kramdown's cache kept (ours only)",
               {"ours": s.timed(s.ours, mine, count, "kramdown kept", repeats=REPEATS)})
    warm = Row(f"{count} trivial snippets, warm (nothing changed)",
               {"ours": s.timed(s.ours, mine, count, repeats=REPEATS)}, "<= 0.3 s")
    touch(mine)
    touched = Row("  same, posts touched (every result from the cache)", {"ours": s.timed(s.ours, mine, count)})
    for tool in peers.PEERS:
        cold.runs[tool.name] = s.timed(tool, s.blog(f"trivial/{tool.name}", trivial), count,
                                       repeats=REPEATS)
    ours, sybil = cold.runs["ours"], cold.runs["Sybil"]
    cold.verdict = verdict(ours.seconds / sybil.seconds if ours.ok and sybil.ok else None, 1.5, count == 200,
                           f"{ours.seconds / max(sybil.seconds, 1e-9):.1f} x")
    warm.verdict = verdict(warm.runs["ours"].seconds if warm.runs["ours"].ok else None, 0.3, count == 200)
    return [cold, kept, warm, touched]


def sleeping_rows(s: Session, sleepers: int, sleep: float, serial: bool, peers_on_sleep: bool,
                  memory: "TreeMemory") -> list[Row]:
    """Cold, serial, a cold run sampled for memory (its own run: sampling takes CPU), then the builds."""
    sleeping = corpus(sleepers, PER_POST, sleep)
    mine = s.blog("sleeping/ours", sleeping)
    slept = Row(f"{sleepers} snippets sleeping {sleep:g} s, cold",
                {"ours": s.timed(s.ours, mine, sleepers, "all", repeats=REPEATS)},
                "<= 1.3 s")
    slept.verdict = verdict(slept.runs["ours"].seconds if slept.runs["ours"].ok else None, 1.3,
                            (sleepers, sleep) == (60, 1.0))
    for tool in peers.PEERS:
        slept.runs[tool.name] = (s.timed(tool, s.blog(f"sleeping/{tool.name}", sleeping), sleepers)
                                 if peers_on_sleep else "skipped")
    rows = [slept]
    if serial:
        rows.append(Row("  same, serial (one at a time, no cache)",
                        {"ours": s.timed(peers.ours(s.via, jobs=1, no_cache=True), mine, sleepers, "all")}))
    memory.run = s.timed(s.ours, mine, sleepers, "all", watch=memory.watch)
    memory.stop()

    s.timed(s.invoke("build"), mine, sleepers)  # untimed: Jekyll's own cache is then warm for both builds below
    bare = peers.Tool("jekyll", site.jekyll_command(mine, "build", "-d", str(s.tmp / "bare")), "",
                      env={"JEKYLL_ENV": "production"})
    pairs = [(s.timed(bare, mine, None), s.timed(s.invoke("build"), mine, sleepers))  # in turn: the machine
             for _ in range(REPEATS)]  # drifts, and each pair sees it alike
    bare_run, build_run = (median(runs) for runs in zip(*pairs))
    return rows + [Row("bare `bundle exec jekyll build`", {"ours": bare_run}),
                   Row("warm `invoke build` (verify + build)", {"ours": build_run}, "<= 1.2 x bare",
                       verdict(build_run.seconds / bare_run.seconds if build_run.ok and bare_run.ok else None, 1.2,
                               True, f"{build_run.seconds / max(bare_run.seconds, 1e-9):.2f} x"))]


def recording_rows(s: Session, count: int = 30) -> list[Row]:
    """What recording a timeline adds to a trivial `asyncio.run`, measured inside each snippet, as the median of
    `count` snippets run with figures (the default) and with `timeline: false` in `_config.yml`."""
    post = {"2024-01-01-timed.md": "---\nlayout: post\ntitle: Timed\n---\n" + "\n".join([TIMED] * count)}
    medians = {}
    for recording in (False, True):
        where = s.blog(f"recording/{recording}", post)
        if not recording:
            with (where / "_config.yml").open("a", encoding="utf-8") as config:
                config.write("\nsnippets:\n  timeline: false\n")
        done = s.timed(peers.ours(s.via, jobs=1), where, count, "all")  # one at a time: nothing else on the CPU
        outs = [float(out.read_text()) for out in (where / "snippets" / "2024-01-01-timed").glob("*.out")]
        medians[recording] = sorted(outs)[len(outs) // 2] if done.ok and len(outs) == count else None
    plain, recorded = medians[False], medians[True]
    if plain is None or recorded is None:
        return [Row("recording a timeline", {"ours": "did not run"}, "<= +2 ms", verdict(None, 2, True))]
    return [Row(f"recording a timeline: one asyncio.run, {plain:.2f} ms plain", {"ours": f"{recorded:.2f} ms"},
                "<= +2 ms", verdict(recorded - plain, 2, True, f"+{recorded - plain:.2f} ms"))]


def seed_rows(s: Session) -> tuple[list[Row], dict[str, int]]:
    """The seed post cold and warm, and its page's weight once built."""
    seed = s.blog("seed", {}, seed=True)
    expected = len([p for p in (s.repo / "snippets" / SEED).iterdir()  # NN.ext: not NN.out, NN.timeline.svg
                    if re.fullmatch(r"\d+\.\w+", p.name) and p.suffix != ".out"]) or None
    cold = s.timed(s.ours, seed, expected, "all", repeats=REPEATS)
    warm = s.timed(s.ours, seed, expected, repeats=REPEATS)
    weights = page_weight(seed / "_site") if s.timed(s.invoke("build"), seed, expected).ok else {}
    return [Row("the seed post, cold (its snippet sleeps 3 s)", {"ours": cold}, "<= 3.2 s",
                verdict(cold.seconds if cold.ok else None, 3.2, True)),
            Row("the seed post, warm", {"ours": warm})], weights


def floor_rows(s: Session, sleep: float) -> tuple[list[Row], float | None]:
    """What a cold run of ours costs around one snippet: one that sleeps `sleep` seconds, alone. No number of
    such snippets run together can take less, nor the seed post (3 s of sleep) less than this and the 3 s
    less `sleep`. Beside it, invoke's own start-up (with the blog's tasks.py), a part no change of ours removes."""
    one = s.blog("floor", corpus(1, 1, sleep))
    single = s.timed(s.ours, one, 1, "all", repeats=REPEATS)
    startup = s.timed(s.invoke("--list"), one, None, repeats=REPEATS)
    return [Row(f"floor: one snippet sleeping {sleep:g} s, cold", {"ours": single}),
            Row("  of which `invoke --list` (invoke starting, tasks.py)", {"ours": startup})], \
        single.seconds if single.ok else None


def run(repo: Path, posts: int = 10, snippets: int = 20, sleepers: int = 60, sleep: float = 1.0, serial: bool = True,
        peers_on_sleep: bool = True, via: str = "invoke", timeout: float = 120.0, say=print) -> None:
    for line in header(repo, via):
        say(line)
    say(f"Corpora: {posts * snippets} trivial asyncio snippets ({posts} posts x {snippets}); {sleepers} snippets "
        f"that sleep {sleep:g} s on the event loop ({PER_POST} to a post); the seed post. Each tool has its own copy.")
    memory = TreeMemory()
    with tempfile.TemporaryDirectory(prefix="snipcheck-bench-") as tmp:
        s = Session(repo, Path(tmp), via, timeout)
        rows = trivial_rows(s, posts, snippets) + sleeping_rows(s, sleepers, sleep, serial, peers_on_sleep, memory)
        seed, weights = seed_rows(s)
        recording = recording_rows(s)
        floor, single = floor_rows(s, sleep)
    for line in table(rows + floor + seed + recording):  # the floor beside the rows it bounds
        say(line)
    if single is not None:
        say(f"Floor: one snippet sleeping {sleep:g} s takes {single:.2f} s cold, so {sleepers} of them cannot take less "
            "here however they are run (the rest of their row is what running them at once costs), and the seed "
            f"post, whose snippet sleeps 3 s, not much less than {single + 3 - sleep:.2f} s (timings wander).")
    say(f"Memory while ours verifies the {sleepers} sleeping snippets (a separate cold run, {memory.run.cell()}, "
        f"sampled every {memory.interval * 1000:.0f} ms):")
    for line in memory.report("invoke" if via == "invoke" else "pytest"):
        say(line)
    if weights:
        say(f"Seed post page, gzipped: {sum(weights.values()) / 1000:.1f} kB (budget 14.6 kB)  " +
            ", ".join(f"{k} {v / 1000:.1f} kB" for k, v in weights.items()))
    for line in notes(s.ours):
        say(line)
    if s.problems:
        say("Runs that failed, timed out or ran fewer snippets (shown above without a time):")
        for problem in s.problems:
            say("  " + problem.replace("\n", "\n    "))


def notes(ours: peers.Tool) -> list[str]:
    return ["Each figure is the wall time of one whole command in a fresh process of this Python (start-up, "
            "imports, collection, every snippet, the report), with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 and only the "
            "plugin under test loaded; `(N)` is how many snippets its pytest summary says passed. It is the median "
            f"of {REPEATS} runs, but for the peers' sleeping runs, ours one at a time, and the posts touched (one "
            "run each).",
            *(f"  {tool.name}: `{' '.join(Path(a).name if a == sys.executable else a for a in tool.argv)}`: "
              f"{tool.does}" for tool in [ours, *peers.PEERS]),
            "Cold: `.cache/` emptied first (our result cache and kramdown's conversion cache), as for posts never "
            "verified before; `snippets/` with the recorded NN.out stays, as in a blogger's checkout, and so do "
            "the snippet environment and the package check, which a site's first run makes once (as the peers' "
            "own installation; making the environment costs 0.05-0.1 s more). The peers "
            "have no cache and render no Markdown, so ours is charged for kramdown here; the second row shows "
            "ours with kramdown's cache kept. Warm: nothing changed since the previous run, which ours checks by the size "
            "and time of every file it depends on, then says so without starting pytest; with the posts touched, "
            "pytest runs and every result comes from the cache.",
            "Memory: PSS (shared pages split among the processes sharing them) of our command's process and every "
            "process under it, summed per sample; not included: the page cache, files in tmpfs, processes that "
            "left the tree."]
