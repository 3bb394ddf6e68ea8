"""Snippets of posts whose code is all in highlight tags (no Ruby runs for those): their lines, and which
ones Liquid may show 0, 1 or more times."""

from pathlib import Path

import pytest

from snipcheck.errors import PostError
from snipcheck.find import find_snippets


def snippets(tmp_path: Path, body: str):
    post = tmp_path / "_posts" / "2024-01-01-post.md"
    post.parent.mkdir(exist_ok=True)
    post.write_text(f"---\ntitle: t\n---\n{body}")
    return find_snippets(post, tmp_path)


def test_a_highlight_inside_if_or_for_is_conditional(tmp_path):
    found = snippets(tmp_path, "{% if site.x %}\n{% highlight python %}\nprint(1)\n{% endhighlight %}\n{% endif %}\n\n"
                               "{% highlight python %}\nprint(2)\n{% endhighlight %}\n\n"
                               "{% for i in (1..3) %}\n{% highlight python %}\nprint(3)\n{% endhighlight %}\n"
                               "{% endfor %}\n")
    assert [(s.code, s.conditional) for s in found] == [("print(1)\n", True), ("print(2)\n", False),
                                                        ("print(3)\n", True)]


def test_a_raw_wrapped_body_is_on_the_line_of_its_code(tmp_path):
    found = snippets(tmp_path, "{% highlight python %}\n{% raw %}\nprint('{{ x }}')\n{% endraw %}\n"
                               "{% endhighlight %}\n")
    assert found[0].code == "print('{{ x }}')\n" and found[0].line == 6


def test_liquid_in_a_highlight_is_refused_on_its_own_line(tmp_path):
    with pytest.raises(PostError, match="Liquid tags or") as refused:
        snippets(tmp_path, "{% highlight python %}\nprint(1)\nprint('{{ page.title }}')\n{% endhighlight %}\n")
    assert refused.value.line == 6


def test_a_post_in_a_category_folder_belongs_to_the_site_above_it(tmp_path):
    from snipcheck.find import site_root
    (tmp_path / "_config.yml").write_text("title: t\n")
    post = tmp_path / "blog" / "_posts" / "sub" / "2024-01-01-post.md"
    post.parent.mkdir(parents=True)
    post.write_text("---\ntitle: t\n---\n")
    assert site_root(post) == tmp_path.resolve()
