"""The Jekyll oracle renders a post exactly as `jekyll build` does: the same page, byte for byte, for every
fixture post and every generated post of the one-build fixture."""

import pytest

from jekyll_site import FIXTURE_POSTS, GENERATED_COUNT, GENERATED_SEED, build_site, code_blocks, generated_posts

POSTS = {post.name: post.read_bytes().decode("utf-8") for post in FIXTURE_POSTS}  # bytes: CRLF and BOM kept
POSTS.update(generated_posts(GENERATED_SEED, GENERATED_COUNT))


@pytest.mark.parametrize("name", list(POSTS))
def test_oracle_renders_what_a_build_renders(jekyll_oracle, jekyll_pages, name):
    html = jekyll_oracle.render(POSTS[name])
    assert html is not None, jekyll_oracle.error
    assert code_blocks(html) == jekyll_pages[name].code
    assert html == jekyll_pages[name].html


def test_oracle_reports_what_jekyll_refuses(jekyll_oracle):
    assert jekyll_oracle.render("---\nlayout: post\n---\n{% highlight python %}\nx = 1\n") is None
    assert "highlight" in jekyll_oracle.error and "never closed" in jekyll_oracle.error


def test_oracle_refuses_what_a_build_refuses(jekyll_oracle, tmp_path):
    # The page renders, but jekyll-feed renders the excerpt (the first paragraph, with `{% endhighlight %}`
    # appended by Jekyll outside the raw block) and the build stops.
    text = "---\nlayout: post\ntitle: T\n---\n{% raw %}{% highlight python %}{% endraw %}\n\nMore.\n"
    post = tmp_path / "2024-01-01-excerpt.md"
    post.write_text(text)
    (tmp_path / "site").mkdir()
    with pytest.raises(RuntimeError, match="Unknown tag 'endhighlight'"):
        build_site([post], tmp_path / "site")
    assert jekyll_oracle.render(text) is None
    assert "Unknown tag 'endhighlight'" in jekyll_oracle.error
