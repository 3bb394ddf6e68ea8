"""Which language names mean what: only real Python names run as Python, zsh is not bash, and file names keep
their usual extensions."""

import pytest

from snipcheck import languages


@pytest.mark.parametrize("lang", ["python", "py", "python3", "py3", "Python"])
def test_only_real_python_names_claim_python(lang):
    assert languages.claim(lang) == "python"
    assert languages.canonical(lang) == "python"


@pytest.mark.parametrize("lang", ["sage", "bazel", "starlark", "pyi"])
def test_other_names_of_the_python_lexer_are_not_python(lang):
    assert languages.claim(lang) == "other"
    assert languages.canonical(lang) == lang


def test_python2_is_its_own_claim_and_never_python():
    assert languages.claim("python2") == languages.claim("py2") == "python2"
    assert languages.canonical("python2") != "python"


@pytest.mark.parametrize("lang, claim", [("pycon", "pycon"), ("python-console", "pycon"), ("ipython", "ipython"),
                                         ("ipython3", "ipython"), ("console", "console"),
                                         ("shell-session", "console"), ("sh-session", "console"),
                                         ("bash", "shell"), ("sh", "shell"), ("shell", "shell"), ("zsh", "shell"),
                                         ("json", "json"), ("yaml", "yaml"), ("yml", "yaml"), ("toml", "toml"),
                                         ("pytb", "traceback"), ("python-traceback", "traceback"),
                                         (None, "text"), ("", "text"), ("text", "text"), ("output", "text"),
                                         ("sql", "other"), ("ksh", "other")])
def test_what_each_label_claims(lang, claim):
    assert languages.claim(lang) == claim


def test_canonical_names_sessions_and_data_formats():
    assert [languages.canonical(n) for n in ("python-console", "ipython3", "shell-session", "sh-session", "yml",
                                             "py3tb", None)] == ["pycon", "ipython", "console", "console", "yaml",
                                                                 "pytb", "text"]


def test_zsh_is_not_bash():
    assert languages.canonical("zsh") == "zsh"
    assert languages.shell_of("zsh") == "zsh"
    assert [languages.shell_of(n) for n in ("bash", "sh", "shell", None)] == ["bash"] * 4


def test_a_shell_is_checked_only_by_itself(monkeypatch):
    monkeypatch.setattr(languages.shutil, "which", lambda name: "/usr/bin/bash" if name == "bash" else None)
    assert languages.shell_checker("bash") == ["bash", "-n"]
    assert languages.shell_checker("zsh") is None  # "not verified: no zsh checker", never `bash -n`


@pytest.mark.parametrize("lang, ext", [("python", ".py"), ("py", ".py"), ("json", ".json"), ("yaml", ".yaml"),
                                       ("bash", ".sh"), ("zsh", ".zsh"), ("sage", ".sage"), ("toml", ".toml"),
                                       ("pycon", ".txt"), (None, ".txt"), ("nonsense", ".txt")])
def test_file_extensions(lang, ext):
    assert languages.extension(lang) == ext
