"""Memory a snippet holds outside every process's address space, which no process's own figures show: System V
shared memory that none maps and messages in queues (in its IPC namespace), and data waiting in its sockets'
and pipes' buffers. The cell adds it to what the snippet's processes use (walls.usage), so the memory limit
holds for the snippet as a whole. Standard library only."""

import ctypes
import fcntl
import itertools
import os
import socket
import struct
import termios
import time

_libc = ctypes.CDLL(None, use_errno=True)
NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 4, 20
NLM_F_REQUEST, NLM_F_DUMP, NLMSG_ERROR, NLMSG_DONE = 0x1, 0x300, 2, 3
NLMSG = struct.Struct("=IHHII")  # length, type, flags, sequence, port
UDIAG_SHOW_MEMINFO, UNIX_DIAG_MEMINFO, INET_DIAG_SKMEMINFO = 0x20, 5, 7
# The socket's memory, as the kernel reports it: rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued...
RMEM_ALLOC, WMEM_ALLOC, WMEM_QUEUED = 0, 2, 5


class _ShmInfo(ctypes.Structure):  # struct shm_info, what shmctl(SHM_INFO) fills
    _fields_ = [("used_ids", ctypes.c_int), ("shm_tot", ctypes.c_ulong), ("shm_rss", ctypes.c_ulong),
                ("shm_swp", ctypes.c_ulong), ("swap_attempts", ctypes.c_ulong), ("swap_successes", ctypes.c_ulong)]


class _MsgInfo(ctypes.Structure):  # struct msginfo, what msgctl(MSG_INFO) fills: msgtql, the bytes queued
    _fields_ = [(name, ctypes.c_int) for name in ("msgpool", "msgmap", "msgmax", "msgmnb", "msgmni", "msgssz",
                                                   "msgtql")] + [("msgseg", ctypes.c_ushort)]


SHM_INFO, MSG_INFO = 14, 12


def ipc() -> int:
    """Bytes held in this process's IPC namespace, which the cell shares with its snippet alone (walls.fresh_ipc):
    messages waiting in System V queues, and System V shared memory segments that none maps (a segment keeps its
    pages after the last detach, until removed or the namespace ends; mapped, they count in a process's memory).
    Two system calls say whether there is any; only segments are then read one by one."""
    shm, msg = _ShmInfo(), _MsgInfo()
    held = msg.msgtql if _libc.msgctl(0, MSG_INFO, ctypes.byref(msg)) >= 0 else 0
    if _libc.shmctl(0, SHM_INFO, ctypes.byref(shm)) >= 0 and shm.used_ids == 0:
        return held
    try:
        with open("/proc/sysvipc/shm", "rb") as segments:
            next(segments, None)  # the header
            for line in segments:
                fields = line.split()
                if len(fields) >= 16 and fields[6] == b"0":  # nattch
                    held += int(fields[14]) + int(fields[15])  # rss + swap, in bytes
    except (OSError, ValueError):
        pass
    return held


UNIX = (struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, UDIAG_SHOW_MEMINFO, 0, 0), 16, 4,
        UNIX_DIAG_MEMINFO)  # (request, message size, where its inode is, the attribute with its memory)
INET = [(struct.pack("=BBBBI", family, protocol, 1 << (INET_DIAG_SKMEMINFO - 1), 0, 0xFFFFFFFF) + bytes(48), 72, 68,
         INET_DIAG_SKMEMINFO) for family in (socket.AF_INET, socket.AF_INET6)
        for protocol in (socket.IPPROTO_TCP, socket.IPPROTO_UDP)]
# Seconds between looks at TCP and UDP sockets: to find a namespace's, the kernel walks every TCP socket of the
# machine (2.5 ms here), and their memory is capped machine-wide anyway (net.ipv4.tcp_mem, udp_mem); unix
# sockets have no such cap, and are looked at every time.
INET_EVERY = 0.5
_inet = {"when": float("-inf"), "bytes": 0}
_diag: dict[str, socket.socket | None] = {"socket": None}
_sequence = itertools.count(1)  # each dump's own number: its answers are told from what an earlier one left


def sockets(inodes: set[int] | None) -> int:
    """Bytes waiting in the buffers of this network namespace's sockets (the cell's own, where its snippet's
    are): received and not yet read, written and not yet sent, as the kernel's socket diagnostics tell them.
    `inodes`: only those sockets (a cell that shares the jail's network sees everyone's)."""
    try:
        diag = watch_sockets()
        total = _dump(diag, next(_sequence), *UNIX, inodes)
        if time.monotonic() - _inet["when"] >= INET_EVERY:
            _inet["when"] = time.monotonic()
            _inet["bytes"] = sum(_dump(diag, next(_sequence), *request, inodes) for request in INET) \
                if _inet_in_use() else 0
        return total + _inet["bytes"]
    except OSError:  # no socket diagnostics in this kernel: nothing counted (and a new socket next time)
        release()
        return 0


FEW_PIPES = 64  # pipes a snippet may hold uncounted: 64 MB at most, even each grown to the largest size (1 MB)


def pipes(ends: dict[int, str]) -> int:
    """Bytes waiting in the snippet's pipes, {inode: a /proc/PID/fd/N path to one of its ends}, when it holds
    more than a few: each is opened once more through that path (the same pipe) and asked (FIONREAD). Normal
    programs hold a few pipes, and are not asked."""
    if len(ends) <= FEW_PIPES:
        return 0
    total, count = 0, bytearray(4)
    for path in ends.values():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:  # closed meanwhile
            continue
        try:
            fcntl.ioctl(fd, termios.FIONREAD, count)
            total += int.from_bytes(count, "little")
        except OSError:
            pass
        finally:
            os.close(fd)
    return total


def watch_sockets() -> socket.socket:
    """The cell's socket diagnostics, made once (in its network namespace, which it keeps): before the cell
    takes its picture of a clean state (walls.traces), so that this socket is in it."""
    if _diag["socket"] is None:
        _diag["socket"] = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    return _diag["socket"]


def release() -> None:
    """In a snippet just forked from its cell: not the cell's socket diagnostics (a fresh Python holds none)."""
    if _diag["socket"] is not None:
        _diag["socket"].close()
        _diag["socket"] = None


def forget() -> None:
    """A new snippet: what the last one held in TCP and UDP sockets is not its."""
    _inet.update(when=float("-inf"), bytes=0)


def _inet_in_use() -> bool:
    """Whether this network namespace has TCP or UDP sockets (its /proc/net/sockstat counts them)."""
    for name in ("/proc/net/sockstat", "/proc/net/sockstat6"):
        try:
            with open(name, "rb") as counts:
                for line in counts:
                    fields = line.split()
                    if fields[:1] in ([b"TCP:"], [b"UDP:"], [b"TCP6:"], [b"UDP6:"]) and fields[1:3] != [b"inuse", b"0"]:
                        return True
        except OSError:
            return True  # (cannot tell: look)
    return False


def _dump(diag: socket.socket, sequence: int, request: bytes, size: int, at: int, attribute: int,
          inodes: set[int] | None) -> int:
    diag.send(NLMSG.pack(NLMSG.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0)
              + request)
    total = 0
    while True:
        data, offset = diag.recv(65536), 0
        while offset + NLMSG.size <= len(data):
            length, kind, _, answers, _ = NLMSG.unpack_from(data, offset)
            if length < NLMSG.size:
                return total
            if answers != sequence:  # the rest of an earlier dump cut short: not this one's
                offset += (length + 3) & ~3
                continue
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                return total  # (an error: this family is not there, say)
            message = data[offset + NLMSG.size:offset + length]
            if len(message) >= size and (inodes is None or struct.unpack_from("=I", message, at)[0] in inodes):
                total += _memory(message, (size + 3) & ~3, attribute)
            offset += (length + 3) & ~3
        if not data:
            return total


def _memory(message: bytes, position: int, attribute: int) -> int:
    """From a socket's attributes, the bytes in its buffers."""
    while position + 4 <= len(message):
        length, kind = struct.unpack_from("=HH", message, position)
        if length < 4:
            break
        if kind == attribute and length >= 4 + 4 * (WMEM_QUEUED + 1):
            values = struct.unpack_from(f"={WMEM_QUEUED + 1}I", message, position + 4)
            return values[RMEM_ALLOC] + max(values[WMEM_ALLOC], values[WMEM_QUEUED])
        position += (length + 3) & ~3
    return 0
