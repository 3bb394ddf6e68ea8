"""The blog as a reader meets it: one site built by the real pipeline from the seed post and the posts
in tests/site_posts/, served on 127.0.0.1, and a real Chromium to open its pages.

The fixtures are imported by conftest.py, so the browser tests and the link tests share one build.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright

from sites import invoke, make_site

SITE_POSTS = Path(__file__).parent / "site_posts"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright cannot download its own here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def fixture_posts(folder: Path = SITE_POSTS) -> dict[str, str]:
    """{file name: text} of the Markdown posts in `folder` (not in its subfolders)."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.md"))}


def build(root: Path, posts: dict[str, str], seed: bool) -> Path:
    """A site in `root` with `posts`, built by `invoke build`; stops the tests when the build fails."""
    site = make_site(root, posts, seed=seed)
    done = invoke(site, "build")
    if done.returncode != 0:
        pytest.fail(f"`invoke build` failed in {site} (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return site


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The folder of one site built from the seed post and tests/site_posts/*.md; its pages are in `_site/`."""
    return build(tmp_path_factory.mktemp("site"), fixture_posts(), seed=True)


@pytest.fixture(scope="session")
def site_url(built_site, tmp_path_factory):
    """`http://127.0.0.1:PORT`, where `python -m http.server` serves the built `_site/`."""
    log = (tmp_path_factory.mktemp("server") / "requests.log").open("w")
    # Port 0: the server picks a free port and names it in its first line, so no port can be taken in between.
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                               "--directory", str(built_site / "_site")],
                              stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        banner = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        port = re.search(r"port (\d+)", banner)
        if not port:
            pytest.fail(f"python -m http.server did not start: {banner!r} (log: {log.name})")
        yield f"http://127.0.0.1:{port[1]}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")  # not session: while Playwright runs, no later test could call asyncio.run()
def chromium(tmp_path_factory):
    """Debian's Chromium, headless, with its profile and temporary files in a pytest temporary folder."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install it with `.venv/bin/invoke setup --browser`.")
    scratch = tmp_path_factory.mktemp("chromium")
    env = pytest.MonkeyPatch()
    env.setenv("TMPDIR", str(scratch))  # Playwright's driver makes each browser profile in its TMPDIR
    with sync_playwright() as playwright:
        env.undo()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             env={**os.environ, "TMPDIR": str(scratch), "HOME": str(scratch)})
        yield browser
        browser.close()


@dataclass
class Visit:
    """One page opened in a fresh browser context, and what happened while it was open."""
    page: Page
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and console errors
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    dialogs: list[str] = field(default_factory=list)  # alert(), confirm(), prompt() messages

    def foreign_requests(self) -> list[str]:
        """Requests that left this machine's server: anything but 127.0.0.1 and inline `data:` URLs."""
        return [url for url in self.requests
                if not url.startswith("data:") and urlsplit(url).hostname != "127.0.0.1"]


@pytest.fixture
def visit(chromium, site_url):
    """`visit(path, **context_options)` opens `path` of the site in a new browser context and returns a Visit.

    Context options are Playwright's (viewport, color_scheme, java_script_enabled, permissions, ...).
    Every page must load without a JavaScript error or console error; that is checked when the test ends.
    """
    contexts, visits = [], []

    def open_page(path: str, **options) -> Visit:
        context = chromium.new_context(base_url=site_url, **options)
        contexts.append(context)
        seen = Visit(context.new_page())
        seen.page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
        seen.page.on("console", lambda message: message.type == "error"
                     and seen.errors.append(f"console error: {message.text} ({message.location})"))
        seen.page.on("request", lambda request: seen.requests.append(request.url))
        seen.page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
        response = seen.page.goto(path, wait_until="load")  # after deferred scripts (copy.js) have run
        assert response and response.ok, f"GET {site_url}{path}: {response and response.status}"
        visits.append(seen)
        return seen

    yield open_page
    for context in contexts:
        context.close()
    errors = [error for seen in visits for error in seen.errors]
    assert errors == [], f"the page reported errors: {errors}"
