"""The Python environment snippets run in: the packages the site and the post declare, installed before any
snippet runs (by uv, in a jail of its own) into a venv in `.cache/envs/<key>`, built once and reused while the
declarations and the interpreter stay the same.

The jail mounts an environment read-only at `/env` and rewrites its `pyvenv.cfg`, so an environment must not
depend on its own path: `bin/python` is a copy of the interpreter (not a symlink), console scripts find their
python relative to themselves (`relocatable = true`), and no `.pth` file holds an absolute path into it."""

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from . import installing
from .errors import PostError, ToolError, where
from .post import FRONT_MATTER, decode
from .settings import Settings

ENVS = Path(".cache") / "envs"
MARKER = "snipcheck-env.json"  # written last, inside the folder that is then renamed into place
FORMAT = 1  # bump when an environment's layout changes: every environment is rebuilt
INSTALL_TIMEOUT = Settings.install_timeout  # seconds, unless the site says otherwise
REQUIREMENTS_TXT = Path("snippets") / "requirements.txt"
HOW = "Write a PEP 508 requirement, such as 'numpy' or 'numpy>=1.26'."

# Declarations: where each requirement was written, for errors.


@dataclass(frozen=True)
class Requirement:
    text: str  # as written: "numpy>=1.26"
    path: Path  # the file that declares it: _config.yml, snippets/requirements.txt or the post
    line: int | None

    @property
    def where(self) -> str:
        return where(self.path, self.line)


@dataclass(frozen=True)
class Requirements:
    declared: tuple[Requirement, ...] = ()  # the site's first, then the post's

    def __iter__(self):
        return iter(self.declared)

    def __len__(self) -> int:
        return len(self.declared)

    @property
    def texts(self) -> list[str]:
        """Each requirement once, normalized ("NumPy >= 1.26" → "numpy>=1.26"), in declaration order."""
        return list(dict.fromkeys(_normalized(r.text) for r in self.declared))


def _parsed(text: str):
    """The requirement parsed, by `packaging` loaded only now: a site that declares none (most) never needs it,
    and loading it would delay the jail, which starts as soon as this module knows the site's environment."""
    from packaging.requirements import Requirement
    return Requirement(text)


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name
    return canonicalize_name(name)


def _normalized(text: str) -> str:
    parsed = _parsed(text)
    parsed.name = _canonical(parsed.name)
    return str(parsed)


def _checked(text: str, path: Path, line: int | None) -> Requirement:
    from packaging.requirements import InvalidRequirement
    try:
        _parsed(text)
    except InvalidRequirement as err:
        raise PostError(path, line, f"not a valid requirement {text!r}: {str(err).splitlines()[0]}", HOW) from None
    return Requirement(text, path, line)


def _yaml_list(text: str, keys: tuple[str, ...], path: Path) -> list[Requirement]:
    """The requirements listed under `keys` in a YAML document, each with its line in `path`."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: much faster
    except yaml.YAMLError as err:
        raise PostError(path, None, f"not valid YAML: {err}") from None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return []
        node = next((value for name, value in node.value if name.value == key), None)
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return []
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]  # one requirement may stand alone
    for item in items:
        if not isinstance(item, yaml.ScalarNode):
            raise PostError(path, item.start_mark.line + 1, f"'{'.'.join(keys)}' must be a list of requirements",
                            "Write e.g. 'requirements: [numpy, aiohttp>=3.9]'.")
    return [_checked(item.value, path, item.start_mark.line + 1) for item in items]


def _requirements_txt(path: Path) -> list[Requirement]:
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()  # pip's comments need a space before '#'
        if text.startswith("-"):
            raise PostError(path, number, f"pip options are not supported here: {text!r}",
                            f"List only requirements, one a line. {HOW}")
        if text:
            found.append(_checked(text, path, number))
    return found


def requirements(root: Path, front_matter: dict, post: Path) -> Requirements:
    """The requirements a post's snippets need: the site's (`snippets: {requirements: [...]}` in _config.yml,
    and `snippets/requirements.txt`), then the post's (`requirements:` in its front matter)."""
    declared = list(_site_requirements(root, *(_stamp(root / name) for name in ("_config.yml", REQUIREMENTS_TXT))))
    if front_matter.get("requirements") is not None:  # read again only for the lines
        match = FRONT_MATTER.match(decode(post, post.read_bytes()))
        for requirement in _yaml_list(match.group(1) if match else "", ("requirements",), post):
            if local_path(requirement.text):
                raise PostError(post, requirement.line, f"{requirement.text!r} names a file on this machine, which "
                                "a post cannot make its snippets install", "Name a package from the index (or a "
                                "URL); a package of your own is the site's to declare, in snippets/requirements.txt.")
            declared.append(requirement)
    return Requirements(tuple(declared))


def local_path(text: str) -> Path | None:
    """The file a requirement such as `demo @ file:///home/me/demo.whl` names; None for any other."""
    parts = urllib.parse.urlsplit(_parsed(text).url or "")
    return Path(urllib.request.url2pathname(parts.path)) if parts.scheme == "file" else None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@cache
def _site_requirements(root: Path, config_stamp, txt_stamp) -> tuple[Requirement, ...]:
    """The site's declarations, read once per process for all its posts (the stamps say when to read again)."""
    declared = []
    config = root / "_config.yml"
    if config_stamp:
        declared += _yaml_list(config.read_text(encoding="utf-8"), ("snippets", "requirements"), config)
    if txt_stamp:
        declared += _requirements_txt(root / REQUIREMENTS_TXT)
    return tuple(declared)


# Environments.


@dataclass(frozen=True)
class Env:
    path: Path
    key: str  # names the folder; goes into the result cache key with `packages`
    python_version: str  # "3.11.7"
    packages: dict[str, str]  # installed distribution name → version
    requirements: tuple[str, ...]  # normalized, as installed
    site_packages: Path
    base_prefix: Path  # the interpreter's own installation, which the jail mounts at /opt/python

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


# Run in-process for our own interpreter, in a subprocess for another one.
_FACTS = """import os, platform, sys, sysconfig
facts = {"version": platform.python_version(), "build": sys.version, "implementation": sys.implementation.name,
         "platform": sysconfig.get_platform(), "base_prefix": sys.base_prefix,
         "base": os.path.realpath(getattr(sys, "_base_executable", sys.executable))}
"""


@cache
def interpreter(python: str) -> dict:
    """What the environment's key depends on in an interpreter, and its base executable (never a venv's)."""
    if python == sys.executable:
        scope = {}
        exec(_FACTS, scope)
        return scope["facts"]
    try:
        done = subprocess.run([python, "-I", "-c", _FACTS + "print(__import__('json').dumps(facts))"],
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ToolError(f"cannot run the Python interpreter {python}: {err}") from None
    return json.loads(done.stdout)


def key(reqs: Requirements, facts: dict) -> str:
    material = {"python": facts, "requirements": sorted(reqs.texts), "format": FORMAT}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:20]


def ensure(root: Path, reqs: Requirements, python: str = sys.executable, jailed: bool = True,
           timeout: float = INSTALL_TIMEOUT, build: bool = True) -> Env | None:
    """The environment with exactly these requirements for this interpreter: reused when it exists (a stat
    and a small file read), otherwise built once, even by several processes at the same time. `jailed`: the
    packages are installed in the jail (see `_install`), unless the site opted out of it; `timeout`: seconds
    the install may take, after which it is stopped with everything it started. `build` False: None rather
    than a build."""
    facts = interpreter(python)
    folder = Path(os.path.abspath(root)) / ENVS / key(reqs, facts)  # the jail mounts it: absolute
    env = _load(folder)
    if env is None and build:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _locked(folder.parent / f".{folder.name}.lock"):
            env = _load(folder)  # another process may have built it while we waited
            if env is None:
                _build(folder, reqs, facts, jailed, timeout)
                env = _load(folder)
    return env


def _load(folder: Path) -> Env | None:
    marker = folder / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):  # a read-only cache is still usable
        if time.time() - marker.stat().st_mtime > 3600:
            os.utime(marker)  # "last used", for prune
    if data.get("format") != FORMAT:
        return None
    return Env(folder, folder.name, data["python_version"], data["packages"], tuple(data["requirements"]),
               folder / data["site_packages"], Path(data["base_prefix"]))


@contextlib.contextmanager
def _locked(path: Path, wait: bool = True):
    """An exclusive lock on `path` (created if needed), released when the block ends, even on a crash.
    Yields whether it was taken (always, when waiting)."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def _build(folder: Path, reqs: Requirements, facts: dict, jailed: bool, timeout: float) -> None:
    """Build in a temporary folder beside it and rename, so an environment is complete or absent."""
    building = folder.with_name(f".{folder.name}.building")
    shutil.rmtree(building, ignore_errors=True)  # left by a build that was killed: we hold the lock
    try:
        uv = _uv()
        if uv:
            # (--no-cache: what uv would keep of the interpreter goes with it, not into the builder's HOME)
            _run([uv, "venv", "--quiet", "--no-cache", "--no-project", "--relocatable", "--python", facts["base"],
                  building])
        else:
            _run([facts["base"], "-m", "venv", "--copies", "--without-pip", building])
        python = building / "bin" / "python"
        if python.is_symlink():  # uv links to the base interpreter; the jail needs a file of its own
            real = python.resolve()
            python.unlink()
            shutil.copy2(real, python)
        if reqs.texts:
            _install(uv, building, reqs, jailed, timeout)
        site = next(building.glob("lib/*/site-packages"))
        if any(inside.is_symlink() for inside in (building / "bin", building / "lib", site.parent, site)):
            raise ToolError(f"installing {', '.join(reqs.texts)} left a link where the environment's own folders "
                            "belong: a package tried to reach outside its environment, so none was made.")
        _relocate(building, site)
        packages = {dist.metadata["Name"]: dist.version for dist in importlib.metadata.distributions(path=[str(site)])}
        data = {"format": FORMAT, "python_version": facts["version"], "base_prefix": facts["base_prefix"],
                "requirements": reqs.texts,
                "packages": dict(sorted(packages.items(), key=lambda item: item[0].lower())),
                "site_packages": str(site.relative_to(building)), "built_by": os.getpid(), "built_at": time.time()}
        (building / MARKER).unlink(missing_ok=True)  # (a package's file by that name, or a link, is replaced)
        (building / MARKER).write_text(json.dumps(data, indent=1), encoding="utf-8")
        if folder.exists():  # damaged (no readable marker): replace it
            _remove(folder)
        os.rename(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def uv_environment() -> dict[str, str]:
    """The environment for uv: it reaches PyPI the way pip does here. uv trusts its own certificate list unless
    told otherwise, so behind a proxy with its own certificate authority (installed in the system's store, or
    named for pip by PIP_CERT) it would fail where pip works."""
    env = dict(os.environ)
    env.setdefault("UV_NATIVE_TLS", "1")
    if "SSL_CERT_FILE" not in env and env.get("PIP_CERT"):
        env["SSL_CERT_FILE"] = env["PIP_CERT"]
    return env


def _uv() -> str | None:
    try:
        import uv
        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _run(command: list) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if done.returncode:
        raise ToolError(f"could not create a Python environment for the snippets ({Path(command[0]).name} "
                        f"exited with status {done.returncode}):\n{(done.stderr or done.stdout).strip()[-2000:]}")
    return done


def _install(uv: str | None, building: Path, reqs: Requirements, jailed: bool, timeout: float) -> None:
    """Install `reqs` into the environment being built. Installing runs a package's own code (building a
    source distribution runs its setup script), and a post names its packages: so, unless the site opted out
    of the jail, uv runs in one (`jail.install_command`)."""
    if jailed:
        _install_jailed(uv, building, reqs, timeout)
        return
    python = building / "bin" / "python"
    if uv:
        command = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", python, *reqs.texts]
    elif importlib.util.find_spec("pip"):
        command = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-input",
                   "--disable-pip-version-check", *reqs.texts]
    else:
        raise ToolError("neither uv nor pip is installed, so the snippets' packages cannot be installed: "
                        f"run '{sys.executable} -m pip install uv'.")
    done = _limited([str(part) for part in command], reqs, timeout, env=uv_environment())
    if done.returncode:
        raise _install_error(reqs, (done.stderr or done.stdout).strip())


def _limited(argv: list[str], reqs: Requirements, timeout: float, processes: int | None = None,
             **options) -> subprocess.CompletedProcess:
    """An install, stopped when it takes too long or (in the jail) reaches its process limit: then an error at
    the first declaration (the installer cannot say which package it was building)."""
    try:
        return installing.run(argv, timeout, processes, **options)
    except installing.Stopped as stopped:
        first = reqs.declared[0]
        hint = ("A package built from source can take long: allow it more with `snippets: {install_timeout: "
                "<seconds>}` in _config.yml; else check what its build runs." if stopped.late else
                "A package's build started processes without end: check what its setup script runs.")
        raise PostError(first.path, first.line, f"installing {', '.join(map(repr, reqs.texts))} {stopped}, and "
                        "was stopped", hint) from None


DOWNLOADS = ".downloads"  # beside the environments: what jailed installs downloaded, theirs to reuse
WALL_TOOLS = ("bwrap:", "unshare:", "mount:", "setpriv:", "mkdir:", "touch:", "sh:")  # the jail's, not uv's


def _install_jailed(uv: str | None, building: Path, reqs: Requirements, timeout: float) -> None:
    from . import jail
    if uv is None:
        raise ToolError(f"uv is not installed, so the snippets' packages cannot be installed in the jail: run "
                        f"'{sys.executable} -m pip install uv'.")
    cache = building.parent / DOWNLOADS
    cache.mkdir(mode=0o700, exist_ok=True)
    local, copies = [], building / ".local-sources"
    for number, path in enumerate(path for path in map(local_path, reqs.texts) if path and path.exists()):
        if path.is_dir():  # a source tree is built where it is: a copy, so nothing is written into the site's own
            shutil.copytree(path, copies / str(number), symlinks=True)
            local.append((copies / str(number), os.path.abspath(path), True))
        else:
            local.append((path, os.path.abspath(path), False))
    owner = (os.geteuid(), os.getegid())
    if owner[0] == 0:  # root's jail is nobody's (see jail.py): what it fills must be nobody's while it runs
        for folder in (building, cache):
            _own(folder, jail.NOBODY, jail.NOBODY)
    try:
        command = jail.install_command(
            building, Path(uv), cache, ["pip", "install", "--quiet", "--compile-bytecode", "--python",
                                        f"{jail.INSIDE['env']}/bin/python", *reqs.texts], _passed_on(), tuple(local))
        try:
            done = _limited(command.argv, reqs, timeout, jail.INSTALL_PROCESSES, pass_fds=command.pass_fds,
                            env=command.env or None)
        finally:
            for fd in command.pass_fds:
                os.close(fd)
    except jail.JailError as err:
        raise ToolError(str(err)) from None
    finally:
        shutil.rmtree(copies, ignore_errors=True)
        for folder in (building, cache):
            _tame(folder, owner if owner[0] == 0 and folder == building else None)
    if done.returncode:
        output = (done.stderr or done.stdout).strip()
        if output.startswith(WALL_TOOLS):
            raise ToolError(str(jail.no_jail(output.splitlines()[0]))) from None
        raise _install_error(reqs, output)


def _passed_on() -> dict[str, str]:
    """What uv needs from our environment inside the jail: its own settings (an index, credentials), proxies
    and certificates."""
    return {name: value for name, value in uv_environment().items()
            if name.startswith("UV_") or name.lower().endswith("_proxy") or name in ("SSL_CERT_FILE", "SSL_CERT_DIR")}


def _own(folder: Path, uid: int, gid: int) -> None:
    """Everything in `folder` (links themselves, never followed) owned by uid:gid."""
    os.chown(folder, uid, gid, follow_symlinks=False)
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


def _tame(folder: Path, owner: tuple[int, int] | None) -> None:
    """What a jailed install left, made harmless outside: no set-user or set-group ID bit (a program that would
    run as the builder for anyone who starts it), nothing others may write; and back to `owner`, if given."""
    if owner:
        os.chown(folder, *owner, follow_symlinks=False)
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(parent, name)
            if owner:
                os.chown(path, *owner, follow_symlinks=False)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH):
                os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH))


def _install_error(reqs: Requirements, output: str) -> PostError:
    """Point at the declaration the installer complains about (the first one when it names none)."""
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("Using Python")]
    text = re.sub(r"[-_.]+", "-", output.lower())
    culprit = next((r for r in reqs if re.search(rf"(?<![\w-]){re.escape(_canonical(_parsed(r.text).name))}"
                                                  rf"(?![\w-])", text)), reqs.declared[0])
    message = "\n    ".join(line.strip() for line in lines[-6:])
    return PostError(culprit.path, culprit.line, f"cannot install {culprit.text!r}:\n    {message}",
                     "Check the name and version on https://pypi.org (the build must reach PyPI), or remove the line.")


# The shebang uv writes into a relocatable environment: the script finds `python` beside itself.
RELOCATABLE = b"#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")\"/'python' \"$0\" \"$@\"\n' '''\n"


def _relocate(building: Path, site: Path) -> None:
    """Remove the absolute paths into the folder that pip writes (uv writes none with `relocatable`)."""
    inside = re.escape(str(building).encode())
    shebang = re.compile(rb"\A(#!" + inside + rb"/bin/\S+\n|#!/bin/sh\n'''exec' [^\n]*" + inside + rb"[^\n]*\n' '''\n)")
    for script in (building / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if shebang.match(data):
                script.write_bytes(shebang.sub(RELOCATABLE, data, count=1))
    for pth in (pth for pth in site.glob("*.pth") if not pth.is_symlink()):  # a path line may be relative
        lines = pth.read_text(encoding="utf-8").splitlines()
        fixed = [os.path.relpath(line, site) if line.startswith(str(building)) else line for line in lines]
        if fixed != lines:
            pth.write_text("\n".join(fixed) + "\n", encoding="utf-8")


def _remove(folder: Path) -> None:
    """Rename out of sight first, so no reader ever sees half of an environment."""
    trash = folder.with_name(f".{folder.name}.trash")
    shutil.rmtree(trash, ignore_errors=True)
    os.rename(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def prune(root: Path, keep: frozenset[str] | set[str] = frozenset(), unused_days: float = 30) -> list[str]:
    """Remove the environments that are not in `keep` and that no run has used for `unused_days` (and what
    interrupted builds left), skipping any that a process is building. Returns the keys removed."""
    envs, removed = root / ENVS, []
    cutoff = time.time() - unused_days * 86400
    for folder in sorted(envs.iterdir()) if envs.is_dir() else []:
        name = folder.name.strip(".").split(".")[0]
        leftover = folder.name.endswith((".building", ".trash"))
        if not folder.is_dir() or name in keep or (folder.name.startswith(".") and not leftover):
            continue
        marker = folder / MARKER
        if not leftover and (marker if marker.exists() else folder).stat().st_mtime > cutoff:
            continue
        with _locked(envs / f".{name}.lock", wait=False) as taken:
            if taken and leftover:
                shutil.rmtree(folder, ignore_errors=True)
            elif taken:
                _remove(folder)
                removed.append(name)
    return removed


# Downloads: PEP 723 inline script metadata, so that `uv run 03.py` installs what the snippet needs.


def pep723_header(requirements: list[str], python_version: str) -> str:
    """The `# /// script` block for the top of a downloaded snippet (after a shebang or coding line, if any)."""
    minor = ".".join(python_version.split(".")[:2])
    lines = ["# /// script", f"# requires-python = {_toml(f'>={minor}')}"]
    if requirements:
        lines += ["# dependencies = [", *(f"#     {_toml(text)}," for text in requirements), "# ]"]
    else:
        lines.append("# dependencies = []")
    return "\n".join([*lines, "# ///"]) + "\n"


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string (no surrogate escapes)
