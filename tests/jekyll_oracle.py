"""Jekyll as an oracle: one Ruby process that keeps a real Jekyll site loaded and renders posts on request.

A `jekyll build` takes seconds; the oracle answers in milliseconds, so a property test can ask Jekyll
what it makes of every post hypothesis writes. tests/test_jekyll_oracle.py checks that it renders
what a build renders.
"""

import json
import os
import subprocess
from pathlib import Path

from jekyll_site import REPO, new_site

SCRIPT = Path(__file__).with_name("jekyll_oracle.rb")


class JekyllOracle:
    """`render(text)` is the page Jekyll makes of a post, or None when Jekyll refuses it (`error` says why)."""

    def __init__(self, workdir):
        site = new_site(workdir)
        self._log = open(Path(workdir) / "oracle.log", "w+b")  # Jekyll's warnings; read when Ruby dies
        self._ruby = subprocess.Popen(
            ["bundle", "exec", "ruby", str(SCRIPT), str(site)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=dict(os.environ, BUNDLE_GEMFILE=str(REPO / "Gemfile")), cwd=site,
        )
        self.error = None

    def render(self, text: str) -> str | None:
        self._ruby.stdin.write(json.dumps(text).encode() + b"\n")
        self._ruby.stdin.flush()
        reply = self._ruby.stdout.readline()
        if not reply:
            self._log.seek(0)
            raise RuntimeError(f"the Jekyll oracle stopped:\n{self._log.read().decode(errors='replace')[-2000:]}")
        reply = json.loads(reply)
        self.error = reply.get("error")
        return reply.get("html")

    def close(self):
        self._ruby.stdin.close()
        self._ruby.wait(timeout=30)
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
