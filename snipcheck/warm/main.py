"""The warm interpreter: started once per run and environment, inside the jail, with `-X dev`, asyncio's debug
mode, our diagnostics and the usual modules loaded. For each snippet the verifier sends a request (its steps, its
limits, and the write ends of its stdout, stderr and diagnostics pipes) and this process forks:

    warm ─fork→ walls (own namespaces) ─fork→ guard (PID 1 of the snippet's namespace) ─fork→ snippet

The guard waits for the snippet, reports its exit status on the job's socket, and exits, which makes the kernel
kill everything the snippet started. The verifier closing the job's socket (a timeout, Ctrl-C, its own death)
makes the guard exit at once, with the same effect. Standard library only: this runs in the snippet's
environment, not the tool's."""

import array
import gc
import json
import os
import select
import signal
import socket
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this package's parent, not ours

from warm import hooks, session, timeline, walls  # noqa: E402

import asyncio  # noqa: E402, F401  -- loaded once here, so no snippet pays for it

hooks.patch_asyncio()
UID = GID = 1000
MAX_FDS = 8


def receive(control: socket.socket) -> tuple[dict, list[int]] | None:
    """The next request: its JSON (in a memfd, so any size fits) and the pipes it came with."""
    fds = array.array("i")
    data, ancillary, _, _ = control.recvmsg(16, socket.CMSG_LEN(MAX_FDS * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if not data:
        return None
    memfd, *pipes = fds
    with os.fdopen(memfd, "rb") as payload:
        payload.seek(0)
        return json.loads(payload.read()), pipes


def serve(control: socket.socket, jailed: bool) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked walls are reaped by the kernel
    control.sendall(json.dumps({"ready": True, "python": sys.version.split()[0]}).encode())
    gc.freeze()  # what is loaded now is never collected: a snippet's collections skip it, and pages stay shared
    while (message := receive(control)) is not None:
        request, pipes = message
        try:
            pid = os.fork()
        except OSError as err:
            _report(pipes[3], {"error": f"could not start the snippet: {err}"})
            pid = -1
        if pid == 0:
            control.close()
            walled(request, pipes, jailed)  # never returns
        for fd in pipes:
            os.close(fd)


def _report(fd: int, status: dict) -> None:
    try:
        os.write(fd, json.dumps(status).encode())
    except OSError:
        pass


def walled(request: dict, pipes: list[int], jailed: bool) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        if jailed:
            walls.own_namespaces(UID, GID, request["network"])
        pid = os.fork()
    except OSError as err:
        _report(pipes[3], {"error": f"could not wall the snippet in: {err}"})
        os._exit(1)
    if pid:
        os._exit(0)  # the guard carries on as PID 1 of the new namespace, adopted by the jail's init
    guard(request, pipes, jailed)


GUARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def guard(request: dict, pipes: list[int], jailed: bool) -> None:
    out, err, diag, job = pipes
    # A snippet may signal its PID 1 from its first instant: the guard ignores these before the snippet exists,
    # and the snippet gets back what a fresh Python has.
    fresh = {number: signal.signal(number, signal.SIG_IGN) for number in GUARDED}
    try:
        home = walls.HOME
        if jailed:
            walls.private_files(request["disk_mb"])
        else:
            home = walls.unjailed_home()
        pid = os.fork()
    except OSError as error:
        _report(job, {"error": f"could not prepare the snippet's files: {error}"})
        os._exit(1)
    if pid == 0:
        for number, handler in fresh.items():
            signal.signal(number, handler)
        os.close(job)
        snippet(request, out, err, diag, home, jailed)
    for fd in (out, err, diag):
        os.close(fd)
    walls.prctl(walls.PR_SET_DUMPABLE, 0)  # the snippet, same user, cannot inspect or trace its guard
    exited = os.pidfd_open(pid)
    status, most = None, 0
    while status is None:
        ready, _, _ = select.select([job, exited], [], [], 0.05)  # and a look at the process count now and then
        if job in ready:  # the verifier closed the job: stop everything now
            os._exit(0)
        most = max(most, walls.processes()) if jailed else 0
        while True:  # reap every child: the snippet, and orphans of its own that were adopted by us
            try:
                child, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if child == 0:
                break
            if child == pid:
                status = code
    report = {"exit": os.waitstatus_to_exitcode(status), "processes": most}
    if jailed:
        report["disk_full"] = walls.disk_full()
    else:
        walls.kill_group(pid)
    _report(job, report)
    os._exit(0)  # as PID 1: the kernel kills whatever the snippet left behind


def snippet(request: dict, out: int, err: int, diag: int, home: str, jailed: bool) -> None:
    os.setsid()
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in (out, err):
        os.close(fd)
    os.set_inheritable(diag, False)  # the snippet's own subprocesses do not get our channel
    limits = request["limits"]
    if jailed:
        walls.drop_privileges(limits["memory_mb"], limits["processes"], limits["file_mb"])
    else:
        walls.limit(limits["memory_mb"], limits["file_mb"])
    os.chdir(home)
    own = next(step for step in request["steps"] if step.get("own"))
    if own["kind"] == "program":
        with open(own["file"], "w", encoding="utf-8") as file:  # the script exists, as for `python NN.py`
            file.write(own["code"])
    hooks.channel, hooks.slow_callback = diag, request["slow_callback"]
    timeline.recording = request.get("timeline", False)
    session.run(request["steps"], home)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    serve(control, jailed=sys.argv[2] == "jailed")


if __name__ == "__main__":
    main()
