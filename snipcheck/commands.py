"""What the invoke tasks do, as plain functions (tasks.py only parses flags; tests call these directly).
Each returns an exit code or raises; errors are reported as `_posts/<file>.md:<line>: <what>`."""

import json
import os
import signal
import threading
from collections import Counter
from pathlib import Path

from . import freshness
from .errors import (EXIT_INTERRUPTED, EXIT_POST_MALFORMED, EXIT_SNIPPET_FAILED, EXIT_TOOL_BROKE, INTERRUPTED,
                     PostError, Refused, ToolError)

# pytest, the runner and the planner load only when something is to be verified: a run with nothing changed
# (freshness) is over before they would have loaded.


class CtrlC:
    """Notes Ctrl-C while pytest runs: the first one stops the run (KeyboardInterrupt); later ones, while pytest
    winds down, are not raised again in its clean-up. Only in the main thread, where signals arrive."""

    def __enter__(self) -> list:
        self.pressed, self.previous = [], None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._pressed)
        return self.pressed

    def _pressed(self, signum, frame):
        self.pressed.append(True)
        if len(self.pressed) == 1:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class Interrupted:
    """Tells a Ctrl-C apart from a post pytest could not collect: pytest reports both as INTERRUPTED."""

    interrupted = False

    def pytest_keyboard_interrupt(self, excinfo):
        self.interrupted = excinfo.type is KeyboardInterrupt  # not pytest.exit(), which comes here too


def _prefetch(prepared, runner, no_cache: bool):
    """Start the blocks now: they run while pytest starts up, and its items pick up their results."""
    from . import cache
    from .extract import post_folder
    from .runner import Prefetch
    root = prepared.root
    folder = None if no_cache else root / ".cache" / "snippets"
    futures = {}
    for post, jobs in prepared.jobs.items():
        for job in jobs:
            if not (job.shows and job.output_expected):  # such a block is verified by its program's output
                file = post_folder(root / "snippets", post) / job.snippet.name
                futures[cache.key(job, runner.jailed), file] = runner.verify(job, file, folder)
    return Prefetch(runner, futures, {root: prepared})


def posts_of(root: Path, chosen: list[str] | None = None) -> list[Path]:
    from .find import posts_in
    if chosen:
        paths = [Path(p) if Path(p).is_absolute() else root / p for p in chosen]
        for path in paths:
            if not path.is_file():
                raise Refused(f"{path}: no such post", EXIT_POST_MALFORMED)
        return paths
    return posts_in(root)


def _refuse_errors(found: dict) -> None:
    errors = [err for err in found.values() if isinstance(err, PostError)]
    if errors:
        raise Refused("\n".join(str(err) for err in errors), EXIT_POST_MALFORMED)


def extract_posts(root: Path, chosen: list[str] | None = None) -> dict[Path, list]:
    """Find every post's snippets first, then write them: a malformed post stops it before any file changes."""
    from . import extract
    from .find import find_all
    paths = posts_of(root, chosen)
    try:
        found = find_all(paths, root)
    except ToolError as err:
        raise Refused(str(err), EXIT_TOOL_BROKE) from None
    _refuse_errors(found)
    extract.write_all(root / "snippets", found, every_post=not chosen)
    return found


def prepare_posts(root: Path, chosen: list[str] | None = None, **overrides):
    """Find, plan and install what every chosen post needs; write its snippets. Nothing is written when a
    post is malformed."""
    import dataclasses
    from . import extract
    from .plan import download
    from .prepare import prepare
    paths = posts_of(root, chosen)
    try:
        prepared = prepare(root, paths, **overrides)
    except ToolError as err:
        raise Refused(str(err), EXIT_TOOL_BROKE) from None
    except PostError as err:  # _config.yml itself
        raise Refused(str(err), EXIT_POST_MALFORMED) from None
    _refuse_errors(prepared.jobs)
    # What a reader downloads: the code as shown, or for a program that needs earlier blocks, a file that runs.
    found = {post: [dataclasses.replace(job.snippet, code=download(job)) for job in jobs]
             for post, jobs in prepared.jobs.items()}
    extract.write_all(root / "snippets", found, every_post=not chosen)
    return prepared


def test_snippets(root: Path, chosen: list[str] | None = None, timeout: float | None = None, update: bool = False,
                  jobs: int | None = None, no_cache: bool = False, no_jail: bool = False, extra: list[str] = ()) -> None:
    """Extract, then verify every snippet under pytest; raises Refused unless all are verified or skipped. When
    nothing changed since the last run that passed, says so and leaves its results as they are."""
    options = {"posts": sorted(chosen or []), "timeout": timeout, "no_jail": no_jail}
    if not (update or no_cache or extra):
        last = freshness.unchanged(root, options)
        if last is not None:
            print(f"Nothing changed since the last run ({last['when']}): {_counted(last['summary'])}. Its results "
                  "stand (`--no-cache` runs every snippet again).")
            return
    before = freshness.snapshot(root)
    freshness.forget(root)  # until this run passes
    ran = _verify(root, chosen, timeout, update, jobs, no_cache, no_jail, extra)
    summary = _summary(root) if ran else {}
    if not extra and summary is not None:
        freshness.record(root, options, before, summary)


def _counted(summary: dict) -> str:
    return ", ".join(f"{count} {status}" for status, count in summary.items()) or "no snippets"


def _summary(root: Path) -> dict | None:
    """How many snippets the run's report (reports/snippets.json) gives each status; None when it cannot say, or
    when a block used the network: its result depends on the world, so the next run must run it again (as the
    cache does)."""
    try:
        entries = json.loads((root / "reports" / "snippets.json").read_text(encoding="utf-8"))["snippets"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(entry.get("network") for entry in entries):
        return None
    return dict(Counter(entry.get("status", "?") for entry in entries))


def _verify(root: Path, chosen, timeout, update, jobs, no_cache, no_jail, extra) -> bool:
    """Whether there was anything to verify; raises Refused unless all of it is verified or skipped."""
    import concurrent.futures
    from .jail import JailError
    from .runner import Runner
    from .settings import of_site
    overrides = {"timeout": timeout, "timeout_cap": timeout, "jail": False if no_jail else None}
    try:
        settings = of_site(root, **overrides)
    except PostError as err:
        raise Refused(str(err), EXIT_POST_MALFORMED) from None
    runner = Runner(jobs, settings.jail)
    try:
        warm = runner.warm_up(root)  # the jail and its warm interpreter start first: they take longest
        prepared = prepare_posts(root, chosen, **overrides)
        if not any(prepared.jobs.values()):
            print("No code snippets in the posts: nothing to verify.")
            return False
        started = _prefetch(prepared, runner, no_cache)  # the blocks run while pytest is imported and starts
        import pytest
        envs = {job.env.key: job.env for jobs in prepared.jobs.values() for job in jobs if job.env is not None}
        if envs:
            try:
                warm.result(timeout=120)
                runner.warm_up(root, envs.values()).result(timeout=120)  # (built by prepare: the site's may be new)
            except JailError as err:
                raise Refused(str(err), EXIT_TOOL_BROKE) from None
            except concurrent.futures.TimeoutError:
                pass
        code, interrupted = _pytest(prepared, started, update, jobs, no_cache, no_jail, timeout, extra)
    finally:
        runner.close()
    if interrupted:
        raise Refused(INTERRUPTED, EXIT_INTERRUPTED)
    if code == pytest.ExitCode.TESTS_FAILED:
        raise Refused("Some snippets failed (listed above): the site was not built.", EXIT_SNIPPET_FAILED)
    if code == pytest.ExitCode.INTERRUPTED:
        raise Refused("Stopped: some posts could not be read (see above).", EXIT_POST_MALFORMED)
    if code == EXIT_TOOL_BROKE:
        raise Refused("Stopped: the verifier could not run the snippets (see above).", EXIT_TOOL_BROKE)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise Refused(f"pytest stopped with exit code {int(code)}.", EXIT_TOOL_BROKE)
    return True


def _pytest(prepared, started, update: bool, jobs: int | None, no_cache: bool, no_jail: bool,
            timeout: float | None, extra: list[str]) -> tuple[int, bool]:
    """pytest over the prepared posts, with their blocks already started; its exit code, and whether Ctrl-C."""
    import pytest
    reports = prepared.root / "reports"
    args = [*map(str, prepared.jobs), "--rootdir", str(prepared.root), "-o", "testpaths=", "-v", "-p",
            "no:cacheprovider", "-p", "no:logging",  # no logs to capture: each item only waits for its result
            "-p", "no:unraisableexception",  # its rounds of gc at the end are dear; snippets run elsewhere
            "-W", "ignore::pytest.PytestAssertRewriteWarning",  # tasks.py imported us first
            *(["--snippet-timeout", str(timeout)] if timeout else []), *(["--snippet-jobs", str(jobs)] if jobs else []),
            "--junitxml", str(reports / "snippets.xml"), "--snippet-report", str(reports / "snippets.json"), *extra]
    args += [flag for on, flag in ((update, "--snippet-update"), (no_cache, "--snippet-no-cache"),
                                   (no_jail, "--snippet-no-jail")) if on]
    plugin = Interrupted()
    # Only our plugin: loading every installed one (hypothesis, xdist…) costs more than a warm run.
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with CtrlC() as pressed:
            try:
                code = pytest.main(["-p", "snipcheck.pytest_plugin", *args],
                                   plugins=[plugin, started])
            except Exception:
                if not pressed:
                    raise
                code = pytest.ExitCode.INTERRUPTED  # pytest can trip over reporting where Ctrl-C landed
    finally:
        if autoload is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    return code, plugin.interrupted or bool(pressed)


def _inputs(root: Path) -> list[tuple[str, int, int]]:
    """What verification may write and the site is built from: any change here makes a build stale."""
    return sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size)
                  for folder in ("_posts", "_data", "snippets") for p in (root / folder).rglob("*") if p.is_file())


def build(root: Path, **options) -> Path:
    """Verify, then publish. When earlier results exist, Jekyll starts building at once, beside the
    verification; its build is used only if verification passed and changed none of its inputs."""
    from . import site
    early = site.Build(root) if (root / "_data" / "snippets").is_dir() else None  # first: Jekyll takes longest
    before = _inputs(root)  # (nothing of ours writes before the verification)
    try:
        test_snippets(root, **options)
    except BaseException:
        if early:
            early.cancel()
        raise
    if early and _inputs(root) != before:
        early.cancel()
        early = None
    try:
        return (early or site.Build(root)).publish(root / "_site")
    except ToolError as err:
        raise Refused(str(err), EXIT_TOOL_BROKE) from None
