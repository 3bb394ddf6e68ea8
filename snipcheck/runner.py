"""Snippets wait on subprocesses, not on the CPU: run them concurrently on one asyncio loop in a background
thread, at most `jobs` at a time, while pytest reports them one by one in page order."""

import asyncio
import concurrent.futures
import threading


class Runner:
    def __init__(self, jobs: int):
        self.loop = asyncio.new_event_loop()
        self.limit = asyncio.Semaphore(jobs)
        self.thread = threading.Thread(target=self.loop.run_forever, name="snippet-runner", daemon=True)
        self.thread.start()

    async def _bounded(self, make):
        async with self.limit:
            return await make()

    def submit(self, make) -> concurrent.futures.Future:
        """Start `make()` (a coroutine function) as soon as a slot is free."""
        return asyncio.run_coroutine_threadsafe(self._bounded(make), self.loop)

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
