"""Snippets wait on subprocesses, not on the CPU: run them concurrently on one asyncio loop in a background
thread, at most `jobs` at a time, while pytest reports them one by one in page order."""

import asyncio
import concurrent.futures
import threading
from pathlib import Path

from . import cache, record, verify
from .plan import Job


def default_jobs() -> int:
    """Snippets mostly wait, so many may run at once; each Python process needs ~10-20 MB, so allow one per
    64 MB of available memory, between 4 and 64."""
    try:
        with open("/proc/meminfo") as meminfo:
            available_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return 16
    return max(4, min(64, available_kb // (64 * 1024)))


class Runner:
    def __init__(self, jobs: int | None = None):
        self.loop = asyncio.new_event_loop()
        self.limit = asyncio.Semaphore(jobs or default_jobs())
        self.thread = threading.Thread(target=self.loop.run_forever, name="snippet-runner", daemon=True)
        self.thread.start()

    async def _bounded(self, make):
        async with self.limit:
            return await make()

    def submit(self, make) -> concurrent.futures.Future:
        """Start `make()` (a coroutine function) as soon as a slot is free."""
        return asyncio.run_coroutine_threadsafe(self._bounded(make), self.loop)

    def verify(self, job: Job, snippet_file: Path, folder: Path | None) -> concurrent.futures.Future:
        """The job's result: the cached one when nothing it depends on changed (`folder` None: no cache),
        else a run, queued now."""
        hit = cache.load(folder, job) if folder else None
        recorded = record.output_file(snippet_file)
        if hit and (job.snippet.language != "python" or not recorded.exists()
                    or recorded.read_text(encoding="utf-8") == hit.stdout):  # a changed NN.out: run again
            hit.cached = True
            done = concurrent.futures.Future()
            done.set_result(hit)
            return done

        async def run():
            result = await verify.verify(job)
            if folder:
                cache.store(folder, job, result)
            return result
        return self.submit(run)

    def close(self) -> None:
        """Cancel what is still running (its processes are killed by their `finally`) and stop the loop."""
        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()
