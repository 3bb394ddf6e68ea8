"""A snippet that imports a package nobody declared is reported once per site, with the line that declares it."""

import pytest
import yaml

from snipcheck.environments import Env
from snipcheck.imports import Missing, declare_hint, imported, undeclared


@pytest.fixture
def env(tmp_path) -> Env:
    """An environment's folder as uv leaves it, with a few kinds of installed modules."""
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    for name in ["six.py", "requests/__init__.py", "google/protobuf/__init__.py",  # namespace package: google
                 "_cffi_backend.cpython-311-x86_64-linux-gnu.so", "numpy.libs/libgfortran.so.5",
                 "attrs-23.1.0.dist-info/METADATA", "vendored/extramod.py"]:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("")
    (site / "extra.pth").write_text("# a comment\nimport os\nvendored\n")
    return Env(tmp_path, "unit", "3.11.7", {"six": "1.17.0"}, ("six",), site, tmp_path)


def test_the_modules_a_snippet_imports_are_found_with_ast():
    code = ("import os, a.b as ab\nfrom c.d import e\nfrom . import local\nfrom .sibling import f\n"
            "def g():\n    import h\n")
    assert imported(code) == ["os", "a.b", "c.d.e", "h"]


def test_optional_imports_are_not_needed():
    code = """
try:
    import ujson as json
except ImportError:
    import simplejson as json
try:
    from yaml import CSafeLoader
except (ValueError, ModuleNotFoundError):
    pass
try:
    import orjson
except:
    orjson = None
try:
    import numpy
except ValueError:
    pass
else:
    import scipy
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import pandas
else:
    import polars
"""
    assert imported(code) == ["numpy", "scipy", "typing.TYPE_CHECKING", "polars"]


def test_a_block_that_does_not_compile_needs_nothing_and_top_level_await_parses():
    assert imported("def (:\n") == []
    assert imported("import aiohttp\nawait aiohttp.request('GET', 'x')\n") == ["aiohttp"]


def test_standard_library_and_installed_modules_are_not_missing(env):
    code = ("import asyncio, __future__, _thread, __main__, six, requests, _cffi_backend, extramod\n"
            "from google.protobuf import message\nimport numpy\nimport attrs\n")
    assert undeclared(code, env) == [Missing("numpy", "numpy"), Missing("attrs", "attrs")]


def test_each_missing_module_once_with_the_distribution_to_declare(env):
    code = ("import yaml\nimport yaml.constructor\nfrom sklearn import svm\nfrom bs4 import BeautifulSoup\n"
            "import cv2\nfrom PIL import Image\nfrom dateutil import parser\nimport aiohttp\n")
    assert undeclared(code, env) == [
        Missing("yaml", "PyYAML"), Missing("sklearn", "scikit-learn"), Missing("bs4", "beautifulsoup4"),
        Missing("cv2", "opencv-python"), Missing("PIL", "Pillow"), Missing("dateutil", "python-dateutil"),
        Missing("aiohttp", "aiohttp")]


def test_a_dotted_name_picks_the_distribution_of_its_submodule(tmp_path):
    bare = Env(tmp_path, "bare", "3.11.7", {}, (), tmp_path / "nowhere", tmp_path)  # nothing installed, no crash
    assert undeclared("from google.protobuf import message\n", bare) == [Missing("google", "protobuf")]


def test_a_module_the_post_defines_is_not_missing(env):
    assert undeclared("import helpers\nimport numpy\n", env, defined={"helpers"}) == [Missing("numpy", "numpy")]
    assert undeclared("import helpers\n", env) == [Missing("helpers", "helpers")]


def test_one_line_declares_every_missing_package_for_the_site():
    missing = [Missing("aiohttp", "aiohttp"), Missing("numpy", "numpy"), Missing("yaml", "PyYAML"),
               Missing("mpl_toolkits", "matplotlib"), Missing("matplotlib", "matplotlib")]
    hint = declare_hint(missing)
    assert hint == "add to _config.yml:  snippets: {requirements: [aiohttp, numpy, PyYAML, matplotlib]}"
    assert declare_hint([]) == ""


def test_the_hint_is_valid_yaml_for_config():
    hint = declare_hint([Missing("yaml", "PyYAML"), Missing("ruamel", "ruamel.yaml")])
    assert yaml.safe_load(hint.split(":", 1)[1]) == {"snippets": {"requirements": ["PyYAML", "ruamel.yaml"]}}

