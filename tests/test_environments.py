"""Snippets run in their own environment: the packages the site and the post declare, installed (for real, with
uv, or venv + pip without it) into a cached venv that the jail can mount anywhere."""

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from snipcheck import environments
from snipcheck.environments import (DOWNLOADS, MARKER, Requirement, Requirements, ensure, pep723_header, prune,
                                    requirements, uv_environment)
from snipcheck.errors import PostError, ToolError
from snipcheck.imports import Missing, undeclared

POST = """---
title: Fetching
requirements:
  - six
  - idna>=3
---
Text.
"""


def site(root: Path, config: str = "", txt: str | None = None, post: str = POST) -> Path:
    (root / "_posts").mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(f"title: Blog\n{config}")
    if txt is not None:
        (root / "snippets").mkdir(exist_ok=True)
        (root / "snippets" / "requirements.txt").write_text(txt)
    path = root / "_posts" / "2024-01-01-fetching.md"
    path.write_text(post)
    return path


def declared(root: Path, post: Path) -> Requirements:
    from snipcheck.post import read_post

    return requirements(root, read_post(post).front_matter, post)


def demo_wheel(folder: Path) -> Path:
    """A real wheel with a console script, made here so the tests install it without the network."""
    files = {"snipcheck_demo.py": "import sys\n\ndef main():\n    print('demo in', sys.prefix)\n",
             "snipcheck_demo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: snipcheck-demo\nVersion: 1.0\n",
             "snipcheck_demo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
                                                   "Tag: py3-none-any\n",
             "snipcheck_demo-1.0.dist-info/entry_points.txt": "[console_scripts]\nsnipcheck-demo = snipcheck_demo:main\n"}
    digest = {name: base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
              for name, text in files.items()}
    record = [f"{name},sha256={digest[name]},{len(text.encode())}" for name, text in files.items()]
    files["snipcheck_demo-1.0.dist-info/RECORD"] = "\n".join([*record, "snipcheck_demo-1.0.dist-info/RECORD,,"]) + "\n"
    wheel = folder / "snipcheck_demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def run(python: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd="/")


# Declarations


def test_requirements_of_the_site_and_the_post_are_merged_with_their_lines(tmp_path):
    post = site(tmp_path, "snippets:\n  requirements:\n    - aiohttp>=3.9\n    - 'numpy; python_version >= \"3.10\"'\n",
                txt="# the site's packages\n\nPyYAML  # a comment\n")
    reqs = declared(tmp_path, post)
    assert [(r.text, r.path.name, r.line) for r in reqs] == [
        ("aiohttp>=3.9", "_config.yml", 4), ('numpy; python_version >= "3.10"', "_config.yml", 5),
        ("PyYAML", "requirements.txt", 3), ("six", post.name, 4), ("idna>=3", post.name, 5)]
    assert reqs.texts == ["aiohttp>=3.9", 'numpy; python_version >= "3.10"', "pyyaml", "six", "idna>=3"]


def test_nothing_declared_is_no_requirements(tmp_path):
    post = site(tmp_path, post="---\ntitle: Plain\n---\nText.\n")
    assert list(declared(tmp_path, post)) == [] and declared(tmp_path, post).texts == []


@pytest.mark.parametrize("where, config, txt, post", [
    ("_config.yml:3", "snippets:\n  requirements: [six, 'numpy >']\n", None, POST),
    ("snippets/requirements.txt:2", "", "six\nnumpy >>= 2\n", POST),
    ("snippets/requirements.txt:1", "", "--index-url https://example.com\n", POST),
    ("_posts/2024-01-01-fetching.md:4", "", None, "---\ntitle: X\nrequirements:\n  - six six\n---\n"),
    ("_posts/2024-01-01-fetching.md:3", "", None, "---\ntitle: X\nrequirements: {six: 1}\n---\n"),
])
def test_an_invalid_requirement_is_refused_with_its_file_and_line(tmp_path, monkeypatch, where, config, txt, post):
    monkeypatch.chdir(tmp_path)
    path = site(tmp_path, config, txt, post)
    with pytest.raises(PostError) as refused:
        declared(tmp_path, path)
    assert str(refused.value).startswith(f"{where}: ")
    assert "requirement" in str(refused.value)


# Environments


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One environment with a package from PyPI and one with a console script, and how long it took."""
    root = tmp_path_factory.mktemp("site")
    wheel = demo_wheel(tmp_path_factory.mktemp("wheels"))
    reqs = Requirements((Requirement("six", root / "_config.yml", 3),
                         Requirement(f"snipcheck-demo @ {wheel.as_uri()}", root / "_config.yml", 4)))
    started = time.perf_counter()
    env = ensure(root, reqs)
    return root, reqs, env, time.perf_counter() - started


def test_an_environment_holds_what_was_declared_and_nothing_of_the_tool(built):
    root, reqs, env, seconds = built
    print(f"first build: {seconds:.2f} s")
    assert env.path == root / ".cache" / "envs" / env.key
    assert sorted(env.packages) == ["six", "snipcheck-demo"] and env.packages["snipcheck-demo"] == "1.0"
    assert env.python_version == "%d.%d.%d" % sys.version_info[:3] and env.base_prefix == Path(sys.base_prefix)
    assert env.requirements == tuple(reqs.texts)
    done = run(env.python, "import sys, six; print(sys.prefix)\n"
                           "for name in ('pytest', 'yaml', 'invoke', 'snipcheck'):\n"
                           "    try:\n        __import__(name)\n    except ImportError:\n        pass\n"
                           "    else:\n        print('tool leaks', name)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{env.path}\n"


@contextlib.contextmanager
def audited():
    """The audit events (PEP 578) raised meanwhile in this process: what a call really did."""
    events, on = [], [True]
    sys.addaudithook(lambda event, args: on[0] and events.append((event, args)))  # a hook cannot be removed
    try:
        yield events
    finally:
        on[0] = False


def test_an_unchanged_environment_is_reused_at_once(built):
    """At once: no process started (no pip, no uv, no interpreter asked), no lock waited for, no file written."""
    root, reqs, env, _ = built
    marker = json.loads((env.path / MARKER).read_text())
    with audited() as events:
        again = ensure(root, reqs)
    assert again == env and json.loads((env.path / MARKER).read_text())["built_at"] == marker["built_at"]
    started = [e for e in events if e[0] in {"subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork",
                                              "os.system", "fcntl.flock"}]
    written = [e for e in events if e[0] == "open" and (set(e[1][1] or "") & set("wax+") or e[1][1] is None
                                                       and e[1][2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))]
    assert not started and not written, started + written
    assert ensure(root, Requirements(tuple(reversed(reqs.declared)))).key == env.key  # order does not matter


def test_an_environment_runs_wherever_it_is_mounted(built, tmp_path):
    _, _, env, _ = built
    assert env.python.is_file() and not env.python.is_symlink()
    assert "relocatable = true" in (env.path / "pyvenv.cfg").read_text()
    for pth in env.site_packages.glob("*.pth"):
        assert str(env.path) not in pth.read_text()
    moved = tmp_path / "env"  # as the jail's /env: another path, the same files
    shutil.copytree(env.path, moved, symlinks=True)
    done = run(moved / "bin" / "python", "import sys, six, snipcheck_demo; print(sys.prefix, six.__file__)")
    assert done.stdout.split() == [str(moved), str(moved / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
                                                     / "site-packages" / "six.py")], done.stderr
    script = subprocess.run([str(moved / "bin" / "snipcheck-demo")], capture_output=True, text=True)
    assert script.stdout == f"demo in {moved}\n", script.stderr


def test_the_imports_an_environment_provides_are_not_missing(built):
    _, _, env, _ = built
    assert undeclared("import six, snipcheck_demo, asyncio\nimport numpy\n", env) == [Missing("numpy", "numpy")]


def test_no_requirements_is_still_an_environment_of_its_own(tmp_path):
    env = ensure(tmp_path, Requirements())
    assert env.packages == {} and env.requirements == ()
    done = run(env.python, "import sys; print(sys.prefix); import pytest")
    assert done.stdout == f"{env.path}\n" and "No module named 'pytest'" in done.stderr


def test_two_processes_build_one_environment_together(tmp_path):
    code = textwrap.dedent(f"""
        import json
        from pathlib import Path
        from snipcheck.environments import Requirement, Requirements, ensure
        env = ensure(Path({str(tmp_path)!r}), Requirements((Requirement("six", Path("_config.yml"), 1),)))
        print(json.loads((env.path / "snipcheck-env.json").read_text())["built_by"], env.key)
    """)
    builders = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [builder.communicate() for builder in builders]
    assert [builder.returncode for builder in builders] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]  # the same builder's pid: one built it, the other waited and reused it
    folders = os.listdir(tmp_path / ".cache" / "envs")
    assert [name for name in folders if not name.endswith(".lock") and name != DOWNLOADS] == [outputs[0][0].split()[1]]


def test_a_package_that_cannot_be_installed_names_its_declaration_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    site(tmp_path, txt="six\nsnipcheck-no-such-package-zz9\n", post="---\ntitle: X\n---\n")
    reqs = declared(tmp_path, tmp_path / "_posts" / "2024-01-01-fetching.md")
    with pytest.raises(PostError) as refused:
        ensure(tmp_path, reqs)
    message = str(refused.value)
    assert message.startswith("snippets/requirements.txt:2: cannot install 'snipcheck-no-such-package-zz9'"), message
    assert "pypi.org" in message
    assert [p.name for p in (tmp_path / ".cache" / "envs").iterdir()
            if not p.name.endswith(".lock") and p.name != DOWNLOADS] == []


def test_without_uv_venv_and_pip_build_the_same_kind_of_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(environments, "_uv", lambda: None)  # uv absent: the fallback runs for real
    wheel = demo_wheel(tmp_path)
    reqs = Requirements((Requirement(f"snipcheck-demo @ {wheel.as_uri()}", tmp_path, 1),))
    with pytest.raises(ToolError, match="uv is not installed"):  # the jail's install needs uv
        ensure(tmp_path / "jailed", reqs)
    env = ensure(tmp_path / "site", reqs, jailed=False)  # (the fallback serves sites that opted out of the jail)
    assert env.packages == {"snipcheck-demo": "1.0"}
    assert env.python.is_file() and not env.python.is_symlink()
    moved = tmp_path / "moved"
    shutil.copytree(env.path, moved, symlinks=True)
    script = subprocess.run([str(moved / "bin" / "snipcheck-demo")], capture_output=True, text=True)
    assert script.stdout == f"demo in {moved}\n", script.stderr
    assert run(moved / "bin" / "python", "import pip").returncode != 0  # no pip inside: nothing of ours


def test_environments_unused_for_long_are_pruned(tmp_path):
    env = ensure(tmp_path, Requirements())
    assert prune(tmp_path) == [] and env.path.exists()  # in use
    old = time.time() - 40 * 86400
    os.utime(env.path / MARKER, (old, old))
    assert prune(tmp_path, keep={env.key}) == [] and env.path.exists()  # still wanted
    (tmp_path / ".cache" / "envs" / f".{env.key}.building").mkdir()  # an interrupted build
    assert prune(tmp_path) == [env.key]
    assert sorted(os.listdir(tmp_path / ".cache" / "envs")) == [f".{env.key}.lock"]
    assert ensure(tmp_path, Requirements()).path.exists()  # and built again when needed


# Downloads carry PEP 723 inline metadata


SCRIPT_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")  # the spec's


def metadata(header: str) -> dict:
    match = SCRIPT_BLOCK.search(header)
    assert match and match["type"] == "script"
    return tomllib.loads("".join(line[2:] if line.startswith("# ") else line[1:]
                                 for line in match["content"].splitlines(keepends=True)))


def test_the_pep723_header_is_the_specified_toml():
    assert metadata(pep723_header([], "3.11.7")) == {"requires-python": ">=3.11", "dependencies": []}
    requirements = ["aiohttp>=3.9", 'numpy; python_version >= "3.10"', "requests[socks]", "naïve-pkg"]
    assert metadata(pep723_header(requirements, "3.12.1")) == {"requires-python": ">=3.12",
                                                               "dependencies": requirements}


@pytest.mark.parametrize("requirements, offline", [([], True), (["six"], False)])
def test_uv_run_runs_a_downloaded_snippet(tmp_path, requirements, offline):
    snippet = tmp_path / "03.py"
    snippet.write_text(pep723_header(requirements, "%d.%d.%d" % sys.version_info[:3])
                       + "import sys\n" + "".join(f"import {name}\n" for name in requirements) + "print('ran')\n")
    command = [environments._uv(), "run", "--no-project", "--python", sys.executable, *(["--offline"] * offline),
               str(snippet)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,  # (uv's lock files: not in /tmp)
                          env={**uv_environment(), "UV_PYTHON_DOWNLOADS": "never", "TMPDIR": str(tmp_path)})
    assert (done.returncode, done.stdout) == (0, "ran\n"), done.stderr
