"""Installing a package runs its code: a source distribution's setup script runs when it is built, and a post
names the packages its snippets need. So the install runs in a jail of its own: it sees what a snippet sees,
with the network, the environment it fills and the site's download cache. Run as root and, through
test_jail_as_user.py, as a normal user."""

import os
import stat
import textwrap
from pathlib import Path

import pytest

from snipcheck.environments import DOWNLOADS, Requirement, Requirements, ensure, requirements
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
