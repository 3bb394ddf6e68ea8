"""The warm interpreter: started once per run and environment, inside the jail, with `-X dev`, asyncio's debug
mode, our diagnostics and the usual modules loaded. For each snippet the verifier sends a request (its steps, its
limits, and the write ends of its stdout, stderr and diagnostics pipes, and the job's socket); this process hands
it to an idle cell, or forks a new one when none is idle and a CPU is free to make it (while every CPU is
busy, the request waits for a cell to be free, unless none has been for a moment):

    warm ─fork→ walls ─fork→ cell (PID 1 of the walls) ─fork→ snippet, then the next snippet, ...

The cell (cell.py) waits for the snippet, reports its exit status on the job's socket, kills and wipes what it
left, and says it is idle again, or exits when it cannot be made clean. The verifier closing the job's socket (a
timeout, Ctrl-C, its own death) makes the cell exit at once, and the kernel then kills everything in it.
Standard library only: this runs in the snippet's environment, not the tool's."""

import array
import collections
import gc
import os
import select
import signal
import socket
import sys
import time

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this package's parent, not ours

from warm import cell, hooks, session, timeline, walls  # noqa: E402, F401  -- all loaded before any fork

import asyncio  # noqa: E402, F401  -- loaded once here, so no snippet pays for it

hooks.patch_asyncio()


def warm_asyncio() -> None:
    """Run a small asyncio program once, here: what a first run makes and keeps (caches, objects built on first
    use) is then made once and shared by every fork, instead of being written anew into each snippet's memory
    (a page written in a fork is copied first: an eighth of a trivial snippet's page faults went to this).
    Nothing of it may show: each task is named, since an unnamed one takes a number from a counter that no
    code can set back (a snippet's first task is `Task-1`); no loop is left set, and the event loop policy it
    made is forgotten, as a fresh Python has none."""
    async def task(n):
        await asyncio.sleep(0.001 * n)
        return n

    async def main():
        loop = asyncio.get_running_loop()  # (asyncio.create_task numbers a task before it names it)
        return await asyncio.gather(*(loop.create_task(task(n), name="warm-up") for n in range(2)))

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(loop.create_task(main(), name="warm-up"))
        loop.run_until_complete(loop.create_task(loop.shutdown_asyncgens(), name="warm-up"))
    finally:
        loop.close()
    asyncio.events._event_loop_policy = None
    hooks.forget_schedstat()


warm_asyncio()
AHEAD = 2  # cells made at start, while the verifier prepares (more would compete with the first snippets)
PATIENCE = 0.03  # seconds with no cell free again, while the CPUs are busy, before a new cell for each waiting


class Cells:
    """The cells and which of them are idle, by whether they have a network of their own; links by descriptor."""

    def __init__(self, control: socket.socket, jailed: bool):
        self.control, self.jailed, self.poller = control, jailed, select.poll()
        self.links: dict[int, socket.socket] = {}
        # Idle cells by network, most recently idle last; those that ran a snippet before those made ahead, so a
        # run one snippet at a time keeps to one cell.
        self.idle: dict[bool, list[int]] = {False: [], True: []}
        self.ahead: list[int] = []  # made ahead, never used (own network)
        self.kind: dict[int, bool] = {}
        # Requests waiting for a cell: while every CPU is busy, a new cell (a fork, six namespaces, a tmpfs, its
        # /proc) costs more than waiting for one to finish its snippet; when a CPU is free, it starts at once.
        # (And when no cell has been free for a while, one more is made now and then: a snippet's time runs from
        # its request, and the cells may all be busy with long ones.)
        self.waiting: collections.deque[tuple[bytes, list[int]]] = collections.deque()
        self.progress = time.monotonic()  # when a cell last became free, or one was made for a waiting request
        self.cpus = len(os.sched_getaffinity(0))
        self.poller.register(control, select.POLLIN)

    def spawn(self, network: bool, ahead: bool = False) -> int:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            for link in [self.control, ours, *self.links.values()]:
                link.detach()
            keep = theirs.fileno()  # a cell holds no other cell's link, nor the verifier's, nor another's pipes
            os.closerange(3, keep)
            os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
            try:
                cell.start(theirs, self.jailed, network, ahead)  # never returns
            finally:
                os._exit(1)  # not even by an exception: this is not the warm interpreter any more
        theirs.close()
        self.links[ours.fileno()], self.kind[ours.fileno()] = ours, network
        self.poller.register(ours, select.POLLIN)
        return ours.fileno()

    def drop(self, fd: int) -> None:
        self.poller.unregister(fd)
        self.links.pop(fd).close()
        network = self.kind.pop(fd)
        for idle in (self.idle[network], self.ahead):
            if fd in idle:
                idle.remove(fd)

    def hand(self, data: bytes, fds: list[int]) -> None:
        """Pass the request to a cell now if its cell is never reused; else queue it (`serve` then unqueues)."""
        if data.endswith(b"network") or not self.jailed:  # (their cells are never reused)
            self.give(data, fds, data.endswith(b"network"))
        else:
            if not self.waiting:
                self.progress = time.monotonic()
            self.waiting.append((data, fds))

    def unqueue(self) -> None:
        """Hand waiting requests to idle cells, or to new ones while a CPU is free or the cells have stalled."""
        stalled = False
        while self.waiting:
            if not (self.idle[False] or self.ahead or stalled or not self.cpus_busy()):
                if time.monotonic() - self.progress < PATIENCE:
                    return
                stalled = True  # the cells hold on to their snippets (sleeping ones, say): one for each waiting
            self.give(*self.waiting.popleft(), False)
        self.progress = time.monotonic()

    def cpus_busy(self) -> bool:
        """Whether every CPU has something to run besides us (the machine's run queue, as /proc/loadavg says)."""
        try:
            with open("/proc/loadavg", "rb") as load:
                running = int(load.read().split()[3].split(b"/")[0])
        except (OSError, ValueError, IndexError):
            return False
        return running - 1 >= self.cpus

    def give(self, data: bytes, fds: list[int], network: bool) -> None:
        """Pass the request to an idle cell (a new one if none is), then close our copies of its descriptors."""
        try:
            for _ in range(3):  # an idle cell may have just exited
                fd = self.idle[network].pop() if self.idle[network] else \
                    self.ahead.pop() if self.ahead and not network else self.spawn(network)
                try:
                    self.links[fd].sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
                    return
                except OSError:
                    self.drop(fd)
            cell.report(fds[-1], {"error": "no cell would take the snippet"})
        except OSError as err:
            cell.report(fds[-1], {"error": f"could not start the snippet: {err}"})
        finally:
            for fd in fds:
                os.close(fd)

    def serve(self) -> None:
        while True:  # cells first: one that just said it is idle takes the request that came with it
            events = self.poller.poll(5 if self.waiting else None)  # (waiting: look at the CPUs again soon)
            for fd, _ in sorted(events, key=lambda event: event[0] == self.control.fileno()):
                if fd == self.control.fileno():
                    data, fds = cell.receive_raw(self.control)
                    if not data:
                        return  # the verifier is done: the jail ends with us
                    self.hand(data, fds)
                elif fd in self.links:
                    try:
                        said = self.links[fd].recv(16)
                    except OSError:
                        said = b""
                    if said == b"idle":  # done with a snippet, and clean again
                        self.idle[self.kind[fd]].append(fd)
                        self.progress = time.monotonic()
                    elif said == b"ready":  # made ahead
                        self.ahead.append(fd)
                    else:
                        self.drop(fd)  # it exited
            self.unqueue()


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked walls and exited cells are reaped by the kernel
    cells = Cells(control, jailed=sys.argv[2] == "jailed")
    control.sendall(b'{"ready": true, "python": "%s"}' % sys.version.split()[0].encode())
    gc.freeze()  # what is loaded now is never collected: a snippet's collections skip it, and pages stay shared
    if cells.jailed:
        for _ in range(AHEAD):
            cells.spawn(network=False, ahead=True)
    cells.serve()


if __name__ == "__main__":
    main()
