"""The packages a snippet imports that its environment lacks, and the one line that declares them for the site."""

import ast
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .environments import Env

STANDARD = frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names) | {"__main__"}

# Imported names whose PyPI distribution is called something else (a dotted name matches its submodules).
DISTRIBUTIONS = {
    "attr": "attrs", "bs4": "beautifulsoup4", "Bio": "biopython", "Crypto": "pycryptodome", "cv2": "opencv-python",
    "dateutil": "python-dateutil", "dns": "dnspython", "docx": "python-docx", "dotenv": "python-dotenv",
    "fitz": "PyMuPDF", "gi": "PyGObject", "git": "GitPython", "github": "PyGithub", "google.protobuf": "protobuf",
    "google.cloud.storage": "google-cloud-storage", "google.cloud.bigquery": "google-cloud-bigquery",
    "grpc": "grpcio", "jose": "python-jose", "jwt": "PyJWT", "kafka": "kafka-python", "magic": "python-magic",
    "mpl_toolkits": "matplotlib", "multipart": "python-multipart", "MySQLdb": "mysqlclient", "nacl": "PyNaCl",
    "OpenGL": "PyOpenGL", "OpenSSL": "pyOpenSSL", "PIL": "Pillow", "pkg_resources": "setuptools",
    "pptx": "python-pptx", "psycopg2": "psycopg2-binary", "ruamel": "ruamel.yaml", "serial": "pyserial",
    "skimage": "scikit-image", "sklearn": "scikit-learn", "slugify": "python-slugify", "socks": "PySocks",
    "telegram": "python-telegram-bot", "usb": "pyusb", "websocket": "websocket-client", "wx": "wxPython",
    "yaml": "PyYAML", "zmq": "pyzmq", "_pytest": "pytest",
}


@dataclass(frozen=True)
class Missing:
    module: str  # as the snippet imports it: "yaml"
    distribution: str  # what to declare: "PyYAML"


def _guards_import(handler: ast.ExceptHandler) -> bool:
    """`except ImportError:` and anything that catches it: the import is optional."""
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {getattr(kind, "id", getattr(kind, "attr", None)) for kind in kinds}
    return handler.type is None or bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


class _Imports(ast.NodeVisitor):
    def __init__(self):
        self.names: dict[str, None] = {}  # dotted names, in order of appearance

    def visit_Import(self, node):
        self.names.update(dict.fromkeys(alias.name for alias in node.names))

    def visit_ImportFrom(self, node):
        if node.level == 0 and node.module:  # relative imports are the post's own modules
            self.names.update(dict.fromkeys(f"{node.module}.{alias.name}" for alias in node.names))

    def visit_Try(self, node):
        if not any(_guards_import(handler) for handler in node.handlers):
            return self.generic_visit(node)
        for part in [*node.orelse, *node.finalbody]:  # the body and its fallbacks are optional imports
            self.visit(part)

    visit_TryStar = visit_Try

    def visit_If(self, node):
        if getattr(node.test, "id", getattr(node.test, "attr", None)) != "TYPE_CHECKING":
            return self.generic_visit(node)
        for part in node.orelse:  # `if TYPE_CHECKING:` never runs
            self.visit(part)


def imported(code: str) -> list[str]:
    """The dotted names a snippet imports (`import a.b` → "a.b", `from a import b` → "a.b"); none when it does
    not compile (the verification reports that)."""
    try:
        tree = ast.parse(code)  # top-level `await` parses; only compiling refuses it
    except (SyntaxError, ValueError):
        return []
    visitor = _Imports()
    visitor.visit(tree)
    return list(visitor.names)


_provided: dict[tuple[str, str], frozenset[str]] = {}


def provided(env: Env) -> frozenset[str]:
    """The top-level modules an environment can import: what its site-packages holds (packages, namespace
    packages, modules, extension modules) and what the folders its .pth files add hold."""
    if (env.key, str(env.path)) not in _provided:
        folders, names = [env.site_packages], set()
        for pth in env.site_packages.glob("*.pth"):
            for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip() and not line.startswith(("#", "import ", "import\t")):
                    folders.append(env.site_packages / line.strip())
        for entry in (entry for folder in folders for entry in _entries(folder)):
            stem = entry.name.split(".")[0]  # six.py, _cffi_backend.cpython-311-x86_64-linux-gnu.so
            is_module = entry.name.isidentifier() if entry.is_dir() else entry.name.endswith((".py", ".so", ".pyd"))
            if is_module and stem.isidentifier():  # not *.dist-info, not numpy.libs
                names.add(stem)
        _provided[env.key, str(env.path)] = frozenset(names)
    return _provided[env.key, str(env.path)]


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError:  # a .pth line naming a folder that is not there
        return []


def distribution(name: str) -> str:
    """The PyPI distribution that provides an imported (dotted) name."""
    parts = name.split(".")
    for size in range(len(parts), 0, -1):
        if ".".join(parts[:size]) in DISTRIBUTIONS:
            return DISTRIBUTIONS[".".join(parts[:size])]
    return parts[0]


def stdlib_typo(name: str) -> str | None:
    """The standard library module a missing one is a near-miss of (`functool` → `functools`): a typo in the
    post, to be reported as the error it is, not as a package to install."""
    import difflib
    public = [m for m in STANDARD if not m.startswith("_")]
    close = difflib.get_close_matches(name, public, n=1, cutoff=0.85)
    return close[0] if close else None


def undeclared(code: str, env: Env, defined: Iterable[str] = ()) -> list[Missing]:
    """The modules the snippet imports that are neither in the standard library, nor in its environment, nor
    `defined` by the post itself (modules it shows as files), each once, in order of appearance."""
    known = STANDARD | provided(env) | set(defined)
    found: dict[str, Missing] = {}
    for name in imported(code):
        top = name.split(".")[0]
        if top not in known and top.isidentifier() and not stdlib_typo(top):
            found.setdefault(top, Missing(top, distribution(name)))
    return list(found.values())


def declare_hint(missing: Iterable[Missing]) -> str:
    """The one line that declares every missing package for the whole site ("" when none is missing)."""
    names = list(dict.fromkeys(item.distribution for item in missing))
    return f"add to _config.yml:  snippets: {{requirements: [{', '.join(names)}]}}" if names else ""
