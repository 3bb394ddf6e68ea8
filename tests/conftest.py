import pytest

pytest.register_assert_rewrite("browser")  # its fixtures assert too; show what differed

from browser import built_site, chromium, site_url, visit  # noqa: F401  (fixtures: one built site, served)
from jekyll_oracle import JekyllOracle
from jekyll_site import FIXTURE_POSTS, GENERATED_COUNT, GENERATED_SEED, build_site, generated_posts


@pytest.fixture(scope="session")
def jekyll_pages(tmp_path_factory):
    """{post file name: Page} for every fixture post and every generated post, from one Jekyll build."""
    generated = tmp_path_factory.mktemp("generated")
    for name, text in generated_posts(GENERATED_SEED, GENERATED_COUNT).items():
        (generated / name).write_text(text)
    return build_site(FIXTURE_POSTS + sorted(generated.glob("*.md")), tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def jekyll_oracle(tmp_path_factory):
    """One Jekyll kept running for the whole session: `jekyll_oracle.render(post text)` is the post's page."""
    with JekyllOracle(tmp_path_factory.mktemp("oracle")) as oracle:
        yield oracle
