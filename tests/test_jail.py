"""Hostile snippets, one class each, run in the real jail: after each, the project, the builder's files, the host's
temporary folders, its processes, its loopback services and the verifier are as they were. These tests also run as
an unprivileged user (see test_jail_as_user.py), how most people build their blog."""

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from jail_runs import empty_env, processes_with, request, run, run_in_turn, run_together
from snipcheck.interpreter import Interpreter

REPO = Path(__file__).resolve().parent.parent
WATCHED = ["_posts", "_plugins", "_layouts", "_includes", "snippets", ".git/hooks", "tasks.py", "_config.yml"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return empty_env(tmp_path_factory.mktemp("site"))


@pytest.fixture
def marker():
    return f"hostile-{uuid.uuid4().hex[:12]}"


def fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for top in paths:
        for path in sorted(top.rglob("*")) if top.is_dir() else [top]:
            if path.is_file() and not path.is_symlink():
                digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def project_untouched():
    paths = [REPO / name for name in WATCHED if (REPO / name).exists()]
    before = fingerprint(paths)
    yield
    assert fingerprint(paths) == before, "a snippet changed the project"


def test_a_snippet_cannot_find_the_project(env, project_untouched):
    done = run(env, f"""
import os, sys
seen = [sys.prefix, sys.exec_prefix, *sys.path, os.getcwd(), os.path.expanduser('~')]
for pid in os.listdir('/proc'):
    if pid.isdigit():
        for link in ('cwd', 'root', 'exe'):
            try:
                seen.append(os.readlink(f'/proc/{{pid}}/{{link}}'))
            except OSError:
                pass
print('\\n'.join(seen))
print(os.path.exists({str(REPO)!r}), os.path.exists({str(REPO / '_posts')!r}))
""")
    assert done.returncode == 0, done.stderr
    assert str(REPO) not in done.stdout and "False False" in done.stdout


def test_a_snippet_cannot_change_posts_plugins_hooks_or_the_cache(env, project_untouched):
    targets = [REPO / "_posts" / "evil.md", REPO / "_plugins" / "evil.rb", REPO / ".git" / "hooks" / "pre-commit",
               REPO / ".cache" / "snippets" / "forged.json", REPO / "README.md"]
    done = run(env, f"""
import os
for path in {[str(t) for t in targets]!r}:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'a') as file:
            file.write('owned')
        print('WROTE', path)
    except OSError as err:
        print('refused', path, err.strerror)
""")
    # Refused (the jail's root is read-only) — or, where the project lives under /tmp, written into the
    # snippet's own /tmp, which goes with it. Either way nothing reached the project (see project_untouched).
    assert done.stdout.count("refused") + done.stdout.count("WROTE") == len(targets), done.stdout + done.stderr
    if not str(REPO).startswith("/tmp/"):
        assert "WROTE" not in done.stdout and "Read-only file system" in done.stdout, done.stdout
    assert not (REPO / "_posts" / "evil.md").exists() and not (REPO / "_plugins" / "evil.rb").exists()
    assert not (REPO / ".cache" / "snippets" / "forged.json").exists()


def test_a_snippet_cannot_read_the_builders_files(env, tmp_path, marker):
    secret = Path.home() / ".snipcheck-test-secret"
    secret.write_text(marker)
    try:
        done = run(env, f"""
import glob, os
for path in [{str(secret)!r}, '/etc/shadow', '/root/.bash_history', *glob.glob('/home/*/.*'), *glob.glob('/root/*')]:
    try:
        print(open(path).read()[:200])
    except OSError as err:
        print('cannot read', path, err.strerror)
""")
    finally:
        secret.unlink()
    assert marker not in done.stdout
    assert "cannot read /etc/shadow" in done.stdout


def test_only_the_snippets_own_folders_are_writable(env):
    done = run(env, """
for path in ('/x', '/dev/x', '/run/x', '/opt/x', '/env/x', '/usr/x', '/etc/x', '/tmp/x', '/var/tmp/x', '/dev/shm/x', 'x'):
    try:
        with open(path, 'w') as file:
            file.write('1')
        print('wrote', path)
    except OSError as err:
        print('refused', path)
""")
    assert done.stdout.split("\n")[:-1] == [f"refused {p}" for p in ("/x", "/dev/x", "/run/x", "/opt/x", "/env/x", "/usr/x",
                                                                     "/etc/x")] + \
        [f"wrote {p}" for p in ("/tmp/x", "/var/tmp/x", "/dev/shm/x", "x")], done.stderr


def test_a_snippet_leaves_nothing_in_the_hosts_temporary_folders(env, marker):
    done = run(env, f"""
for folder in ('/tmp', '/var/tmp', '/dev/shm', '.'):
    with open(f'{{folder}}/{marker}', 'w') as file:
        file.write('litter')
print(open('/tmp/{marker}').read())
""")
    assert done.returncode == 0 and done.stdout == "litter\n", done.stderr
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not any(marker in name for name in os.listdir(folder)), folder


def test_filling_the_disk_stops_at_the_disk_limit(env):
    done = run(env, """
with open('big', 'wb') as file:
    for _ in range(64):
        file.write(b'x' * 1024 * 1024)
""", disk_mb=8, file_mb=64)
    assert done.returncode == 1 and done.disk_full and "No space left on device" in done.stderr


def test_making_files_stops_at_the_disk_limit_even_when_they_are_empty(env):
    # Each empty file or folder costs the kernel about 1 KB that no size counts: a loop of mkdir took 800 MB of
    # kernel memory in 8 s, past both the disk and the memory limit.
    done = run(env, """
import os
made = 0
try:
    while True:
        os.mkdir(f"/tmp/{made}")
        made += 1
except OSError as err:
    print(made, err.strerror)
""", disk_mb=8, files=2000)
    assert done.returncode == 0 and done.disk_full, done.stderr
    made, why = done.stdout.split(" ", 1)
    assert 1900 < int(made) < 2000 and why == "No space left on device\n"


def test_a_file_larger_than_the_file_limit_is_refused(env):
    done = run(env, "open('big', 'wb').write(b'x' * 32 * 1024 * 1024)\n", disk_mb=64, file_mb=4)
    assert done.returncode == 1 and "File too large" in done.stderr


def test_services_on_the_hosts_loopback_are_out_of_reach(env):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    port = server.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:
            pass
    waiter = threading.Thread(target=accept)
    waiter.start()
    try:
        done = run(env, f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    print('CONNECTED')
except OSError as err:
    print('refused', err)
""")
    finally:
        waiter.join()
        server.close()
    assert "CONNECTED" not in done.stdout and not accepted


def test_the_network_is_cut_off_unless_asked_for(env):
    code = """
import socket
try:
    socket.create_connection(('203.0.113.1', 80), timeout=1)
except OSError as err:
    print(type(err).__name__, err.errno)
"""
    assert "101" in run(env, code).stdout  # ENETUNREACH: there is no route at all, only loopback
    assert "101" not in run(env, code, network=True).stdout


def test_loopback_works_inside_a_snippet(env):
    done = run(env, """
import asyncio

async def main():
    server = await asyncio.start_server(lambda r, w: (w.write(b'pong'), w.close()), '127.0.0.1', 8888)
    reader, writer = await asyncio.open_connection('127.0.0.1', 8888)
    print((await reader.read()).decode())
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()

asyncio.run(main())
""")
    assert done.stdout == "pong\n", done.stderr


def test_a_snippet_cannot_signal_the_verifier_or_any_process_outside(env, marker):
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        done = run(env, f"""
import os, signal
for pid in ({os.getpid()}, {decoy.pid}):
    try:
        os.kill(pid, signal.SIGKILL)
        print('killed', pid)
    except OSError as err:
        print('cannot', pid, err.strerror)
os.kill(-1, signal.SIGKILL)
""")
        assert decoy.poll() is None, "the snippet killed a process outside its jail"
        assert done.returncode is not None
    finally:
        decoy.kill()
        decoy.wait()


def test_a_snippet_sees_only_its_own_processes_and_no_sys(env):
    done = run(env, """
import os
print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), os.path.exists('/sys/class'), os.getpid())
""")
    assert done.stdout == "[1, 2] False 2\n", done.stderr


def test_a_fork_bomb_stops_at_the_process_limit(env, marker):
    done = run(env, """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as err:
    print('stopped after', children, err.strerror)
    raise
""", processes=32, timeout=20)
    # It stops itself at the limit, or is stopped there (killed) when the cell sees it first.
    assert not done.timed_out and done.processes >= 31 and done.returncode in (1, -9), done.stdout
    assert done.returncode == -9 or "Resource temporarily unavailable" in done.stdout, done.stdout
    assert not processes_with(marker)


def test_a_fork_bomb_that_ignores_the_limit_is_stopped_there(env, marker):
    """Churning at its limit until the timeout, it would take the CPUs from every other snippet."""
    done = run(env, f"""
import os, sys
if sys.argv[1:] != ['{marker}']:  # every process of the bomb carries the marker on its command line
    os.execv(sys.executable, [sys.executable, __file__, '{marker}'])
while True:
    try:
        os.fork()
    except OSError:
        pass
""", processes=32, timeout=20)
    assert not done.timed_out and done.returncode == -9 and done.processes >= 31, done.stdout
    assert not processes_with(marker)


def test_a_memory_hog_stops_at_the_memory_limit(env):
    done = run(env, "import time\nhog = bytearray(600 * 1024 * 1024)\ntime.sleep(5)\nprint('kept it')\n",
               memory_mb=256)
    assert done.memory_full and done.returncode == -9 and not done.stdout, done

    alone = run(env, "hog = bytearray(2048 * 1024 * 1024)\n", memory_mb=256)  # past what its process may reserve
    assert alone.returncode == 1 and "MemoryError" in alone.stderr


def test_processes_that_grow_together_stop_at_the_memory_limit(env, marker):
    done = run(env, f"""
import os, time
for _ in range(6):
    if os.fork() == 0:
        share = bytearray(100 * 1024 * 1024)  # each under the limit of one process
        time.sleep(30)  # {marker}
        os._exit(0)
os.wait()
print('all of them ran')
""", memory_mb=256, timeout=20)
    assert done.memory_full and done.returncode == -9 and "all of them ran" not in done.stdout, done.stderr
    assert done.seconds < 10 and not processes_with(marker)


def test_files_held_open_together_stop_at_the_open_file_limit(env, marker):
    """Each process may raise its own limit; together they could fill the machine's table of open files
    (fs.file-max), and then no other user's process could open one."""
    opener = "import os, time\ntry:\n    while True:\n        os.open('/dev/null', os.O_RDONLY)\nexcept OSError:\n    time.sleep(30)\n"
    done = run(env, f"""
import os, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
for _ in range(min(200, 70000 // hard + 2)):
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', {opener!r}, '{marker}'])
os.wait()
print('all of them ran')
""", timeout=30)
    assert done.files_full == 65536 and done.returncode == -9 and "all of them ran" not in done.stdout, done
    time.sleep(0.2)
    assert not processes_with(marker)


def test_memory_in_memfd_files_counts_toward_the_limit(env):
    done = run(env, """
import os
for _ in range(64):  # memfd files hold memory in no process's address space, and outside the disk limit
    os.write(os.memfd_create('held'), b'x' * (8 * 1024 * 1024))
print('held them all')
""", memory_mb=256, file_mb=64, timeout=20)
    assert done.memory_full and "held them all" not in done.stdout, (done.stdout, done.stderr)


def test_shared_memory_that_no_process_maps_counts_toward_the_limit(env):
    done = run(env, """
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
size = 64 * 1024 * 1024
for _ in range(8):  # a System V segment keeps its pages after the last detach: in no process's memory
    segment = libc.shmget(0, ctypes.c_size_t(size), 0o1600)  # IPC_PRIVATE, IPC_CREAT
    address = libc.shmat(segment, None, 0)
    ctypes.memset(address, 1, size)
    libc.shmdt(ctypes.c_void_p(address))
print('held them all')
time.sleep(30)
""", memory_mb=256, timeout=20)
    assert done.memory_full and done.seconds < 10, (done.stdout, done.stderr)


FULL_SOCKETS = """
import os, socket, time
{before}
held = []
for _ in range({count}):  # sockets whose buffers are full: kernel memory, in no process's
    ours, theirs = {pair}
    ours.setblocking(False)
    try:
        while True:
            ours.send(b"x" * 65536)
    except BlockingIOError:
        pass
    held.append((ours, theirs))
print("queued them all", flush=True)
time.sleep(30)
"""
UNIX_PAIRS = {"before": "for _ in range(3):  # four processes, 88 MB each\n    if os.fork() == 0:\n        break",
              "count": 400, "pair": "socket.socketpair()"}
LOOPBACK = {"before": 'server = socket.create_server(("127.0.0.1", 0), backlog=512)', "count": 1000,
            "pair": "socket.create_connection(server.getsockname()), server.accept()[0]"}


@pytest.mark.parametrize("sockets, network", [(UNIX_PAIRS, False), (UNIX_PAIRS, True), (LOOPBACK, False)],
                         ids=["unix pairs", "unix pairs, the jail's network", "loopback connections"])
def test_data_waiting_in_sockets_counts_toward_the_limit(env, sockets, network):
    # (In the jail's network, shared with the machine, only the sockets the snippet's processes hold count.)
    done = run(env, FULL_SOCKETS.format(**sockets), network=network, memory_mb=256, timeout=20)
    assert done.memory_full and done.seconds < 10, (done.stdout, done.stderr)


def test_data_waiting_in_pipes_counts_toward_the_limit(env):
    done = run(env, """
import os, resource, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
pipes = []
for _ in range(min(20000, hard) // 2 - 50):  # pipes full of data that nobody reads: in no process's memory
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        while True:
            os.write(write, b"x" * 4096)
    except BlockingIOError:
        pass
    pipes.append((read, write))
print("filled them all", flush=True)
time.sleep(30)
""", memory_mb=64, timeout=20)
    assert done.memory_full and done.seconds < 10, (done.stdout, done.stderr)


def test_messages_waiting_in_queues_count_toward_the_limit(env):
    done = run(env, """
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
class Message(ctypes.Structure):
    _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * 8192)]
message = Message(1, b"x" * 8192)
for _ in range(32000):  # up to 16 KB in each of 32000 System V queues: in no process's memory
    queue = libc.msgget(0, 0o1600)
    while libc.msgsnd(queue, ctypes.byref(message), 8192, 0o4000) == 0:  # IPC_NOWAIT
        pass
print('queued them all')
time.sleep(30)
""", memory_mb=256, timeout=20)
    assert done.memory_full and done.seconds < 10, (done.stdout, done.stderr)


def test_a_snippet_cannot_make_a_user_namespace_of_its_own(env):
    done = run(env, """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.unshare(0x10000000), os.strerror(ctypes.get_errno()))  # CLONE_NEWUSER: there, it could mount tmpfs
""")
    assert done.stdout == "-1 No space left on device\n", (done.stdout, done.stderr)


def test_snippets_have_no_capabilities_and_are_nobody_outside(env):
    done = run(env, """
import os
status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\\t' in line)
print(status['CapEff'].strip(), status['CapPrm'].strip(), status['NoNewPrivs'].strip(), os.getuid(), os.getgid())
""")
    assert done.stdout == "0000000000000000 0000000000000000 1 1000 1000\n", done.stderr


def test_nothing_a_snippet_starts_outlives_it(env, marker):
    done = run(env, f"""
import os, subprocess, sys, time
if os.fork() == 0:          # a daemon: double fork, new session, forever
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'])
    os._exit(0)
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'], start_new_session=True)
time.sleep(0.2)
print('started')
""")
    assert done.stdout == "started\n"
    time.sleep(0.2)
    assert not processes_with(marker)


def test_a_timeout_stops_the_snippet_and_everything_it_started(env, marker):
    started = time.monotonic()
    done = run(env, f"""
import subprocess, sys
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'], start_new_session=True)
while True:
    pass
""", timeout=1)
    assert done.timed_out and done.timed_out_step == 1 and time.monotonic() - started < 5
    time.sleep(0.2)
    assert not processes_with(marker)


def test_one_snippet_cannot_see_signal_or_touch_another(env, marker):
    victim = f"""
import os, time
open('/tmp/{marker}-victim', 'w').write('mine')
time.sleep(1.5)
print('alive', open('/tmp/{marker}-victim').read())
"""
    attacker = f"""
import os, signal, time
time.sleep(0.3)
print('victim file seen:', os.path.exists('/tmp/{marker}-victim'))
print('processes:', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
for pid in range(2, 400):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""
    victim_done, attacker_done = run_together(env, [victim, attacker])
    assert victim_done.stdout == "alive mine\n", victim_done.stderr
    assert "victim file seen: False" in attacker_done.stdout and "processes: [1, 2]" in attacker_done.stdout


CELL = "import os\nprint('cell', os.readlink('/proc/self/ns/net'), os.readlink('/proc/self/ns/mnt'))\n"


def test_the_next_snippet_in_a_cell_finds_nothing_of_the_last(env, marker):
    litter = CELL + f"""
import ctypes, os, subprocess, sys
for folder in (os.path.expanduser('~'), '/tmp', '/var/tmp', '/dev/shm'):
    os.makedirs(f'{{folder}}/{marker}/deep')
    with open(f'{{folder}}/{marker}-file', 'w') as file:
        file.write('left')
    os.chmod(f'{{folder}}/{marker}', 0)
os.setxattr(os.path.expanduser('~'), 'user.{marker}', b'left')
os.chmod(os.path.expanduser('~'), 0o700)
os.chmod('/tmp', 0o700)
librt = ctypes.CDLL('librt.so.1', use_errno=True)
librt.mq_open.restype = ctypes.c_int
print('queue', librt.mq_open(b'/{marker}', os.O_CREAT | os.O_RDWR, 0o600, None) >= 0)
libc = ctypes.CDLL(None, use_errno=True)
print('segment', libc.shmget(0x5150, 4096, 0o1000 | 0o600) >= 0)
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'], start_new_session=True)
"""
    looks = CELL + f"""
import ctypes, os
print('pid', os.getpid(), 'processes', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
found = [f'{{folder}}/{{name}}' for folder in (os.path.expanduser('~'), '/tmp', '/var/tmp', '/dev/shm')
         for name in os.listdir(folder) if name != '01.py']
print('files', found, 'modes', [oct(os.stat(f).st_mode & 0o7777) for f in (os.path.expanduser('~'), '/tmp')])
print('attributes', os.listxattr(os.path.expanduser('~')))
librt = ctypes.CDLL('librt.so.1', use_errno=True)
print('queue', librt.mq_open(b'/{marker}', os.O_RDWR, 0, None) >= 0)
print('segment', ctypes.CDLL(None).shmget(0x5150, 0, 0) >= 0)
"""
    first, second = run_in_turn(env, [litter, looks])
    assert "queue True" in first.stdout and "segment True" in first.stdout, first.stderr
    assert second.stdout.splitlines()[1:] == [
        "pid 2 processes [1, 2]", "files [] modes ['0o755', '0o1777']", "attributes []", "queue False",
        "segment False"], second.stderr
    assert first.stdout.splitlines()[0] == second.stdout.splitlines()[0], "the cell was not reused"
    assert not processes_with(marker)


def test_a_cell_that_measured_its_snippet_is_reused_and_keeps_its_means_to_itself(env):
    # A snippet that runs for a while has its memory measured (every 50 ms) through the cell's own socket
    # diagnostics; that socket must neither make the cell look used (retiring it) nor reach the next snippet.
    waits = CELL + "import time\ntime.sleep(0.3)\n"
    looks = CELL + """
sockets = 0
for fd in os.listdir('/proc/self/fd'):
    try:
        sockets += os.readlink(f'/proc/self/fd/{fd}').startswith('socket:')
    except FileNotFoundError:  # the listing's own
        pass
print('sockets', sockets)
"""
    first, second = run_in_turn(env, [waits, looks])
    assert second.stdout.splitlines()[1:] == ["sockets 0"], second.stderr
    assert first.stdout.splitlines()[0] == second.stdout.splitlines()[0], "the cell was not reused"


def test_snippets_that_wait_get_cells_of_their_own_at_once(env):
    # While the CPUs are busy, a request may wait for a cell to be free rather than make one; snippets that sleep
    # never free theirs, so each must get a cell of its own, not wait for another's. (Had one waited, a cell
    # would have served two, and fewer cells would show.)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() + 1)]
    try:
        done = run_together(env, [CELL + "import time\ntime.sleep(2)\n"] * 16, timeout=30)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert all(d.returncode == 0 for d in done), [d.stderr for d in done]
    assert len({d.stdout for d in done}) == 16


def test_a_reused_cell_takes_the_next_snippets_disk_limit(env):
    size = CELL + "st = os.statvfs('/tmp')\nprint(st.f_blocks * st.f_frsize // 2 ** 20, 'MB')\n"
    first, second, third = run_in_turn(env, [size, size, size], disk_mb=32)
    assert [done.stdout.split()[-2] for done in (first, second, third)] == ["16", "32", "32"], second.stderr
    assert len({done.stdout.splitlines()[0] for done in (first, second, third)}) == 1, "the cell was not reused"


def test_a_connection_left_in_time_wait_retires_the_cell(env):
    server = CELL + """
import socket, socketserver, threading

class Hello(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b'hello')

socketserver.TCPServer.allow_reuse_address = False  # as a server written without it: a second bind would fail
with socketserver.TCPServer(('127.0.0.1', 8765), Hello) as server:
    threading.Thread(target=server.handle_request).start()
    print(socket.create_connection(('127.0.0.1', 8765)).recv(5))
"""
    first, second = run_in_turn(env, [server, server])
    assert first.stdout.splitlines()[1:] == second.stdout.splitlines()[1:] == ["b'hello'"], second.stderr
    assert first.stdout.splitlines()[0] != second.stdout.splitlines()[0], "a cell with a TIME_WAIT was reused"


def test_a_snippet_cannot_stop_its_guard(env):
    done = run(env, """
import os, signal, time
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL, signal.SIGSTOP):
    os.kill(1, sig)
time.sleep(0.2)
print('done')
""")
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr


def test_every_build_sees_the_same_environment(env):
    done = run(env, """
import getpass, os, pwd, resource, socket, sys
print(os.getuid(), getpass.getuser(), pwd.getpwuid(os.getuid()).pw_name, os.environ['HOME'], os.getcwd(),
      socket.gethostname(), sys.prefix, os.environ['PATH'], sorted(os.listdir('/home')), os.listdir('.'))
import time
print(oct(os.umask(0o022)), resource.getrlimit(resource.RLIMIT_NOFILE)[0], time.tzname[0])
""")
    assert done.stdout == ("1000 snippet snippet /home/snippet /home/snippet snippet /env "
                           "/env/bin:/usr/local/bin:/usr/bin:/bin ['snippet'] ['01.py']\n0o22 1024 UTC\n"), done.stderr


CHANNELS = """
import os
def channels():  # pipes this process holds that are not its stdout or stderr: our diagnostics channel
    found, shown = [], {os.readlink('/proc/self/fd/1'), os.readlink('/proc/self/fd/2')}
    for name in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink(f'/proc/self/fd/{name}')
            if int(name) > 2 and target.startswith('pipe:') and target not in shown:
                found.append(int(name))
        except OSError:
            pass
    return found
def forge(line):
    for fd in channels():
        os.write(fd, line.encode() + b'\\n')
"""


def test_forged_step_reports_do_not_buy_a_snippet_more_time(env):
    """The snippet holds its diagnostics channel: a report that its block starts again must not restart its clock."""
    done = run(env, CHANNELS + """
import json, time
assert channels(), 'no channel found'
for _ in range(20):
    forge(json.dumps({'kind': 'step', 'index': 1, 'file': '01.py', 'event': 'start'}))
    time.sleep(0.25)
print('survived')
""", timeout=1)
    assert done.timed_out and "survived" not in done.stdout, done.stdout + done.stderr


def test_each_step_of_a_run_has_its_own_clock_from_its_own_start(env):
    """A hidden setup and its block share an index (and a timeout), each measured from its own start."""
    nap = "import time\ntime.sleep(0.7)\nprint('{}')\n"
    steps = [{"index": 1, "file": "01.setup.py", "kind": "program", "code": nap.format("set up")},
             {"index": 1, "file": "01.py", "kind": "program", "code": nap.format("ran"), "own": True}]

    async def both():
        interpreter = Interpreter(env.path)
        await interpreter.start()
        try:
            return await interpreter.run({**request(""), "steps": steps}, {1: 1})
        finally:
            await interpreter.close()
    done = asyncio.run(both())
    assert not done.timed_out and done.stdout == "ran\n", done


def test_forged_or_flooded_reports_are_dropped_and_a_flood_is_cut(env):
    done = run(env, CHANNELS + """
import json
for forged in ({'kind': 'step', 'event': 'exit'}, {'kind': 'step', 'index': 7, 'file': '07.py', 'event': 'exit',
               'status': 0}, {'kind': 'warning', 'message': 5}, [1, 2], {'kind': 'nothing'}):
    forge(json.dumps(forged))
forge('[' * 100000 + ']' * 100000)
line = json.dumps({'kind': 'asyncio', 'level': 'INFO', 'message': 'x', 'traceback': ''})
for _ in range(300):
    forge('\\n'.join([line] * 100))
print('done')
""")
    assert done.stdout == "done\n" and done.returncode == 0, done.stderr[-2000:]
    assert done.truncated and len(done.events) <= 10_000
    kinds = {event["kind"] for event in done.events}
    assert kinds <= {"step", "asyncio"} and all(event.get("file") == "01.py" for event in done.events
                                                if event["kind"] == "step")


def test_output_floods_are_cut_at_the_cap(env):
    done = run(env, "import sys\nfor _ in range(3000): sys.stdout.write('x' * 1000 + '\\n')\n")
    assert done.truncated and len(done.stdout) == 1024 * 1024 and done.returncode == 0


def test_without_the_jail_nothing_is_walled_but_the_run_still_ends(env, marker):
    done = run(env, f"""
import os, subprocess, sys
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'])
print(os.getuid() == {os.getuid()})
""", jailed=False)
    assert done.stdout == "True\n" and not done.jailed
    time.sleep(0.2)
    assert not processes_with(marker)


def test_without_the_jail_a_timeout_still_ends_everything_and_leaves_no_folder(env, marker):
    done = run(env, f"""
import os, subprocess, sys, time
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'])
os.makedirs('locked/in')
open('locked/in/file', 'w').write('x')
os.chmod('locked/in', 0)
os.chmod('locked', 0)
print(os.getcwd(), flush=True)
time.sleep(300)
""", jailed=False, timeout=1)
    assert done.timed_out and not done.jailed
    time.sleep(0.2)
    home = done.stdout.strip()
    assert home.startswith(tempfile.gettempdir()) and not os.path.exists(home)
    assert not processes_with(marker)
