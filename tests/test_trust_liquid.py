"""Liquid as Jekyll renders it, with the right post lines: a highlight body wrapped in `{% raw %}`, an end tag
inside raw, comments (nested, and inside a highlight), and code right after a `linenos` table. Real Jekyll
(the oracle) says what the page shows; extraction must show the same, each block on the right line."""

from pathlib import Path

import pytest

from jekyll_site import code_blocks
from snipcheck.errors import PostError
from snipcheck.find import find_snippets
from test_extract_matches_jekyll import check_line

POSTS = Path(__file__).parent / "trust_posts"
LIQUID_POST = POSTS / "2024-08-08-liquid-in-highlights.md"
LIQUID_IN_LINENOS_NEIGHBOUR = """---
layout: post
title: Example
---
{% highlight python linenos %}
a = 1
b = 2
c = 3
d = 4
{% endhighlight %}
```python
v = 1
w = 2
x = 3
y = 4
z = "{{ page.title }}"
```
"""


def test_liquid_in_highlights_matches_jekyll_line_by_line(jekyll_oracle):
    html = jekyll_oracle.render(LIQUID_POST.read_text(encoding="utf-8"))
    assert html is not None, jekyll_oracle.error
    snippets = find_snippets(LIQUID_POST)
    assert [s.code.rstrip("\n") for s in snippets] == [code.rstrip("\n") for code in code_blocks(html)]
    lines = LIQUID_POST.read_text(encoding="utf-8").split("\n")
    for snippet in snippets:
        check_line(LIQUID_POST, lines, snippet)
    assert snippets[0].code == 'print("{{ shown as written }}")\n' and snippets[0].line == 10  # not 9
    assert snippets[1].code.endswith("{% endhighlight %}\n")
    assert snippets[2].code == 'print("kept")\n\nprint("kept too")\n'
    assert snippets[-1].line == 44


def test_liquid_after_a_linenos_table_is_found_on_its_line(jekyll_oracle, tmp_path):
    """The gutter of a `linenos` table once counted as post lines, so this `{{ }}` went unseen and the page
    showed the page title where the verified code had `{{ page.title }}`."""
    html = jekyll_oracle.render(LIQUID_IN_LINENOS_NEIGHBOUR)
    assert 'z = "Example"' in "".join(code_blocks(html))  # what Jekyll really shows
    post = tmp_path / "2024-01-01-example.md"
    post.write_text(LIQUID_IN_LINENOS_NEIGHBOUR)
    with pytest.raises(PostError, match="Liquid tags or") as refused:
        find_snippets(post)
    assert refused.value.line == 16
