"""`invoke serve` previews into a folder of its own (a refused build promises to leave `_site/` alone),
serves snippet files as they are, keeps going when an editor leaves a lock file in `_posts/`, and shows a
post's new results after it is saved."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from jekyll_panels import read_page
from sites import make_site

POSTS = Path(__file__).parent / "trust_posts"
EXAMPLES = "2024-08-07-examples-with-front-matter"
SAVED = "---\nlayout: post\ntitle: Saved\n---\n\n```python\nprint('first')\n```\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""
    except OSError:
        return 0, b""


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def preview(tmp_path):
    site = make_site(tmp_path / "blog", {f"{EXAMPLES}.md": (POSTS / f"{EXAMPLES}.md").read_text(),
                                         "2024-08-10-saved.md": SAVED})
    os.symlink("user@host.1234:1700000000", site / "_posts" / ".#2024-08-10-saved.md")  # an editor's lock
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "invoke", "--search-root", str(site), "serve", "--port",
                               str(port)], cwd=site, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield site, f"http://127.0.0.1:{port}", server, tmp_path / "serve.log"
    finally:
        server.send_signal(signal.SIGTERM)  # the preview stops Jekyll's server with it
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_the_preview_serves_snippets_as_files_outside_site_and_follows_a_save(preview):
    site, url, server, log = preview
    page = f"{url}/2024/08/07/examples-with-front-matter/"
    wait_for(lambda: fetch(page)[0] == 200 or server.poll() is not None, 180, "the preview")
    assert server.poll() is None, log.read_text()[-3000:]
    for name in ("01.md", "02.html"):
        status, body = fetch(f"{url}/snippets/{EXAMPLES}/{name}")
        assert status == 200 and body == (site / "snippets" / EXAMPLES / name).read_bytes()
    assert fetch(f"{url}/hijacked/")[0] == 404
    assert not (site / "_site").exists()  # the preview has a folder of its own

    saved = site / "_posts" / "2024-08-10-saved.md"
    saved.write_text(SAVED.replace("'first'", "'fir' + 'st'"))  # new code, same output as recorded

    def shows_new_code():
        status, body = fetch(f"{url}/2024/08/10/saved/")
        blocks = read_page(body.decode()).blocks if status == 200 else []
        return blocks and "'fir' + 'st'" in blocks[0].code and blocks[0].panel.status == "verified"
    wait_for(shows_new_code, 120, "the saved post's new result")
    assert server.poll() is None and not (site / "_site").exists()
