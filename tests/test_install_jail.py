"""Installing a package runs its code: a source distribution's setup script runs when it is built, and a post
names the packages its snippets need. So the install runs in a jail of its own: it sees what a snippet sees,
with the network, the environment it fills and the site's download cache. Run as root and, through
test_jail_as_user.py, as a normal user."""

import os
import stat
import textwrap
import time
from pathlib import Path

import pytest

from snipcheck.environments import DOWNLOADS, Requirement, Requirements, ensure, requirements
from snipcheck.jail import INSTALL_PROCESSES
from sites import invoke, make_site, post
from snipcheck.errors import PostError

SETUP = """
import os
from setuptools import setup

tried = {{}}
for target in {targets!r}:
    try:
        with open(target, "w") as planted:
            planted.write("planted by a package's setup script")
        tried[target] = "written"
    except OSError as err:
        tried[target] = err.strerror
try:
    with open({secret!r}) as secret:
        tried["secret"] = secret.read()
except OSError as err:
    tried["secret"] = err.strerror
with open("/env/bin/sneaky", "w") as sneaky:  # what it fills: a program anyone could run as the builder
    sneaky.write("#!/bin/sh\\n")
os.chmod("/env/bin/sneaky", 0o6777)
with open("hostile.py", "w") as module:
    module.write(f"TRIED = {{tried!r}}\\n")
setup(name="hostile", version="1.0", py_modules=["hostile"])
"""


@pytest.fixture
def hostile(tmp_path):
    """A site whose snippets/requirements.txt names a package of its own, a source tree whose setup script
    writes where it should not, reads a file of the builder's, and leaves a set-user-ID program."""
    marker = f"planted-{os.getpid()}"
    site, secret = tmp_path / "site", tmp_path / "secret.txt"
    secret.write_text("the builder's secret")
    targets = [f"/tmp/{marker}", f"/var/tmp/{marker}", f"/dev/shm/{marker}", str(Path.home() / marker),
               str(site / marker), str(tmp_path / marker)]
    source = tmp_path / "hostile"
    source.mkdir()
    (source / "setup.py").write_text(SETUP.format(targets=targets, secret=str(secret)))
    (site / "snippets").mkdir(parents=True)
    (site / "snippets" / "requirements.txt").write_text(f"hostile @ {source.as_uri()}\n")
    return site, source, targets, secret


def test_a_packages_setup_script_runs_in_the_jail(hostile):
    site, source, targets, secret = hostile
    before = sorted(p.name for p in source.iterdir())
    env = ensure(site, requirements(site, {}, site / "_posts" / "none.md"))
    assert env.packages == {"hostile": "1.0"}
    tried = {}
    exec((env.site_packages / "hostile.py").read_text(), tried)
    for target in targets:  # on the host, nothing: inside, each folder was the jail's own or did not exist
        assert not os.path.exists(target), target
    assert tried["TRIED"]["secret"] == "No such file or directory"
    assert sorted(p.name for p in source.iterdir()) == before  # built from a copy: no egg-info, no build/
    sneaky = (env.path / "bin" / "sneaky").lstat()
    assert stat.S_IMODE(sneaky.st_mode) == 0o775  # no set-user or set-group ID, nothing others may write
    assert (sneaky.st_uid, sneaky.st_gid) == (os.geteuid(), os.getegid())  # as root: root's again, not nobody's
    left = sorted(p.name for p in env.path.parent.iterdir() if not p.name.endswith(".lock"))
    assert left == sorted([env.key, DOWNLOADS])


def test_a_post_cannot_make_a_file_of_this_machine_its_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (errors name a post from where the build runs)
    post = tmp_path / "_posts" / "2024-01-01-local.md"
    post.parent.mkdir()
    post.write_text(textwrap.dedent("""\
        ---
        title: Local
        requirements:
          - six
          - "mine @ file:///etc/passwd"
        ---
        """))
    with pytest.raises(PostError) as refused:
        requirements(tmp_path, {"requirements": ["six", "mine @ file:///etc/passwd"]}, post)
    assert str(refused.value).startswith("_posts/2024-01-01-local.md:5: 'mine @ file:///etc/passwd' names a file"), \
        str(refused.value)
    assert "snippets/requirements.txt" in str(refused.value)


def test_a_failed_install_leaves_nothing_and_says_which_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reqs = Requirements((Requirement("snipcheck-no-such-package-zz9", tmp_path / "_config.yml", 7),))
    with pytest.raises(PostError) as refused:
        ensure(tmp_path, reqs)
    assert str(refused.value).startswith("_config.yml:7: cannot install 'snipcheck-no-such-package-zz9'")
    assert [p.name for p in (tmp_path / ".cache" / "envs").iterdir() if not p.name.endswith(".lock")] == [DOWNLOADS]


BOMB = """
import os, sys
made = 0
try:
    while made < 100000:
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "{marker}"])
        made += 1
except OSError as err:
    sys.exit(f"fork bomb stopped after {{made}} processes: {{err.strerror}}")
sys.exit("fork bomb never stopped")
"""
HANGS = """
import os, time
if os.fork() == 0:
    os.execv("/bin/sleep", ["sleep", "{marker}"])
time.sleep(3600)
"""


def a_site_whose_package_runs(tmp_path, setup: str) -> tuple[Path, Requirements]:
    source, site = tmp_path / "package", tmp_path / "site"
    source.mkdir()
    (source / "setup.py").write_text(setup)
    (site / "snippets").mkdir(parents=True)
    (site / "snippets" / "requirements.txt").write_text(f"package @ {source.as_uri()}\n")
    return site, requirements(site, {}, site / "_posts" / "none.md")


def sleeping(marker: str) -> list[str]:
    """Processes left of those the setup script started (`sleep <marker>`), whoever they run as."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\0" + marker.encode() + b"\0":
                found.append(pid)
        except OSError:
            pass
    return found


def test_a_fork_bomb_in_a_setup_script_stops_at_the_install_process_limit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = f"3599.{os.getpid()}"  # (what `sleep` is told: a number, and ours alone)
    site, reqs = a_site_whose_package_runs(tmp_path, BOMB.format(marker=marker))
    with pytest.raises(PostError) as refused:
        ensure(site, reqs)
    limit = f"reached its process limit ({INSTALL_PROCESSES} processes and threads), and was stopped"
    assert limit in str(refused.value), str(refused.value)
    assert not sleeping(marker), "the bomb's processes outlived the install"
    assert [p.name for p in (site / ".cache" / "envs").iterdir() if not p.name.endswith(".lock")] == [DOWNLOADS]


def test_an_install_that_hangs_is_stopped_at_its_timeout_with_all_it_started(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = f"3598.{os.getpid()}"
    site, reqs = a_site_whose_package_runs(tmp_path, HANGS.format(marker=marker))
    started = time.monotonic()
    with pytest.raises(PostError) as refused:
        ensure(site, reqs, timeout=20)
    assert time.monotonic() - started < 40  # (uv first fetches setuptools to build with)
    named = f"'package @ {(tmp_path / 'package').as_uri()}'"
    assert str(refused.value).startswith(f"site/snippets/requirements.txt:1: installing {named} took longer than 20 s, "
                                         "and was stopped"), str(refused.value)
    assert "install_timeout" in str(refused.value)
    assert not sleeping(marker), "what the setup script started outlived the install"
    assert [p.name for p in (site / ".cache" / "envs").iterdir() if not p.name.endswith(".lock")] == [DOWNLOADS]


def test_a_build_whose_install_hangs_stops_once_at_the_sites_install_timeout(tmp_path):
    """As a blogger meets it: `invoke test-snippets` says which declaration, after the site's install_timeout
    (once: the warm-up does not build the environment the run then builds again)."""
    source = tmp_path / "package"
    source.mkdir()
    (source / "setup.py").write_text("import time\ntime.sleep(3600)\n")
    site = make_site(tmp_path / "site", {"2024-01-01-one.md": post("One", "```python\nprint(1)\n```\n")})
    (site / "snippets").mkdir(exist_ok=True)
    (site / "snippets" / "requirements.txt").write_text(f"package @ {source.as_uri()}\n")
    with open(site / "_config.yml", "a") as config:
        config.write("\nsnippets:\n  install_timeout: 15\n")
    started = time.monotonic()
    done = invoke(site, "test-snippets")
    assert time.monotonic() - started < 30, done.stdout + done.stderr
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"snippets/requirements.txt:1: installing 'package @ {source.as_uri()}' took longer than 15 s, and was " \
           "stopped" in done.stdout + done.stderr, done.stdout + done.stderr
