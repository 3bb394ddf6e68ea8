"""A block's result, as every checker gives it and as the cache keeps it."""

import datetime
from dataclasses import dataclass, field

VERIFIED, FAILED, SKIPPED, UNVERIFIED = "verified", "failed", "skipped", "unverified"


@dataclass
class Result:
    status: str
    checker: str  # what verified it, for the reader: "Python 3.11.7", "JSON parser"
    reason: str = ""
    line: int | None = None  # the post line the failure points at
    stdout: str = ""
    stderr: str = ""
    date: str = field(default_factory=lambda: datetime.date.today().isoformat())  # when it was produced
    cached: bool = False
    jailed: bool | None = None  # for code that ran: whether it ran in the jail
    dependency: int | None = None  # the earlier block whose failure stopped this one
    packages: list[str] = field(default_factory=list)  # packages it needs that the environment lacks
    note: str = ""  # for the reader, about a verified result ("raises ZeroDivisionError, as the post says")
    timeline: dict | None = None  # what its event loop did (timeline.of), for the figure under it
