"""Data blocks are parsed: JSON, YAML (every document), TOML."""

import json
import re
import tomllib

import yaml

from ..plan import Job
from ..result import FAILED, VERIFIED, Result

PARSERS = {"json": "JSON parser", "yaml": "YAML parser", "toml": "TOML parser"}


def check(job: Job) -> Result:
    kind, code = job.kind, job.snippet.code
    checker = PARSERS[kind]
    try:
        if kind == "json":
            json.loads(code)
        elif kind == "yaml":
            list(yaml.safe_load_all(code))
        else:
            tomllib.loads(code)
    except json.JSONDecodeError as err:
        return Result(FAILED, checker, f"invalid JSON: {err.msg}", err.lineno)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        return Result(FAILED, checker, f"invalid YAML: {getattr(err, 'problem', err)}", mark.line + 1 if mark else None)
    except tomllib.TOMLDecodeError as err:
        line = re.search(r"at line (\d+)", str(err))
        return Result(FAILED, checker, f"invalid TOML: {err}", int(line.group(1)) if line else None)
    return Result(VERIFIED, checker)
