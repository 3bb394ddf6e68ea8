"""The setup check at the start of every command: it asks dpkg once, then again only when dpkg's state moved."""

import shutil

import pytest

from snipcheck import toolchain

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-query") or not toolchain.DPKG_STATUS.exists(),
                                reason="not a Debian machine")


def test_a_check_that_found_nothing_missing_is_not_repeated_until_dpkg_changes(tmp_path, monkeypatch):
    stamp = tmp_path / "checked"
    assert toolchain.missing_packages(["dpkg"], stamp) == [] and stamp.exists()
    monkeypatch.setenv("PATH", str(tmp_path))  # no dpkg-query to run now: only the stamp can answer
    assert toolchain.missing_packages(["dpkg"], stamp) == []
    stamp.write_text("0 0 0 dpkg")  # as if dpkg had installed or removed something since
    with pytest.raises(FileNotFoundError):
        toolchain.missing_packages(["dpkg"], stamp)


def test_a_check_that_found_something_missing_leaves_no_stamp(tmp_path):
    stamp = tmp_path / "checked"
    assert toolchain.missing_packages(["dpkg", "snipcheck-no-such-package"], stamp) == ["snipcheck-no-such-package"]
    assert not stamp.exists()
