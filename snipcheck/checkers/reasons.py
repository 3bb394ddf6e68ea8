"""Why a Python block that did not pass is not a mistake of the post's, when it is not: it wants something the
run did not have (a package, the network, a service), or it is not a program (an excerpt of a bigger one,
pseudo-code), or the text around it says it raises. Each gives a precise "not verified" reason, or a
verified result that says so; `strict` makes the wants failures."""

from __future__ import annotations  # (python.Outcome: the two modules import each other)

import re
import sys

from ..imports import distribution, provided, stdlib_typo
from ..plan import Job
from ..result import FAILED, UNVERIFIED, Result
from . import python

SERVICES = {5432: "PostgreSQL", 3306: "MySQL", 6379: "Redis", 27017: "MongoDB", 5672: "RabbitMQ", 9092: "Kafka",
            11211: "memcached", 8786: "a Dask scheduler", 9200: "Elasticsearch", 2181: "ZooKeeper"}
NO_NETWORK = re.compile(r"Network is unreachable|Temporary failure in name resolution|Name or service not known|"
                        r"nodename nor servname|No address associated with hostname")


def needs_package(outcome: python.Outcome, error: str, strict: bool) -> Result | None:
    missing = re.match(r"ModuleNotFoundError: No module named '([\w.]+)'", error)
    top = missing.group(1).split(".")[0] if missing else ""
    if missing and top not in sys.stdlib_module_names and not stdlib_typo(top):
        name = distribution(missing.group(1))
        outcome.result.packages = [name]
        return outcome.fail(f"needs package {name}, which is not installed (declare it in _config.yml "
                            "`snippets: requirements:` or in the post's `requirements:`)",
                            status=FAILED if strict else UNVERIFIED)
    return None


def needs(outcome: python.Outcome, error: str, strict: bool) -> Result | None:
    """Failures that are not the example's fault but a precise want: a package, the network, a service."""
    status = FAILED if strict else UNVERIFIED
    package = needs_package(outcome, error, strict)
    if package:
        return package
    if outcome.done.jailed and not outcome.job.network and NO_NETWORK.search(outcome.done.stderr):
        return outcome.fail("needs network: snippets run without it; put `<!-- snippet: network -->` before the "
                            "block", *python.diagnostics.last_frame(outcome.done.stderr), status=status)
    port = re.search(r"(?:Connect call failed \('[\d.:]+', |port |:)(\d{2,5})\b.*?(?:[Rr]efused|failed)|"
                     r"[Rr]efused.*?(?:port |:)(\d{2,5})\b", outcome.done.stderr)
    number = int(next((g for g in port.groups() if g), 0)) if port else 0
    if "refused" in outcome.done.stderr.lower() and number in SERVICES:
        return outcome.fail(f"needs a service: {SERVICES[number]} on port {number}, which snippets do not have",
                            *python.diagnostics.last_frame(outcome.done.stderr), status=status)
    return None


PLACEHOLDER = re.compile(r"=\s*(?:#.*)?$|<[A-Za-z][\w .-]*>|\byour[_ ]\w+", re.I)


def not_runnable(outcome: python.Outcome, error: str, code_text: str, line: int | None, strict: bool) -> Result | None:
    """Failures that say the block is an excerpt or pseudo-code rather than a broken example: a name no block of
    the post defines (and that is no typo, no forgotten import), a placeholder where code should be."""
    status = FAILED if strict else UNVERIFIED
    job = outcome.job
    undefined = re.match(r"NameError: name '(\w+)' is not defined(.*)", error)
    if undefined and "Did you mean" not in undefined.group(2) and undefined.group(1) not in job.post_names:
        name = undefined.group(1)
        if name in sys.stdlib_module_names or (job.env and name in provided(job.env)):
            return None  # a forgotten import: a real mistake
        return outcome.fail(f"uses `{name}`, which no block of this post defines: an excerpt, not verified",
                            python.file_of(job.snippet.index), line, status=status)
    if error.startswith("SyntaxError") and line:
        text = code_text.split("\n")[line - 1] if line <= code_text.count("\n") + 1 else ""
        if PLACEHOLDER.search(text):
            return outcome.fail(f"pseudo-code: line {line} holds a placeholder (`{text.strip()}`), not verified",
                                python.file_of(job.snippet.index), line, status=status)
    return None


RAISED = r"rais\w*|throw\w*|fail\w*|error|happens?|get|gives?|results? in|blows? up|crash\w*"


def said_in_the_text(job: Job, error: str) -> str:
    """The exception's name, when a sentence right before or after the block says it is raised: the error is
    shown on purpose ("`ZeroDivisionError` will be raised")."""
    name = error.split(":")[0].rsplit(".", 1)[-1]
    if not re.fullmatch(r"\w*(Error|Exception|Exit|Interrupt|Warning|Group)", name):
        return ""
    near = [re.split(r"\n\s*\n", job.snippet.before.strip())[-1], re.split(r"\n\s*\n", job.snippet.after.strip())[0]]
    sentences = [s for text in near for s in re.split(r"(?<=[.!?])\s+", text)]
    return name if any(re.search(rf"\b{name}\b", s) and re.search(rf"\b(?:{RAISED})\b", s, re.I)
                       for s in sentences) else ""
