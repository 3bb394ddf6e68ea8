"""The jail snippets run in: bubblewrap, the sandbox Flatpak uses. Inside, the system is read-only; the project,
the builder's HOME, /root, /home and the host's /tmp do not exist; the snippet environment is at /env, the Python
it was made from at /opt/python (unless it lives in /usr), and our warm interpreter's code at /opt/snipcheck. The
user is `snippet` (uid 1000) and the host `snippet`, whoever runs the build, so a result means the same on a laptop
and in CI. Each snippet then raises its own walls inside (see warm/walls.py).

As root, the jail is entered as `nobody`: root inside a user namespace is still root to the files it can see
(owner of /etc/shadow), so root's jail belongs to nobody outside. The folders it needs are bind-mounted first, in
a private mount namespace, from descriptors opened while still root."""

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

WARM = Path(__file__).with_name("warm")
INSIDE = {"env": "/env", "python": "/opt/python", "warm": "/opt/snipcheck/warm"}
PATH = "/env/bin:/usr/local/bin:/usr/bin:/bin"
NOBODY = 65534
PASSWD = ("root:x:0:0:root:/root:/usr/sbin/nologin\nsnippet:x:1000:1000:snippet:/home/snippet:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = "root:x:0:\nsnippet:x:1000:\nnogroup:x:65534:\n"


class JailError(Exception):
    """No jail can be made here: the message says why and what to do."""


def no_jail(reason: str) -> JailError:
    """The error for `reason`, with what usually lies behind it."""
    if "mount proc" in reason:
        reason += (" (this machine runs inside another sandbox or container whose /proc has parts mounted over, "
                   "where no normal user can make a sandbox of their own: build as root there, or outside it)")
    return JailError(NO_JAIL_HELP.format(reason=reason))


NO_JAIL_HELP = ("Snippets run in a bubblewrap jail, and none can be made on this machine: {reason}.\n"
                "    Install bubblewrap (`invoke setup` does, on Debian and Ubuntu) and allow user namespaces; or, to run "
                "snippets unjailed (they can then read and change your files), pass --no-jail or set "
                "`snippets: {{jail: false}}` in _config.yml.")


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]
    pass_fds: list[int]  # data files bubblewrap reads (pyvenv.cfg, passwd, group); close them after starting


def environment(base: Path) -> dict[str, str]:
    """What every snippet finds in os.environ: the same whoever builds."""
    env = {"PATH": PATH, "HOME": "/home/snippet", "USER": "snippet", "LOGNAME": "snippet", "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONASYNCIODEBUG": "1",
           # -X dev also swaps in the debug memory allocator, which only C extensions' bugs need; keep the usual one.
           "PYTHONMALLOC": "pymalloc", "NO_COLOR": "1",
           "TZ": "UTC"}  # (the machine's zone would differ between a laptop and CI)
    if _shared_libpython(base):
        env["LD_LIBRARY_PATH"] = f"{INSIDE['python']}/lib"
    return env


def _shared_libpython(base: Path) -> bool:
    return not _in_usr(base) and any((base / "lib").glob("libpython*.so*"))


def _in_usr(path: Path) -> bool:
    return path == Path("/usr") or Path("/usr") in path.parents


def _in_system(path: Path) -> bool:
    """Inside a folder every jail shows: /usr or /etc."""
    return _in_usr(path) or path == Path("/etc") or Path("/etc") in path.parents


def high_fd(fd: int) -> int:
    """`fd` moved to 10 or above: the root path's shell opens 3 to 9 itself (sh can name no higher ones)."""
    import fcntl
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def _data_fd(text: str) -> int:
    fd = os.memfd_create("jail-data", os.MFD_CLOEXEC)
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return high_fd(fd)


def python_base(env: Path) -> Path:
    """The prefix of the interpreter the environment was made from (its pyvenv.cfg `home` is <prefix>/bin)."""
    for line in (env / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return Path(value.strip()).parent
    return Path(sys.base_prefix)


def command(env: Path, control_fd: int) -> Command:
    """The command line that starts the warm interpreter for `env` inside the jail. `control_fd` must be 10 or
    above (see `high_fd`)."""
    base = python_base(env)
    sources = {"env": (env, INSIDE["env"]), "warm": (WARM, INSIDE["warm"])} | _python(base) | _resolver()
    args, data = _walls(sources, base)  # (the network is the host's: each cell takes its own but for `network`)
    args += ["--dir", "/run/snippet", "--remount-ro", "/"]
    for key, value in environment(base).items():
        args += ["--setenv", key, value]
    args += ["--", "/env/bin/python", "-X", "dev", f"{INSIDE['warm']}/main.py", str(control_fd), "jailed"]
    return _entered(sources, args, data)


# Processes and threads an install may have at once (uv's threads, a build's compilers): a fork bomb in a setup
# script stops there, and is then stopped (installing.run). Counted in the install's own user namespace (Linux
# 5.14 and later), not among all of the builder's.
INSTALL_PROCESSES = 2048
# Sets the limits inside the jail, where they count, then runs the command (the environment's own Python).
LIMITED = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_NPROC, (int(sys.argv[1]),) * 2); "
           "resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); os.execv(sys.argv[2], sys.argv[2:])")


def install_command(building: Path, uv: Path, cache: Path, uv_args: list[str], env: dict[str, str],
                    local: tuple[tuple[Path, str, bool], ...] = ()) -> Command:
    """`uv <uv_args>` for an environment being built, in a jail of its own: installing a package may run its
    code (building a source distribution runs its setup script), and a post names the packages. The install
    sees what a snippet sees, with the network (it downloads), the environment it fills at /env and the site's
    download cache at /cache writable, and the packages the site declares as files, `local`: (what to show,
    where, writable); at most INSTALL_PROCESSES processes, and no core dumps. `env`: the proxy, index and
    certificate settings to pass on. (Its time is the caller's to limit: the jail ends with this command.)"""
    base = python_base(building)
    sources = {"env": (building, INSIDE["env"]), "cache": (cache, "/cache"), "uv": (uv, "/opt/uv/uv")}
    sources |= _python(base) | _resolver()
    sources |= {f"local{number}": (path, inside) for number, (path, inside, _) in enumerate(local)}
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):  # certificates outside /etc and /usr: visible read-only
        if env.get(name) and os.path.exists(env[name]) and not _in_system(Path(env[name])):
            sources[name.lower()] = (Path(env[name]), os.path.abspath(env[name]))
    writable = {"env", "cache"} | {f"local{number}" for number, (_, _, rw) in enumerate(local) if rw}
    args, data = _walls(sources, base, writable=writable, as_pid_1=False)  # (bubblewrap reaps builds)
    args += ["--remount-ro", "/"]
    own = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC",
           "UV_CACHE_DIR": "/cache", "UV_PYTHON_DOWNLOADS": "never"}
    if _shared_libpython(base):
        own["LD_LIBRARY_PATH"] = f"{INSIDE['python']}/lib"
    for key, value in {**env, **own}.items():
        args += ["--setenv", key, value]
    args += ["--", f"{INSIDE['env']}/bin/python", "-I", "-S", "-c", LIMITED, str(INSTALL_PROCESSES), "/opt/uv/uv",
             *uv_args]
    return _entered(sources, args, data)


def _python(base: Path) -> dict[str, tuple[Path, str]]:
    return {} if _in_usr(base) else {"python": (base, INSIDE["python"])}


def _resolver() -> dict[str, tuple[Path, str]]:
    """Where /etc/resolv.conf leads when it is a link out of /etc (systemd-resolved's /run/systemd/resolve on
    Ubuntu): without it, names would not resolve."""
    real = Path(os.path.realpath("/etc/resolv.conf"))
    if real.exists() and not _in_system(real):
        return {"resolver": (real.parent, str(real.parent))}
    return {}


def _walls(sources: dict[str, tuple[Path, str]], base: Path, writable: frozenset[str] | set[str] = frozenset(),
           as_pid_1: bool = True) -> tuple[list[str], dict[str, int]]:
    """bubblewrap's arguments for a jail with `sources` bound at their places inside, read-only unless named
    in `writable`, and the data files they need (pyvenv.cfg, passwd, group)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise no_jail("bubblewrap (`bwrap`) is not installed")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    home = "/usr/bin" if _in_usr(base) else f"{INSIDE['python']}/bin"
    cfg = f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\nrelocatable = true\n"
    data = {"/env/pyvenv.cfg": _data_fd(cfg), "/etc/passwd": _data_fd(PASSWD), "/etc/group": _data_fd(GROUP)}
    as_root = os.geteuid() == 0
    args = [bwrap, "--unshare-user", "--uid", "1000", "--gid", "1000", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "snippet", "--die-with-parent",
            "--new-session"]
    if as_pid_1:  # our process reaps; bwrap then waits for the whole jail to end before it exits
        args.append("--as-pid-1")
    args += [*_system(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/var/tmp",
             "--dir", "/home/snippet", "--chdir", "/home/snippet", "--clearenv"]
    for name, (path, inside) in sources.items():  # (after /tmp: a source may go there)
        args += ["--bind" if name in writable else "--ro-bind", f"/tmp/{name}" if as_root else str(path), inside]
    for target, fd in data.items():
        args += ["--ro-bind-data", str(fd), target]
    return args, data


def _entered(sources: dict[str, tuple[Path, str]], args: list[str], data: dict[str, int]) -> Command:
    if os.geteuid() == 0:
        args = _as_nobody({name: path for name, (path, _) in sources.items()}, args)
    return Command(args, {}, list(data.values()))


def _system() -> list[str]:
    """The host's system folders, read-only; merged-/usr symlinks (/bin → usr/bin) kept as symlinks."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def _as_nobody(sources: dict[str, Path], bwrap_args: list[str]) -> list[str]:
    """Root's jail belongs to `nobody`. Open each source folder while root, then in a private mount namespace
    mount them on a fresh /tmp where nobody can reach them, and only then drop to nobody and start bubblewrap."""
    names = list(sources)
    opens = " ".join(f'{3 + i}<"${i + 1}"' for i in range(len(names)))
    binds = " && ".join(f"{'mkdir' if sources[name].is_dir() else 'touch'} /tmp/{name} && "
                        f"mount --bind /proc/self/fd/{3 + i} /tmp/{name}" for i, name in enumerate(names))
    closes = " ".join(f"{3 + i}<&-" for i in range(len(names)))
    setpriv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
               "--bounding-set=-all", "--"]
    # A fresh /proc, too: inside another sandbox (a container, bubblewrap) the host's /proc has parts mounted
    # over, and the kernel then lets no user namespace mount a /proc of its own — which the jail needs.
    script = (f"exec {opens} && mount -t tmpfs -o size=64k,mode=0755 jail-stage /tmp && {binds} && "
              f"mount -t proc proc /proc && exec {closes} {shlex.join(setpriv + bwrap_args)}")
    return [_tool("unshare"), "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh",
            *map(str, sources.values())]


def _tool(name: str) -> str:
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])) or name


def unjailed(env: Path, control_fd: int) -> Command:
    """The explicit opt-out: the same warm interpreter, straight on the host (no walls at all)."""
    env_vars = {**environment(Path(sys.base_prefix)), "PATH": f"{env}/bin:{os.environ.get('PATH', os.defpath)}"}
    env_vars.pop("LD_LIBRARY_PATH", None)
    return Command([str(env / "bin" / "python"), "-X", "dev", str(WARM / "main.py"), str(control_fd), "unjailed"],
                   env_vars, [])
