"""Most people build their blog as a normal user, not root: the jail and semantics tests must hold for them too.
Run as root, this makes an unprivileged user, gives it its own copy of the project and its own venv (from the
system's Python, which any user can run), and runs those tests as that user."""

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jail_runs import repo_files

USER = "snipcheck-test"
TESTS = ["tests/test_jail.py", "tests/test_forked_like_python.py", "tests/test_install_jail.py"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="already a normal user: the jail tests run as this user")


def as_user(*argv: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    home = pwd.getpwnam(USER).pw_dir
    reach = {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "UV_", "SSL_", "REQUESTS_CA"))}  # PyPI
    return subprocess.run(["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", **reach})


def jail_for_users() -> str | None:
    """Why a normal user can make no jail on this machine, if so: inside another sandbox (a container, the
    fresh-check's bubblewrap), the /proc it gives has parts mounted over, and then the kernel lets no user
    namespace of a normal user mount a /proc of its own. (Root's jail mounts a fresh one first.)"""
    probe = as_user("bwrap", "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "true",
                    cwd=Path("/"))
    return None if probe.returncode == 0 else probe.stderr.strip()


@pytest.fixture(scope="module")
def user_project():
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
    if (reason := jail_for_users()) is not None:
        pytest.skip(f"no jail can be made for a normal user on this machine (inside another sandbox?): {reason}")
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.fail("no system python3 for the unprivileged user: install python3 and python3-venv")
    project = Path(pwd.getpwnam(USER).pw_dir) / f"project-{os.getpid()}"  # pytest's own temp folders are root's
    for source, name in repo_files():
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(project)], check=True)
    made = as_user(python, "-m", "venv", ".venv", cwd=project)
    assert made.returncode == 0, made.stderr
    installed = as_user(".venv/bin/pip", "install", "-q", "--config-settings", "editable_mode=compat", "-e", ".",
                        cwd=project)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield project
    shutil.rmtree(project)


def test_the_jail_holds_for_a_normal_user(user_project):
    done = as_user(".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest", *TESTS,
                   cwd=user_project)  # (the conftest loads the browser tests' fixtures, not needed here)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout.splitlines()[-1], done.stdout[-500:]


HOSTILE = """---
layout: post
title: Hostile
---
```python
import os, signal
project = {project!r}
for path in (project + "/_posts/evil.md", project + "/_plugins/evil.rb", project + "/.git/hooks/pre-commit"):
    try:
        open(path, "w").write("owned")
    except OSError as err:
        print("refused", err.strerror)
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    open(folder + "/{marker}", "w").write("litter")
os.kill(-1, signal.SIGKILL)
```

```python
import os
while True:
    os.fork()
```

```python
import os, time
for _ in range(8):
    if os.fork() == 0:
        hog = bytearray(200 * 1024 * 1024)
        time.sleep(30)
os.wait()
```
"""


def test_a_hostile_post_built_by_a_normal_user_changes_nothing_outside(user_project):
    marker = f"hostile-{os.getpid()}"
    post = user_project / "_posts" / "2024-12-01-hostile.md"
    post.write_text(HOSTILE.format(project=str(user_project), marker=marker))
    subprocess.run(["chown", f"{USER}:{USER}", str(post)], check=True)
    ours = {".cache", "snippets", "reports", ".bundle", "_data"}  # what the build itself writes
    before = sorted(p.relative_to(user_project).as_posix() for p in user_project.rglob("*") if not ours & set(p.parts))
    done = as_user(".venv/bin/invoke", "test-snippets", "--post", "_posts/2024-12-01-hostile.md", "--timeout", "3",
                   cwd=user_project)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "process limit (256 processes and threads)" in done.stdout, done.stdout[-3000:]
    assert "memory limit (1024 MB): its processes together" in done.stdout, done.stdout[-3000:]
    after = sorted(p.relative_to(user_project).as_posix() for p in user_project.rglob("*") if not ours & set(p.parts))
    assert after == before
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not any(marker in name for name in os.listdir(folder))
    assert not lasting(pwd.getpwnam(USER).pw_uid), "processes of the build's user outlived the run"


def processes_of(uid: int) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                              if ":\t" in line)
                found.append(f"{pid}: {command or status.get('Name')} ({status.get('State')}, parent "
                             f"{status.get('PPid')})")
        except OSError:
            pass  # gone meanwhile
    return found


def lasting(uid: int, grace: float = 3.0) -> list[str]:
    """The user's processes still there after `grace` seconds. One that the kernel is still tearing down as the
    command returns (CI once caught one with no command line left, its memory gone) is gone by then; a process
    that lives on is not."""
    deadline = time.monotonic() + grace
    while (found := processes_of(uid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found
