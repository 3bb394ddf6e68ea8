"""Every link, image and share image (og:image) of the built site points at something that exists.

html-proofer (Debian's ruby-html-proofer 3.19, through Bundler) checks the built `_site/`.
"""

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from browser import SITE_POSTS, build, fixture_posts


def proof(site: Path) -> subprocess.CompletedProcess:
    """Run html-proofer over `site`/_site; share-image URLs on the site's own domain are checked as files."""
    url = yaml.safe_load((site / "_config.yml").read_text(encoding="utf-8"))["url"]
    own_domain = "^" + re.escape(url).replace(":", r"\:") + ":"  # `--url-swap RE:REPLACEMENT`; a literal ':' is `\:`
    return subprocess.run(["bundle", "exec", "htmlproofer", "_site", "--disable-external", "--check-html",
                           "--check-img-http", "--check-opengraph", "--url-swap", own_domain],
                          cwd=site, env={**os.environ, "BUNDLE_GEMFILE": str(site / "Gemfile")},
                          capture_output=True, text=True, timeout=120)


class DownloadLinks(HTMLParser):
    """The hrefs of a page's `a.snippet-download` links."""

    def __init__(self, html: str):
        super().__init__()
        self.hrefs = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "snippet-download" in (attrs.get("class") or "").split():
            self.hrefs.append(attrs.get("href"))


@pytest.fixture(scope="module")
def site_with_missing_share_image(tmp_path_factory) -> Path:
    """A site of its own whose only post names a share image that is not there (tests/site_posts/broken/)."""
    return build(tmp_path_factory.mktemp("broken-site"), fixture_posts(SITE_POSTS / "broken"), seed=False)


def test_site_has_no_broken_links_images_or_share_images(built_site):
    done = proof(built_site)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "OpenGraphCheck" in report  # the share images were really checked
    assert "HTML-Proofer finished successfully" in report


def test_missing_share_image_fails_the_check_and_is_named(site_with_missing_share_image):
    done = proof(site_with_missing_share_image)
    report = done.stdout + done.stderr
    assert done.returncode != 0, report
    assert "2024/07/05/share-image-typo/index.html" in report
    assert "internal open graph /assests/img/saXA.jpg does not exist" in report


def test_every_snippet_download_link_is_a_file_of_the_site(built_site):
    pages = sorted((built_site / "_site").glob("[0-9][0-9][0-9][0-9]/*/*/*/index.html"))
    assert len(pages) == 1 + len(fixture_posts())  # the seed post and ours
    for page in pages:
        hrefs = DownloadLinks(page.read_text(encoding="utf-8")).hrefs
        assert hrefs, f"{page}: no download link"
        for href in hrefs:
            assert href.startswith("/snippets/"), f"{page}: {href}"
            assert (built_site / "_site" / href.removeprefix("/")).is_file(), f"{page}: {href} is not in _site/"


def test_the_committed_code_colours_are_what_pygments_generates():
    from snipcheck.stylesheet import pygments_css
    committed = (Path(__file__).resolve().parent.parent / "assets/css/syntax.css").read_text()
    assert committed == pygments_css(), "run `invoke styles` and commit assets/css/syntax.css"
