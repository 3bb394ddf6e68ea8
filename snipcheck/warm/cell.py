"""A cell: the process that is PID 1 of a snippet's namespaces (user, mount, PID, network, IPC, UTS) and owns its
one tmpfs. The warm interpreter forks a cell once and hands it snippets one at a time, as long as it stays clean:

    cell ─fork→ snippet;  wait;  kill what it left;  report;  wipe;  next

Raising walls is the costly part of a run (two forks, six namespaces, a network and five mounts), so a cell keeps
them, and the next snippet finds them as the first did: the files it left are gone, the processes it started are
killed, its IPC objects went with the IPC namespace each snippet gets, and PIDs count from 2 again. Whatever a
wipe cannot undo (a socket in TIME_WAIT, a key in the keyring, a folder swapped out) retires the cell: it exits
and the kernel tears its namespaces down. A cell that is not reused is retired the same way: unjailed, or one
that shares the jail's network, or one whose snippet the verifier gave up on (its timeout, Ctrl-C)."""

import array
import json
import os
import select
import signal
import socket

from . import held, hooks, session, timeline, walls

UID = GID = 1000
MAX_FDS = 8
GUARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def receive(link: socket.socket) -> tuple[dict, list[int]] | None:
    """The next request: its JSON (in a memfd, so any size fits) and the pipes it came with."""
    data, fds = receive_raw(link)
    if not data:
        return None
    memfd, *pipes = fds
    with os.fdopen(memfd, "rb") as payload:
        payload.seek(0)
        return json.loads(payload.read()), pipes


def receive_raw(link: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = link.recvmsg(16, socket.CMSG_LEN(MAX_FDS * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)


def report(fd: int, status: dict) -> None:
    try:
        os.write(fd, json.dumps(status).encode())
    except OSError:
        pass


def start(link: socket.socket, jailed: bool, network: bool, ahead: bool) -> None:
    """In a child the warm interpreter just forked: raise the walls, fork the cell as PID 1 inside them, and leave.
    `ahead`: made ahead of need, it says when it is ready; else a request is already waiting on `link`."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        if jailed:
            walls.own_namespaces(UID, GID, network)
            if os.fork():
                os._exit(0)  # the cell carries on as PID 1 of the new namespace, adopted by the jail's init
    except OSError as err:
        _fail(link, f"could not wall the snippet in: {err}")
    if ahead:
        link.send(b"ready")
    serve(link, jailed, reusable=jailed and not network)


def _fail(link: socket.socket, why: str) -> None:
    """Tell the job waiting for this cell why it cannot run, and end."""
    try:
        message = receive(link)
    except OSError:
        message = None
    if message:
        report(message[1][3], {"error": why})
    os._exit(1)


def serve(link: socket.socket, jailed: bool, reusable: bool) -> None:
    # A snippet may signal its PID 1 from its first instant: the cell ignores these for good, and each snippet
    # gets back what a fresh Python has.
    fresh = {number: signal.signal(number, signal.SIG_IGN) for number in GUARDED}
    walls.prctl(walls.PR_SET_DUMPABLE, 0)  # a snippet, same user, cannot inspect or trace its cell
    disk_mb, before = None, None
    while (message := receive(link)) is not None:
        request, pipes = message
        if jailed:
            try:
                capped = walls.private_files(request["disk_mb"], request["files"], disk_mb)
            except OSError as error:
                report(pipes[3], {"error": f"could not prepare the snippet's files: {error}"})
                os._exit(1)
            if capped != disk_mb:  # new, or a new cap: how the cell looks clean now
                held.watch_sockets()
                disk_mb, before = capped, walls.traces()
        job = pipes[3]
        result = run(link, request, pipes, fresh, jailed)
        if result is None:
            os._exit(0)  # as PID 1: the kernel kills whatever is left and tears the namespaces down
        clean = reusable and not result.pop("alive") and walls.wipe(before)
        if clean:
            link.send(b"idle")  # before the report: the verifier's next request then finds this cell idle
        report(job, result)
        os.close(job)
        if not clean:
            os._exit(0)
    os._exit(0)


def run(link: socket.socket, request: dict, pipes: list[int], fresh: dict, jailed: bool) -> dict | None:
    """One snippet: what to report on its job's socket, and whether some of its processes would not die; None
    when the verifier closed that socket first (it gave up: a timeout, Ctrl-C)."""
    out, err, diag, job = pipes
    home = walls.HOME
    held.forget()
    try:
        if jailed:
            walls.first_pid_next()
            walls.fresh_ipc()
        else:
            home = walls.unjailed_home()
        pid = os.fork()
    except OSError as error:
        report(job, {"error": f"could not start the snippet: {error}"})
        os._exit(1)
    if pid == 0:
        for number, handler in fresh.items():
            signal.signal(number, handler)
        os.close(job)
        link.close()  # the snippet can neither take another's request nor pose as its cell
        held.release()
        snippet(request, out, err, diag, home, jailed)
    for fd in (out, err, diag):
        os.close(fd)
    limits = request["limits"]
    memory = limits["memory_mb"] * 1024 * 1024 if jailed and limits["memory_mb"] else 0
    status, most, over = _wait(pid, job, jailed, memory, limits["processes"], request["network"])
    if not jailed:  # no namespace ends what it started, nor takes its files with it: we do, even on a timeout
        walls.kill_group(pid)
        walls.remove_unjailed_home(home)
    if status is None:
        return None
    result = {"exit": os.waitstatus_to_exitcode(status), "processes": most,
              "alive": bool(walls.kill_all()) if jailed else False}
    if jailed:
        result.update(disk_full=walls.disk_full(), memory_full=over == "memory",
                      files_full=walls.FILES_OPEN_AT_ONCE if over == "files" else 0)
    return result


def _wait(pid: int, job: int, jailed: bool, memory: int, processes: int,
          network: bool) -> tuple[int | None, int, str | None]:
    """The snippet's wait status (None if the verifier closed the job first), the most processes seen, and
    which limit of the snippet as a whole its processes together went over, if one: "memory" (`memory` bytes;
    each process's own limit stops one that grows alone) or "files" (walls.FILES_OPEN_AT_ONCE); they are killed
    then. A snippet whose processes reach their limit is killed too: it has failed already ("process limit"),
    and a fork bomb churning at its limit until the timeout would take the CPUs from every other snippet."""
    exited = os.pidfd_open(pid)
    status, most, over = None, 0, None
    try:
        while status is None:
            ready, _, _ = select.select([job, exited], [], [], 0.05)  # and a look at its processes now and then
            if job in ready:
                return None, most, over
            if jailed:
                count, used, opened = walls.usage(memory if exited not in ready else 0, network)  # (ended: killed)
                most = max(most, count)
                if memory and used > memory and not over:
                    over = "memory"
                    os.kill(-1, signal.SIGKILL)  # every process but the cell; reaped below, the snippet by SIGKILL
                elif opened > walls.FILES_OPEN_AT_ONCE and not over:
                    over = "files"
                    os.kill(-1, signal.SIGKILL)
                elif count >= processes - 1:  # as the verdict counts it (python.py `_limits`): the cell included
                    os.kill(-1, signal.SIGKILL)
            while True:  # reap every child: the snippet, and orphans of its own that were adopted by us
                try:
                    child, code = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if child == 0:
                    break
                if child == pid:
                    status = code
    finally:
        os.close(exited)
    return status, most, over


def snippet(request: dict, out: int, err: int, diag: int, home: str, jailed: bool) -> None:
    os.setsid()
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in (out, err):
        os.close(fd)
    limits = request["limits"]
    if jailed:
        walls.prctl(walls.PR_SET_DUMPABLE, 1)  # its own /proc/self is its own, as in any process
        walls.drop_privileges(limits["memory_mb"], limits["processes"], limits["file_mb"])
    else:
        walls.limit(limits["memory_mb"], limits["file_mb"], limits["processes"])
    diag = session.aside(diag)  # (close-on-exec: the snippet's own subprocesses do not get our channel)
    os.chdir(home)
    own = next(step for step in request["steps"] if step.get("own"))
    if own["kind"] == "program":
        with open(own["file"], "w", encoding="utf-8") as file:  # the script exists, as for `python NN.py`
            file.write(own["code"])
    hooks.channel, hooks.slow_callback = diag, request["slow_callback"]
    timeline.recording = request.get("timeline", False)
    session.run(request["steps"], home)
