"""Ask real Jekyll which files of a site are posts: the reading half of a build (Site#reset, Site#read),
without rendering, so a test can compare `snipcheck.discover` with Jekyll on many oddly named files."""

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The posts Jekyll reads and publishes (PostReader already drops unpublished and future ones), relative to
# the source, and which of them its Markdown converter renders.
SCRIPT = r"""
require "json"
require "jekyll"
Jekyll.logger.adjust_verbosity(:quiet => true)
source = File.expand_path(ARGV.fetch(0))
config = Jekyll.configuration("source" => source, "destination" => File.join(source, "_site"), "quiet" => true)
site = Jekyll::Site.new(config)
site.reset
site.read
markdown = site.find_converter_instance(Jekyll::Converters::Markdown)
posts = site.posts.docs.select { |doc| markdown.matches(doc.extname) }.map(&:relative_path)
puts JSON.generate(posts.sort)
"""


# Oddly named files in a site: which are posts? (tests/unit/test_discover.py and test_trust_discover.py)
FRONT = "---\ntitle: t\n---\ntext\n"

ODD_NAMES = {  # file: text; the first ones are posts
    "_posts/2024-01-01-plain.md": FRONT,
    "_posts/2024-01-01-python-3.13.md": FRONT,
    "_posts/2024-01-01-café.md": FRONT,
    "_posts/2024-01-01-long.markdown": FRONT,
    "_posts/2024-01-01-upper.MD": FRONT,
    "_posts/2024-01-01-no-front-matter.md": "Just text: Jekyll publishes it anyway.\n",
    "_posts/sub/2024-01-02-in-a-folder.md": FRONT,
    "_posts/a_b/_c/2024-01-02-deep.md": FRONT,  # only the entry's start and its name are checked
    "blog/_posts/2024-01-03-category.md": FRONT,
    # not posts:
    "_posts/.#2024-01-01-plain.md": FRONT,  # an editor's lock file
    "_posts/_2024-01-01-underscore.md": FRONT,
    "_posts/#2024-01-01-hash.md#": FRONT,
    "_posts/2024-01-01-backup.md~": FRONT,
    "_posts/_drafts/2024-01-02-draft.md": FRONT,
    "_posts/.hidden/2024-01-02-hidden.md": FRONT,
    "_posts/2024-01-01-page.html": FRONT,  # a post, but not Markdown: we leave it alone
    "_posts/undated.md": FRONT,
    "_posts/..md": FRONT,
    "_posts/...md": FRONT,
    "_posts/2024-01-04-unpublished.md": "---\npublished: false\n---\nx\n",
    "_posts/2999-01-01-future.md": FRONT,
    "_posts/2024-01-04-future-by-date.md": "---\ndate: 2999-01-01 10:00:00 +0100\n---\nx\n",
    "_other/_posts/2024-01-05-underscore-folder.md": FRONT,
    ".git/_posts/2024-01-05-dot-folder.md": FRONT,
    "tests/_posts/2024-01-05-excluded.md": FRONT,
}
PUBLISHED = ["_posts/2024-01-01-café.md", "_posts/2024-01-01-long.markdown", "_posts/2024-01-01-no-front-matter.md",
             "_posts/2024-01-01-plain.md", "_posts/2024-01-01-python-3.13.md", "_posts/2024-01-01-upper.MD",
             "_posts/a_b/_c/2024-01-02-deep.md", "_posts/sub/2024-01-02-in-a-folder.md",
             "blog/_posts/2024-01-03-category.md"]



def write_site(root: Path, files: dict[str, str], config: str = "exclude: [tests]\n") -> Path:
    """`files` ({path: text}) and a `_config.yml` in `root`."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "_config.yml").write_text(config)
    return root


def jekyll_posts(site: Path) -> list[str]:
    """The Markdown posts real Jekyll publishes from `site`, as paths relative to it, sorted."""
    done = subprocess.run(["bundle", "exec", "ruby", "-e", SCRIPT, str(site)], capture_output=True, text=True,
                          cwd=site, env={**os.environ, "BUNDLE_GEMFILE": str(REPO / "Gemfile")}, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"Jekyll could not read {site}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
