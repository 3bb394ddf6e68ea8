"""The walls inside the jail, raised with Linux system calls (the jail's Python has no `os.unshare` or `os.mount`
before 3.12, so through ctypes). Each cell (cell.py) gets its own user, mount, PID, network, IPC and UTS
namespaces, a private size-capped tmpfs for its home and temporary folders and its own /proc, and is wiped between
snippets; each snippet gets IPC of its own, then no capabilities at all and a few resource limits."""

import ctypes
import fcntl
import os
import re
import resource
import shutil
import signal
import socket
import struct
import time

from . import held

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1, 2, 4, 32, 4096, 16384, \
    1 << 18, 1 << 21
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_DUMPABLE, PR_SET_PDEATHSIG = 38, 24, 4, 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

HOME = "/home/snippet"
AREA = "/run/snippet"  # the snippet's one tmpfs; its home and temporary folders are bound from here
SHARED_FROM_AREA = {"home": HOME, "tmp": "/tmp", "var-tmp": "/var/tmp", "shm": "/dev/shm"}
MODES = {"home": 0o755, "tmp": 0o1777, "var-tmp": 0o1777, "shm": 0o1777}


def _check(result: int, what: str) -> int:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), "prctl")


def own_namespaces(uid: int, gid: int, network: bool) -> None:
    """Called in the forked child before it forks the namespace's first process (the cell): a user namespace of
    its own (so the process limit counts this cell alone, and it may make the others) mapping its uid to itself."""
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    unshare(flags if network else flags | CLONE_NEWNET)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    socket.sethostname("snippet")
    if not network:
        _loopback_up()


def _loopback_up() -> None:
    """A new network namespace has only `lo`, and it is down: bring it up, so servers on 127.0.0.1 work."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def private_files(disk_mb: int, files: int, current: int | None) -> int:
    """Called in the cell, PID 1 of its namespaces, before each snippet: the first time, one tmpfs for home,
    /tmp, /var/tmp and /dev/shm, capped in size and in files and folders (each costs the kernel memory that no
    size counts), and a /proc that shows this namespace's processes only; later, only new caps if this snippet's
    differ. Returns the size cap."""
    if current is None:
        mount("snippet", AREA, "tmpfs", MS_NOSUID | MS_NODEV, f"{_caps(disk_mb, files)},mode=0755")
        for name, target in SHARED_FROM_AREA.items():
            os.mkdir(f"{AREA}/{name}")
            os.chmod(f"{AREA}/{name}", MODES[name])  # not as the umask would have it: /tmp is 1777
            mount(f"{AREA}/{name}", target, None, MS_BIND)
        # The jail's /dev is one tmpfs for every cell: read-only here, so none can leave files there for another.
        # (A remount must repeat the flags the jail locked on it: nosuid, nodev, relatime.)
        mount("none", "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_RELATIME)
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)
        # No user namespace inside this one: in one of its own, a snippet could mount tmpfs after tmpfs, memory
        # that no disk cap or process limit counts. (Only this namespace's value: the jail's others are unchanged.)
        with open("/proc/sys/user/max_user_namespaces", "w") as file:
            file.write("0")
    elif disk_mb != current:
        mount("snippet", AREA, None, MS_REMOUNT | MS_NOSUID | MS_NODEV, _caps(disk_mb, files))
    return disk_mb


def _caps(disk_mb: int, files: int) -> str:
    return f"size={disk_mb}m,nr_inodes={files}"


def first_pid_next() -> None:
    """The next process of this namespace gets PID 2, as the first snippet did (best effort: older kernels do
    not let a user namespace write this)."""
    try:
        with open("/proc/sys/kernel/ns_last_pid", "w") as file:
            file.write("1")
    except OSError:
        pass


def fresh_ipc() -> None:
    """Called in the cell before it forks a snippet: System V IPC objects and POSIX message queues new to this
    snippet, which it shares with its cell alone (so the cell counts their memory without entering another
    namespace), gone when its last process is (the cell has moved on to the next snippet's by then)."""
    unshare(CLONE_NEWIPC)


def kill_all() -> bool:
    """Called in the cell: kill every other process of its namespace and reap them. True if some would not die
    within a second (stuck in the kernel): the cell is then retired, not reused."""
    try:
        os.kill(-1, signal.SIGKILL)  # from PID 1: every process of this PID namespace but itself
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 1.0
    while True:
        try:
            child, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if child == 0:
            if time.monotonic() > deadline:
                return True
            time.sleep(0.001)


def traces() -> tuple:
    """What the cell looks like between snippets: free space and inodes of its tmpfs, which folder each shared
    place is, its sockets and its keys. A snippet that leaves any of it changed retires the cell."""
    stat = os.statvfs(AREA)
    folders = tuple((os.stat(f"{AREA}/{name}").st_ino, os.stat(target).st_ino)
                    for name, target in SHARED_FROM_AREA.items())
    return stat.f_bfree, stat.f_ffree, folders, _sockets(), _lines("/proc/keys")


def wipe(before: tuple) -> bool:
    """Empty the tmpfs for the next snippet and give its folders back their modes; False when something of the
    last snippet would remain (see traces)."""
    try:
        for entry in os.scandir(AREA):
            if entry.name in SHARED_FROM_AREA and entry.is_dir(follow_symlinks=False):
                for inner in os.scandir(entry.path):
                    _remove(inner)
            else:
                _remove(entry)
        for path, mode in [(AREA, 0o755), *((f"{AREA}/{name}", MODES[name]) for name in SHARED_FROM_AREA)]:
            os.chmod(path, mode)
            for attribute in os.listxattr(path):  # user attributes and ACLs a snippet may have set
                os.removexattr(path, attribute)
        return traces() == before
    except OSError:
        return False


def _remove(entry: os.DirEntry) -> None:
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)


def _lines(path: str) -> int:
    try:
        with open(path) as file:
            return sum(1 for _ in file)
    except OSError:
        return -1


def _sockets() -> list[str]:
    """This network namespace's socket counts, TIME_WAIT included (/proc/net/tcp would list them, but reading it
    walks every namespace's connections: slow)."""
    counts = []
    for path in ("/proc/net/sockstat", "/proc/net/sockstat6"):
        try:
            with open(path) as file:
                counts += re.findall(r"\b(?:used|inuse|tw) \d+", file.read())
        except OSError:
            pass
    return counts


def drop_privileges(memory_mb: int | None, processes: int, file_mb: int) -> None:
    """Called in the snippet's own process: limits (processes, so a fork bomb stops; file size; memory), then
    no capabilities (root in no namespace) and no way to regain any. The process limit counts this snippet's
    user namespace alone."""
    limit(memory_mb, file_mb, processes)
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) == 0:
        cap += 1
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, twice: all empty
    _check(_libc.capset(header, data), "capset")


# Files open at once in all of a snippet's processes (each may raise its own limit to OPEN_FILES[1]): each costs
# the kernel memory that no limit counts, and the machine's table of open files (fs.file-max, a few hundred
# thousand on a small machine) is everyone's; when it is full, no other user's process can open a file.
FILES_OPEN_AT_ONCE = 65536


def usage(limit: int, shared_network: bool) -> tuple[int, int, int]:
    """What the snippet's namespace holds now, its cell included: its processes or, given a `limit` in bytes, its
    processes and threads (as the process limit counts them); and, given that limit, the memory it uses and the
    files its processes hold open. Its memory: its processes' own share of what they wrote (anonymous and shared
    memory, swapped or not), the memfd files they hold, and what it holds outside every process (held.py: System V
    IPC, socket and pipe buffers). `shared_network`: its cell has the jail's network, where only the sockets its
    processes hold are its own. Processes are counted cheaply first, from their resident and swapped pages, which
    count a page shared since a fork once per process: a bound from above. Only a bound over `limit` is counted
    again exactly, by shares (smaps_rollup walks every page table: a quarter of a millisecond a process, every 50
    ms, in every cell)."""
    pids = [name for name in os.listdir("/proc") if name.isdigit()]
    if not limit:
        return len(pids), 0, 0
    theirs = [pid for pid in pids if pid != "1"]  # (1: the cell)
    tally = _Tally(set() if shared_network else None)
    processes = sum(_memory(pid, exact=False, tally=tally) for pid in theirs)
    outside = held.ipc() + held.sockets(tally.sockets) + held.pipes(tally.pipes)
    used = outside + processes
    if used > limit:
        used = outside + sum(_memory(pid, exact=True) for pid in theirs)
    return tally.threads, used, tally.opened


class _Tally:
    """What the cheap pass over a snippet's processes gathers besides their memory: the inodes of the sockets
    they hold (only where its cell shares the jail's network: `sockets` None), a path to each pipe they hold by
    inode, their open files and their threads (1 for the cell)."""

    def __init__(self, sockets: set[int] | None):
        self.sockets, self.pipes, self.opened, self.threads = sockets, {}, 0, 1


def _memory(pid: str, exact: bool, tally: _Tally | None = None) -> int:
    """The process's memory (see usage), and given a `tally`, what it holds added to that."""
    used = 0
    try:
        if exact:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                fields = dict(line.split(b":", 1) for line in rollup if b":" in line)
            # (Older kernels split no Pss_Anon out: their Pss also counts the process's share of mapped files.)
            wanted = (b"Pss_Anon", b"Pss_Shmem", b"SwapPss") if b"Pss_Anon" in fields else (b"Pss", b"SwapPss")
        else:
            with open(f"/proc/{pid}/status", "rb") as status:
                fields = dict(line.split(b":", 1) for line in status
                              if line.startswith((b"Rss", b"VmSwap", b"Threads")))
            wanted = (b"RssAnon", b"RssShmem", b"VmSwap")
            if tally is not None:
                tally.threads += int(fields.get(b"Threads", b"1"))
        used += sum(int(fields[name].split()[0]) * 1024 for name in wanted if name in fields)
        for fd in os.scandir(f"/proc/{pid}/fd"):
            if tally is not None:
                tally.opened += 1
                if tally.opened > FILES_OPEN_AT_ONCE:  # enough to stop it: reading the rest would only take long
                    break
            target = os.readlink(fd.path)
            if target.startswith("/memfd:"):
                used += os.stat(fd.path).st_blocks * 512
            elif tally is not None and tally.sockets is not None and target.startswith("socket:["):
                tally.sockets.add(int(target[8:-1]))
            elif tally is not None and target.startswith("pipe:["):
                tally.pipes.setdefault(int(target[6:-1]), fd.path)
    except (OSError, ValueError):  # it exited meanwhile
        pass
    return used


def disk_full() -> bool:
    """Whether the snippet's tmpfs filled up, with data or with files (a few blocks are never handed out, so
    "nearly" counts)."""
    stat = os.statvfs(AREA)
    return stat.f_bavail * stat.f_frsize < 64 * 1024 or stat.f_favail < 8


def unjailed_home() -> str:
    """Without a jail (an explicit opt-out), a fresh temporary folder is the snippet's working folder and HOME."""
    import tempfile
    home = tempfile.mkdtemp(prefix="snippet-")
    os.environ.update(HOME=home, TMPDIR=home)
    return home


def remove_unjailed_home(home: str) -> None:
    """That folder and all in it, whatever modes the snippet gave its folders (never following a link)."""
    try:
        os.chmod(home, 0o700)
    except OSError:
        pass
    for folder, names, _ in os.walk(home):
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                try:
                    os.chmod(path, 0o700)  # before os.walk goes in, and so rmtree can empty it
                except OSError:
                    pass
    shutil.rmtree(home, ignore_errors=True)


def limit(memory_mb: int | None, file_mb: int, processes: int) -> None:
    """File size (a runaway writer stops) and memory per process. RLIMIT_DATA (memory a process can write), not
    RLIMIT_AS: each thread reserves (not uses) a 64 MB malloc arena and an 8 MB stack, so 1 GiB of address
    space would run out at a dozen threads. The stacks count in RLIMIT_DATA too, reserved as they are: room is
    made for as many as the process limit allows (else 1 GiB would stop a snippet at 125 threads, where
    `python NN.py` starts thousands). What they and the rest really use is the cell's to count (usage)."""
    limits = [(resource.RLIMIT_FSIZE, file_mb * 1024 * 1024), (resource.RLIMIT_CORE, 0)]
    if memory_mb:
        stack = resource.getrlimit(resource.RLIMIT_STACK)[0]
        stack = 8 << 20 if stack == resource.RLIM_INFINITY else stack  # (glibc's size for a thread's stack)
        limits.append((resource.RLIMIT_DATA, memory_mb * 1024 * 1024 + processes * stack))
    for which, value in limits:
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))  # the hard limit too, so the snippet cannot raise it again
    same_for_every_builder()


# Open files as a Linux desktop gives them (systemd's defaults), whatever the builder's shell, CI or container
# has (1024 to a million): a snippet that counts on more must raise its own limit, everywhere alike.
OPEN_FILES = (1024, 524288)


def same_for_every_builder() -> None:
    """What a process inherits from whoever started the build, made the same for every builder: the umask
    (Ubuntu gives users 002, root has 022) and the open-file limits."""
    os.umask(0o022)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = OPEN_FILES[1] if hard == resource.RLIM_INFINITY else min(OPEN_FILES[1], hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(OPEN_FILES[0], hard), hard))


def kill_group(pid: int) -> None:
    """Without a PID namespace, what the snippet started goes with its process group (a daemon that left the
    group escapes: the jail is what makes that impossible)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
