"""The site's defaults for verification, from `_config.yml`, so that what most posts need is said once rather than
with a directive before every block:

    snippets:
      timeout: 30          # seconds a block may run
      network: false       # blocks may use the network
      memory: 1024         # MB per process, and for all of a snippet's processes together
      processes: 256       # processes (and threads) per snippet
      disk: 256            # MB of files a snippet may write (and 256 files or folders per MB)
      slow_callback: 0.1   # seconds a callback may block the event loop
      strict: false        # a block that needs an undeclared package, the network or a service fails
      jail: true           # false: run snippets without the jail (only where none can be made)
      timeline: true       # false: no figure of what the event loop did, under any example
      install_timeout: 600 # seconds installing the snippets' packages may take (a build from source is slow)
      requirements: [aiohttp]   # see environments.py

Command-line flags win over these; directives before a block win over both, but for one thing: a block's own
`timeout` never goes past `--timeout` given on the command line, the builder's limit for that run."""

from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import PostError


@dataclass(frozen=True)
class Settings:
    timeout: float = 30.0
    network: bool = False
    memory: int = 1024
    processes: int = 256
    disk: int = 256
    slow_callback: float = 0.1
    strict: bool = False
    jail: bool = True
    timeline: bool = True
    install_timeout: float = 600.0
    timeout_cap: float | None = None  # `--timeout` on the command line: no block runs longer, whatever it says

    def but(self, **changes) -> "Settings":
        """These settings with the given ones changed (None: unchanged)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def files(self) -> int:
        """Files and folders a snippet may make: each costs the kernel about 1 KB that no size counts (an empty
        file, a folder), so a loop of mkdir would take gigabytes. One per 4 KB block of its disk."""
        return self.disk * 256

    def timeout_for(self, asked: float | None) -> float:
        """A block's timeout: the one its directive asks for, else the site's, never past the command line's."""
        wanted = asked or self.timeout
        return min(wanted, self.timeout_cap) if self.timeout_cap else wanted


KNOWN = {f.name: f.type for f in fields(Settings) if f.name != "timeout_cap"} | {"requirements": list}


def from_config(config: dict, path: Path) -> Settings:
    """The `snippets:` block of `_config.yml` (already parsed), checked."""
    block = config.get("snippets") or {}
    if not isinstance(block, dict):
        raise PostError(path, None, "`snippets:` must be a mapping of settings",
                        f"Write e.g. `snippets: {{timeout: 60}}`; the settings are: {', '.join(KNOWN)}.")
    values = {}
    for key, value in block.items():
        if key not in KNOWN:
            raise PostError(path, None, f"unknown setting `snippets: {key}`", f"The settings are: {', '.join(KNOWN)}.")
        if key == "requirements":
            continue
        kind = KNOWN[key]
        ok = isinstance(value, bool) if kind is bool else \
            isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        if not ok:
            raise PostError(path, None, f"`snippets: {key}` must be {'true or false' if kind is bool else 'a positive number'}, "
                            f"not {value!r}")
        values[key] = value
    return Settings(**values)


def of_site(root: Path, **overrides) -> Settings:
    """The site's settings (`snippets:` in its _config.yml), with the command line's (`overrides`) over them."""
    from .discover import site_config
    return from_config(site_config(root), root / "_config.yml").but(**overrides)
