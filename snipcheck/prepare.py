"""Everything verification needs before anything runs, the same for `invoke test-snippets` and `pytest _posts/`:
the site's settings, each post's snippets, the environment its blocks run in (installed now, outside the jail)
and the plan of its jobs. Writes nothing but environments into `.cache/envs/`."""

from dataclasses import dataclass, field
from pathlib import Path

from . import environments, plan, settings
from .errors import PostError
from .find import find_all
from .post import read_post


@dataclass
class Prepared:
    root: Path
    settings: settings.Settings
    jobs: dict[Path, list[plan.Job] | PostError] = field(default_factory=dict)


def prepare(root: Path, paths: list[Path], **overrides) -> Prepared:
    """The jobs of each post (or the PostError that stops it). `overrides` are command-line settings."""
    chosen = settings.of_site(root, **overrides)
    prepared, envs = Prepared(root, chosen), {}
    for path, found in find_all(paths, root).items():
        if isinstance(found, PostError):
            prepared.jobs[path] = found
            continue
        try:
            jobs = plan.plan(found, chosen)
            if any(job.kind in plan.PYTHON for job in jobs):
                reqs = environments.requirements(root, read_post(path).front_matter, path)
                key = tuple(reqs.texts)
                if key not in envs:
                    envs[key] = environments.ensure(root, reqs, jailed=chosen.jail, timeout=chosen.install_timeout)
                plan.attach_env(jobs, envs[key])
            prepared.jobs[path] = jobs
        except PostError as err:
            prepared.jobs[path] = err
    return prepared
