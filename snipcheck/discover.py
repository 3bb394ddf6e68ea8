"""Which files are posts, by Jekyll's own rule, so that we verify exactly the posts Jekyll publishes.

Mirrors Jekyll 4.3: Reader#read_directories (every folder that passes the EntryFilter may hold a `_posts/`),
Reader#get_entries (`_posts/**/*`, no dot entries, no symlinked folders), EntryFilter#filter (`.`/`_`/`#`/`~`
prefixes, `~` backups, `exclude`/`include`), Document::DATE_FILENAME_MATCHER, the Markdown converter's
`markdown_ext`, and the Publisher (`published: false`, future dates unless `future: true`). A post Jekyll
skips only because it is broken (not UTF-8, bad front matter) is kept: find refuses it with its line.
"""

import copy
import datetime
import fnmatch
import functools
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import PostError

DATE_NAME = re.compile(r"^(?:.+/)*?(\d{2,4}-\d{1,2}-\d{1,2})-([^/]*)(\.[^.]+)$")  # DATE_FILENAME_MATCHER
DEFAULT_EXCLUDES = [".sass-cache", ".jekyll-cache", "gemfiles", "Gemfile", "Gemfile.lock", "node_modules",
                    "vendor/bundle/", "vendor/cache/", "vendor/gems/", "vendor/ruby/"]
MARKDOWN_EXT = "markdown,mkdown,mkdn,mkd,md"
FRONT_MATTER = re.compile(r"\A(---\s*\n.*?\n?)^((---|\.\.\.)\s*$\n?)", re.M | re.S)


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml, when PyYAML has it: many times faster


def site_config(root: Path) -> dict:
    """The site's `_config.yml`, read once for as long as it does not change (a copy: callers may change it)."""
    config = root / "_config.yml"
    try:
        stat = config.stat()
    except OSError:
        return {}
    return copy.deepcopy(_read_config(config, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _read_config(config: Path, mtime: int, size: int) -> dict:
    try:
        data = yaml.load(config.read_text(encoding="utf-8"), Loader=LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise PostError(config, None, f"not valid YAML: {err}",
                        "Fix _config.yml; Jekyll cannot read it either.") from None
    return data if isinstance(data, dict) else {}


def posts(root: Path, config: dict | None = None, now: datetime.datetime | None = None) -> list[Path]:
    """The Markdown posts Jekyll publishes from the site at `root`, in path order."""
    config = site_config(root) if config is None else config
    site = _Site(root, config)
    found = []
    for folder in site.folders():
        for entry in site.post_entries(folder):
            path = root / folder.lstrip("/") / "_posts" / entry
            if path.is_file() and site.is_markdown(path) and site.publishes(path, now):  # not a dangling link
                found.append(path)
    return sorted(found)


class _Site:
    def __init__(self, root: Path, config: dict):
        self.root, self.config = root, config
        self.source = str(root.resolve()) if root.exists() else str(root)
        self.include = _strings(config.get("include", [".htaccess"]))
        self.exclude = _strings(config.get("exclude")) + DEFAULT_EXCLUDES
        extensions = str(config.get("markdown_ext") or MARKDOWN_EXT).split(",")
        self.markdown_ext = {f".{e.strip().lower()}" for e in extensions}
        self.collections_dir = str(config.get("collections_dir") or "")
        self.destination = os.path.join(self.source, str(config.get("destination") or "_site")).rstrip("/")

    # Reader#read_directories: every folder that passes the filter is read, and may hold `_posts/`.
    def folders(self, folder: str = ""):
        if not self.collections_dir or folder.startswith(f"/{self.collections_dir}"):
            yield folder
        base = os.path.join(self.source, folder.lstrip("/"))
        try:
            names = [".", ".."] + os.listdir(base)
        except OSError:
            return
        for name in sorted(self._filter(names, folder)):
            path = os.path.join(base, name)
            if os.path.isdir(path) and path.rstrip("/") != self.destination:
                yield from self.folders(f"{folder}/{name}")

    # Reader#get_entries: `Dir["**/*"]` below `_posts/` (no dot entries, symlinked folders not entered),
    # filtered, folders dropped.
    def post_entries(self, folder: str) -> list[str]:
        base = os.path.join(self.source, folder.lstrip("/"), "_posts")
        if not os.path.isdir(base):
            return []
        entries = []
        for top, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel = os.path.relpath(top, base)
            for name in [*dirs, *files]:
                if not name.startswith("."):
                    entries.append(name if rel == "." else f"{rel}/{name}")
        kept = self._filter(entries, f"{folder}/_posts")
        return [e for e in kept if not os.path.isdir(os.path.join(base, e)) and DATE_NAME.match(e)]

    # EntryFilter#filter, entry by entry, with its quirks (an `exclude` pattern also matches as a prefix).
    def _filter(self, entries: list[str], base: str) -> list[str]:
        kept = []
        for entry in entries:
            if entry.endswith("."):
                continue
            included = self._glob(self.include, entry) or self._glob(self.include, os.path.basename(entry))
            if not included and self._glob([p for p in self.exclude if p not in self.include], f"{base}/{entry}"):
                continue
            if self.config.get("safe") and self._symlink_outside(base, entry):
                continue
            if not included and (_special(entry) or _special(os.path.basename(entry)) or entry.endswith("~")):
                continue
            kept.append(entry)
        return kept

    def _glob(self, patterns: list[str], entry: str) -> bool:
        with_source = _join(self.source, entry)
        is_dir = os.path.isdir(with_source)
        for pattern in patterns:
            pattern = _join(self.source, pattern)
            if fnmatch.fnmatchcase(with_source, pattern) or with_source.startswith(pattern) or \
                    (is_dir and pattern == f"{with_source}/"):
                return True
        return False

    def _symlink_outside(self, base: str, entry: str) -> bool:
        path = _join(self.source, f"{base}/{entry}")
        return os.path.islink(path) and not os.path.realpath(path).startswith(self.source)

    def is_markdown(self, path: Path) -> bool:
        return path.suffix.lower() in self.markdown_ext

    # Document#read and the Publisher: `published: false` and future dates are not published.
    def publishes(self, path: Path, now: datetime.datetime | None) -> bool:
        data = _front_matter(path)
        data = {**self._defaults(path), **data}
        if data.get("published", True) is False and not self.config.get("unpublished"):
            return False
        if self.config.get("future"):
            return True
        date = _date(data.get("date"), self._zone()) or _date(DATE_NAME.match(path.name).group(1), self._zone())
        if date is None:
            return True  # Jekyll stops the build on a date it cannot read; that is no reason to skip the post
        now = now or _date(self.config.get("time"), self._zone()) or datetime.datetime.now(datetime.timezone.utc)
        return int(date.timestamp()) <= int(now.timestamp())

    def _zone(self):
        try:
            return ZoneInfo(str(self.config["timezone"])) if self.config.get("timezone") else None
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def _defaults(self, path: Path) -> dict:
        """Front matter defaults (`defaults:` in _config.yml) whose scope covers this post."""
        merged = {}
        relative = path.relative_to(self.root).as_posix()
        for rule in self.config.get("defaults") or []:
            if not isinstance(rule, dict) or not isinstance(rule.get("values"), dict):
                continue
            scope = rule.get("scope") or {}
            kind, where = scope.get("type"), str(scope.get("path") or "")
            if kind not in (None, "posts") or not (where == "" or fnmatch.fnmatchcase(relative, where)
                                                   or relative.startswith(where.rstrip("/") + "/")):
                continue
            merged.update(rule["values"])
        return merged


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or [] if v is not None]


def _special(name: str) -> bool:
    return name[:1] in (".", "_", "#", "~")


def _join(base: str, item: str) -> str:
    """Ruby's File.join: one slash between the parts, whatever they start or end with."""
    return f"{base.rstrip('/')}/{item.lstrip('/')}" if item else base


_read: dict[tuple, dict] = {}  # front matter by (path, mtime, size): `invoke serve` asks twice a second


def _front_matter(path: Path) -> dict:
    try:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _read:
            text = path.read_bytes().decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
            match = FRONT_MATTER.match(text)
            data = yaml.load(match.group(1), Loader=LOADER) if match else {}
            _read[key] = data if isinstance(data, dict) else {}
        return _read[key]
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # unreadable or malformed: kept, so that find can say what is wrong with it


def _date(value, zone) -> datetime.datetime | None:
    """A front matter or file name date as Jekyll reads it (Time.parse; local time unless it names a zone)."""
    if isinstance(value, datetime.datetime):  # a YAML timestamp: Psych reads one without a zone as UTC
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = re.sub(r"\s+([+-]\d{2}):?(\d{2})$", r"\1\2", value.strip())
        moment = None
        for form in ("%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M%z", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                moment = datetime.datetime.strptime(text, form)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = datetime.datetime.fromisoformat(value.strip())
            except ValueError:
                return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone) if zone else moment.astimezone()
    return moment
