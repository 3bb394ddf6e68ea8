"""A snippet can hang, flood, hog memory, fork daemons, write files or call the network: whatever it does, the
run ends with a clear result and nothing of it left running. Real subprocesses throughout."""

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from snipcheck import process, sandbox

ISOLATED = sandbox._unshare() is not None
needs_namespaces = pytest.mark.skipif(not ISOLATED, reason="cannot make namespaces here (needs root on Linux)")


@pytest.fixture
def marker():
    """A word put in the command line of every process a test starts, to find survivors by."""
    return f"snipcheck-test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def nothing_left(marker, request):
    zombies = _zombies()
    yield
    survivors = [pid for pid in _pids() if marker.encode() in _read(f"/proc/{pid}/cmdline")]
    assert not survivors, f"processes of the snippet still running: {survivors}"
    # Without namespaces, killed escapees are reaped by init, not by us: on a machine whose init does not reap
    # (this test VM's), they linger as zombies there.
    if "no_namespaces" not in request.fixturenames:
        assert _zombies() <= zombies, "the run left unreaped children behind"


@pytest.fixture
def no_namespaces(monkeypatch):
    """Run as where unshare is not allowed (no root)."""
    monkeypatch.setattr(sandbox, "_unshare", lambda: None)


ORPHANS = (b"(sh", b"(unshare", b"(python3", b"(python", b"(ip")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _zombies() -> set[int]:
    """Zombies a leaked snippet process would leave: children of this process, or orphans (of init) that are
    programs the runner starts. Other orphans are left out: other tests (Chromium) may leave theirs."""
    found = set()
    for pid in _pids():
        comm, _, fields = _read(f"/proc/{pid}/stat").rpartition(b")")
        state, parent = (fields.split() + [b"", b"0"])[:2]
        if state == b"Z" and (int(parent) == os.getpid() or (int(parent) == 1 and comm.endswith(ORPHANS))):
            found.add(pid)
    return found


def run(code: str, marker: str, timeout: float = 10, **kwargs) -> process.Completed:
    """Run Python `code` as a snippet, with `marker` in its command line (forked children inherit it)."""
    return asyncio.run(process.run([process.python(), "snippet.py", marker], {"snippet.py": code}, timeout,
                                   **kwargs))


# A child that leaves the process group, and the snippet waiting until it has (so killing the group misses it).
CHILD = "import os, time; os.setsid(); open('left', 'w').close(); time.sleep(100)"
ESCAPE = f"""\
import os, subprocess, sys, time
subprocess.Popen([sys.executable, '-c', {CHILD!r}, sys.argv[1]])
while not os.path.exists('left'):
    time.sleep(0.01)
"""


def test_a_busy_loop_is_killed_at_the_timeout(marker):
    started = time.monotonic()
    done = run("while True: pass", marker, timeout=1)
    assert done.timed_out and done.returncode is None
    assert time.monotonic() - started < 5


def test_a_timeout_kills_children_that_left_the_process_group(marker):
    done = run(ESCAPE + "while True: pass", marker, timeout=2)
    assert done.timed_out


def test_children_that_call_setsid_do_not_outlive_the_snippet(marker):
    started = time.monotonic()
    done = run(ESCAPE + "print('done')", marker)
    assert (done.returncode, done.stdout) == (0, "done\n")
    assert time.monotonic() - started < 4  # the child held the pipes, yet run() did not wait out its 5 s limit


def test_double_forked_daemons_do_not_outlive_the_snippet(marker):
    code = """\
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # the daemon: reparented away from the snippet, still holding its stdout
        print("daemon up", flush=True)
        time.sleep(100)
    os._exit(0)
os.wait()
time.sleep(0.5)
print("done")
"""
    started = time.monotonic()
    done = run(code, marker)
    assert (done.returncode, done.stdout) == (0, "daemon up\ndone\n")
    assert time.monotonic() - started < 4


def test_an_output_flood_is_cut_at_the_cap(marker):
    done = run('while True: print("x" * 1000)', marker, timeout=2)
    assert done.timed_out and done.truncated
    assert len(done.stdout) == process.OUTPUT_CAP


def test_reading_stdin_meets_end_of_file_at_once(marker):
    done = run("input()", marker)
    assert done.returncode == 1 and "EOFError" in done.stderr


def test_a_memory_hog_fails_with_a_memory_limit(marker):
    done = run("x = bytearray(512 * 1024 * 1024)", marker, memory_mb=256)
    assert done.returncode == 1 and "MemoryError" in done.stderr
    assert done.memory_limited


def test_memory_under_the_limit_is_fine(marker):
    done = run("x = bytearray(64 * 1024 * 1024); print(len(x))", marker, memory_mb=256)
    assert (done.returncode, done.memory_limited) == (0, False)


def test_the_default_memory_limit_is_1_gib(marker):
    done = run("import resource; print(resource.getrlimit(resource.RLIMIT_DATA))", marker)
    assert done.stdout == f"({1024 ** 3}, {1024 ** 3})\n"


def test_many_threads_fit_under_the_memory_limit(marker):
    """Threads reserve address space they never use; the limit is on memory used."""
    code = """\
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(64) as pool:
    print(sum(pool.map(lambda i: len(bytearray(1024 * 1024)), range(256))))
"""
    done = run(code, marker)
    assert (done.returncode, done.stdout) == (0, f"{256 * 1024 * 1024}\n"), done.stderr


def test_a_crash_is_not_taken_for_lack_of_memory(marker):
    done = run("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", marker)
    assert (done.returncode, done.memory_limited, done.stderr) == (-signal.SIGSEGV, False, "")


def test_a_snippet_can_signal_itself(marker):
    """It is not PID 1 of its namespace, which would ignore its own SIGTERM."""
    done = run("import os, signal; os.kill(os.getpid(), signal.SIGTERM); print('still here')", marker)
    assert (done.returncode, done.stdout) == (-signal.SIGTERM, "")


def test_files_a_snippet_writes_stay_in_its_temp_dir(marker, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo = Path(__file__).parent.parent
    before = sorted(repo.iterdir())
    code = """\
import os
open("out.txt", "w").write("here")
open(os.path.expanduser("~/x"), "w").write("home")
print(os.path.abspath("out.txt"), os.path.expanduser("~/x"))
"""
    done = run(code, marker)
    assert done.returncode == 0, done.stderr
    written = [Path(path) for path in done.stdout.split()]
    assert written and not any(path.exists() for path in written)
    assert not any(tmp_path.iterdir()) and sorted(repo.iterdir()) == before


@needs_namespaces
def test_there_is_no_network_by_default(marker):
    code = """\
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
except OSError as err:
    print(type(err).__name__, err.errno)
"""
    done = run(code, marker)
    assert done.network_isolated
    assert done.stdout.startswith("OSError"), done.stdout + done.stderr


@needs_namespaces
def test_loopback_works_without_network(marker):
    code = """\
import asyncio

async def echo(reader, writer):
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello\\n")
    print((await reader.readline()).decode(), end="")
    writer.close()
    server.close()

asyncio.run(main())
"""
    done = run(code, marker)
    assert (done.returncode, done.stdout, done.network_isolated) == (0, "hello\n", True), done.stderr


def test_network_when_asked_for_is_not_isolated(marker):
    done = run("print('no traffic sent')", marker, network=True)
    assert (done.returncode, done.network_isolated) == (0, False)


def test_cancelling_a_run_kills_the_snippet(marker):
    async def cancel_soon():
        task = asyncio.create_task(process.run([process.python(), "snippet.py", marker],
                                               {"snippet.py": "import time; time.sleep(100)"}, 60))
        await asyncio.sleep(0.5)
        assert any(marker.encode() in _read(f"/proc/{pid}/cmdline") for pid in _pids())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())


def test_without_namespaces_children_that_left_are_still_killed(marker, no_namespaces):
    """The run's HOME in their environment gives them away."""
    started = time.monotonic()
    done = run(ESCAPE + "print('done')", marker, memory_mb=256)
    assert (done.returncode, done.stdout, done.network_isolated) == (0, "done\n", False)
    assert time.monotonic() - started < 4


def test_without_namespaces_the_memory_limit_still_holds(marker, no_namespaces):
    done = run("x = bytearray(512 * 1024 * 1024)", marker, memory_mb=256)
    assert done.memory_limited


def test_an_unknown_command_says_so(marker):
    with pytest.raises(FileNotFoundError, match="no-such-interpreter"):
        asyncio.run(process.run(["no-such-interpreter", marker], {}, 5))
