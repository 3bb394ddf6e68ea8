"""Snippets wait on their processes, not on our CPU: run them concurrently on one asyncio loop in a background
thread, at most `jobs` at a time, while pytest reports them one by one in page order. Python blocks go to one warm
interpreter per environment, started on first use."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from . import jail
from .interpreter import Interpreter

if TYPE_CHECKING:
    from .plan import Job


def _site_env(root: Path, jailed: bool):
    """The site's environment if it is built (building it is the run's to do: it says what went wrong where)."""
    from . import environments
    reqs = environments.requirements(root, {}, root / "_posts")
    return environments.ensure(root, reqs, jailed=jailed, build=False)


def default_jobs() -> int:
    """Snippets mostly wait, and a forked one shares the warm interpreter's memory; allow one per 32 MB of
    available memory, between 4 and 64."""
    try:
        with open("/proc/meminfo") as meminfo:
            available_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return 16
    return max(4, min(64, available_kb // (32 * 1024)))


class Runner:
    def __init__(self, jobs: int | None = None, jailed: bool = True):
        self.jailed = jailed
        self.loop = asyncio.new_event_loop()
        self.limit = asyncio.Semaphore(jobs or default_jobs())
        self.interpreters: dict[str, asyncio.Future] = {}
        self.thread = threading.Thread(target=self.loop.run_forever, name="snippet-runner", daemon=True)
        self.thread.start()

    async def _bounded(self, make):
        async with self.limit:
            return await make()

    def submit(self, make) -> concurrent.futures.Future:
        """Start `make()` (a coroutine function) as soon as a slot is free."""
        return asyncio.run_coroutine_threadsafe(self._bounded(make), self.loop)

    async def _interpreter(self, env) -> Interpreter:
        if env.key not in self.interpreters:
            self.interpreters[env.key] = asyncio.ensure_future(self._start(env))
        return await asyncio.shield(self.interpreters[env.key])

    async def _start(self, env) -> Interpreter:
        interpreter = Interpreter(env.path, self.jailed)  # raises JailError, saying why, where none can be made
        await interpreter.start()
        return interpreter

    def warm_up(self, root: Path, envs=()) -> concurrent.futures.Future:
        """Start the interpreters of `envs`, or else of the site's environment if it is built, now: so they are
        warm when the first block comes. The future fails only if no jail can be made; other errors are left for
        the run to report with their post."""
        async def start():
            try:
                found = list(envs) or [await asyncio.get_running_loop().run_in_executor(None, _site_env, root,
                                                                                         self.jailed)]
            except Exception:
                return
            for env in filter(None, found):
                try:
                    await self._interpreter(env)
                except jail.JailError:
                    raise
                except Exception:
                    pass
        return asyncio.run_coroutine_threadsafe(start(), self.loop)

    async def run_python(self, job: Job):
        from .checkers import python
        interpreter = await self._interpreter(job.env)
        request, timeouts = python.request(job)
        return await interpreter.run(request, timeouts)

    def verify(self, job: Job, snippet_file: Path, folder: Path | None) -> concurrent.futures.Future:
        """The job's result: the cached one when nothing it depends on changed (`folder` None: no cache),
        else a run, queued now."""
        from . import cache, record, verify  # (not before: the jail starts with this module loaded, and first)
        hit = cache.load(folder, job, self.jailed) if folder else None
        recorded = record.output_file(snippet_file)
        if hit and (job.kind != "python" or not recorded.exists() or record.read(recorded) == hit.stdout):
            hit.cached = True  # (a changed NN.out runs the snippet again)
            done = concurrent.futures.Future()
            done.set_result(hit)
            return done

        async def run():
            result = await verify.verify(job, self.run_python)
            if folder:
                cache.store(folder, job, self.jailed, result)
            return result
        return self.submit(run)

    def close(self) -> None:
        """Cancel what is still running (closing a job's socket stops its snippet), stop the interpreters."""
        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for started in self.interpreters.values():
                if started.done() and not started.cancelled() and started.exception() is None:
                    await started.result().close()
        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=60)
        except concurrent.futures.TimeoutError:  # something would not stop: its jail ends with our process anyway
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


class Prefetch:
    """Runs started before pytest (by `invoke test-snippets`, while pytest starts up), by cache key and snippet
    file: blocks with the same code (in two posts, say) each have their own run, as each has its recorded output."""

    def __init__(self, runner: Runner, futures: dict, sites: dict):
        self.runner, self.futures, self.sites = runner, futures, sites
