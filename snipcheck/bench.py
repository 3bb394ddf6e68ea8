"""`invoke bench`: how fast verification is, measured in one run on generated posts. Benchmarks, not
tests: they print numbers beside their targets and never fail a test suite."""

import contextlib
import gzip
import io
import re
import shutil
import tempfile
import time
from pathlib import Path

from . import commands, site

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


def corpus(posts: int, snippets: int, sleep: float) -> dict[str, str]:
    """Posts whose snippets wait `sleep` seconds on the event loop: I/O-bound, like most examples."""
    return {f"2024-01-{p + 1:02d}-bench-{p + 1}.md":
            f"---\nlayout: post\ntitle: Bench {p + 1}\n---\n" +
            "\n".join(SNIPPET.format(sleep=sleep, post=p + 1, number=n + 1) for n in range(snippets))
            for p in range(posts)}


def _seconds(work) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # pytest's report is not what we measure here
        work()
    return time.perf_counter() - start


def _verify(root: Path, jobs: int | None = None, cold: bool = False) -> float:
    if cold:
        shutil.rmtree(root / ".cache", ignore_errors=True)
    return _seconds(lambda: commands.test_snippets(root, jobs=jobs))


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


def run(repo: Path, posts: int, snippets: int, sleep: float, serial: bool, say=print) -> None:
    with tempfile.TemporaryDirectory(prefix="snipcheck-bench-") as tmp:
        tmp = Path(tmp)
        bench = copy_site(repo, tmp / "corpus", corpus(posts, snippets, sleep))
        count = posts * snippets
        say(f"Corpus: {posts} posts x {snippets} snippets, each sleeping {sleep:g} s on the event loop "
            f"({count * sleep:g} s of sleep in all)")
        rows = []
        if serial:
            rows.append(("serial (--jobs 1, no cache)", _verify(bench, jobs=1, cold=True), ""))
        cold = _verify(bench, cold=True)
        warm = _verify(bench)
        rows += [("cold (empty cache)", cold, "<= 6 s for 60 x 1 s" if (count, sleep) == (60, 1.0) else ""),
                 ("warm (nothing changed)", warm, f"warm/cold = {warm / cold:.3f} (target <= 0.1)")]
        bare = _seconds(lambda: site.jekyll(bench, "build", "-d", str(tmp / "bare"), capture_output=True))
        build = _seconds(lambda: commands.build(bench))
        rows += [("bare `bundle exec jekyll build`", bare, ""),
                 ("warm `invoke build` (verify + build)", build, f"{build / bare:.2f} x bare (target <= 1.2)")]

        seed = copy_site(repo, tmp / "seed", {f"{SEED}.md": (repo / "_posts" / f"{SEED}.md").read_text()})
        seed_cold, seed_warm = _verify(seed, cold=True), _verify(seed)
        rows += [("seed post, cold", seed_cold, "<= 3.3 s (its snippet sleeps 3 s)"),
                 ("seed post, warm", seed_warm, f"warm/cold = {seed_warm / seed_cold:.3f}")]
        width = max(len(r[0]) for r in rows)
        for name, seconds, note in rows:
            say(f"  {name:<{width}}  {seconds:7.2f} s  {note}")

        _seconds(lambda: commands.build(seed))
        weights = page_weight(seed / "_site")
        say(f"Seed post page, gzipped: {sum(weights.values()) / 1000:.1f} kB (budget 14.6 kB)  " +
            ", ".join(f"{k} {v / 1000:.1f} kB" for k, v in weights.items()))
