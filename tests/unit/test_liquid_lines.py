"""Jekyll's Liquid pass, in Python, without Ruby: what the page will show and which post line each piece
came from. Each case here was checked once against real Jekyll (tests/test_trust_liquid.py keeps checking)."""

import pytest

from snipcheck.liquid import LiquidError, render


def lines_of(source: str) -> dict[str, int]:
    """{output line text: body line it came from}, for the non-blank lines of the rendered text."""
    rendered = render(source)
    return {text: line for text, line in zip(rendered.text.split("\n"), rendered.line_of) if text.strip()}


def test_a_linenos_gutter_is_not_counted_as_source_lines():
    source = "{% highlight python linenos %}\na\nb\nc\n{% endhighlight %}\n\nafter\n"
    rendered = render(source)
    figure = [rendered.line_of[i] for i in sorted(rendered.figure_lines)]
    assert all(1 <= line <= 5 for line in figure), figure  # never a line after {% endhighlight %}
    assert figure == sorted(figure)
    assert lines_of(source)["after"] == 7
    # the first output line standing for body line 7 is "after", not a line of the figure
    assert rendered.text.split("\n")[rendered.line_of.index(7)] == "after"


def test_each_code_line_of_a_highlight_maps_to_its_own_line():
    source = "{% highlight python %}\n\nfirst\nsecond\n{% endhighlight %}\nnext\n"
    rendered = render(source)
    assert rendered.highlights[0].first_line == 3
    assert lines_of(source)["second</code></pre></figure>"] == 4
    assert lines_of(source)["next"] == 6


@pytest.mark.parametrize("source, first", [
    ("{% highlight python %}\n{% raw %}\nprint('{{ x }}')\n{% endraw %}\n{% endhighlight %}\n", 3),
    ("{% highlight python %}{% raw %}\nprint('{{ x }}')\n{% endraw %}{% endhighlight %}\n", 2),
    ("{% highlight python %}\n{% raw %}print('{{ x }}'){% endraw %}\n{% endhighlight %}\n", 2),
    ("{% highlight python -%}\n\n   {% raw %}print(1){% endraw %}\n{% endhighlight %}\n", 3),
])
def test_a_body_wrapped_in_raw_reports_the_line_of_its_first_code_line(source, first):
    rendered = render(source)
    assert rendered.highlights[0].first_line == first
    assert rendered.highlights[0].liquid_line is None


def test_nested_comments_are_one_comment():
    rendered = render("x\n{% comment %} a {% comment %} b {% endcomment %} c {% endcomment %}\ny\n")
    assert rendered.text == "x\n\ny\n"


def test_an_end_tag_inside_raw_inside_a_highlight_is_code():
    source = "{% highlight python %}\nprint(1)\n{% raw %}{% endhighlight %}{% endraw %}\n{% endhighlight %}\n"
    highlight = render(source).highlights[0]
    assert highlight.code == "print(1)\n{% endhighlight %}"
    assert highlight.liquid_line is None and highlight.end_line == 4


def test_a_comment_inside_a_highlight_is_removed_and_is_not_liquid_to_refuse():
    source = "{% highlight python %}\nprint(1)\n{% comment %}hidden{% endcomment %}\nprint(2)\n{% endhighlight %}\n"
    highlight = render(source).highlights[0]
    assert highlight.code == "print(1)\n\nprint(2)"
    assert highlight.liquid_line is None


def test_other_liquid_inside_a_highlight_is_found_on_its_own_line():
    source = "{% highlight python %}\nprint(1)\nprint('{{ page.title }}')\n{% endhighlight %}\n"
    assert render(source).highlights[0].liquid_line == 3


def test_tags_that_print_nothing_leave_an_empty_line_and_mark_their_block_conditional():
    source = "{% if site.show %}\n```python\nprint(1)\n```\n{% endif %}\n{% assign x = 1 %}\n{% include note.html %}\n"
    rendered = render(source)
    assert rendered.text.split("\n")[:6] == ["", "```python", "print(1)", "```", "", ""]
    assert rendered.text.split("\n")[6] == "{% include note.html %}"  # what it prints is unknown: kept
    assert rendered.conditional_lines == {1, 2, 3, 4, 5}
    assert {1, 5, 6, 7} <= rendered.liquid_lines


def test_an_inline_comment_prints_nothing():
    assert render("{% # a note %}\ntext\n").text == "\ntext\n"


def test_raw_trims_after_itself_by_its_opening_tag_as_liquid_5_does():
    assert render("{% raw -%}\n  A\n{% endraw %}\n  B\n").text == "\n  A\nB\n"
    assert render("{% raw %}\n  A\n{% endraw -%}\n  B\n").text == "\n  A\n\n  B\n"


@pytest.mark.parametrize("source, line, words", [
    ("a\n\n```python\nprint('{{')\n```\n", 4, "Variable '{{' is never closed"),
    ("a\nb {% oops\n", 2, "Tag '{%' is never closed"),
    ("a\n{% endif %}\n", 2, "'{% endif %}' has no opening '{% if %}'"),
    ("{% if true %}\na\n", 1, "'{% if %}' is never closed"),
    ("{% comment %}\n{% if x %}\n{% endcomment %}\n", 2, "'{% if %}' is never closed"),
    ("{% highlight python %}\n{% highlight ruby %}\nx\n{% endhighlight %}\n{% endhighlight %}\n", 2,
     "a {% highlight %} inside a {% highlight %}"),
])
def test_what_liquid_refuses_is_refused_with_its_line(source, line, words):
    with pytest.raises(LiquidError) as refused:
        render(source)
    assert refused.value.line == line and words in refused.value.problem


def test_a_stray_end_tag_inside_a_comment_is_ignored_as_liquid_does():
    assert render("{% comment %}{% endif %}{% endcomment %}x\n").text == "x\n"
