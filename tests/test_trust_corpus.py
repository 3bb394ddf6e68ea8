"""A generated corpus, built by `invoke build` with the plugin: many posts mixing every way a post shows code
(fences, highlight tags with and without line numbers, lists, quotes, indented code, code written as HTML,
attribute lists, Liquid `if`/`for`/`include`/`raw`/`comment` around code, the same code twice). No page
may show a block without its panel, a mismatch, or "Not verified" where a result exists."""

import random
import re

import pytest

from jekyll_panels import read_page
from sites import invoke, make_site

SEED = 20241101  # change it to try other corpora; failures name the post
POSTS = 24
NOTE = '<div class="note">A note from an include.</div>\n'


class Writer:
    """One post's blocks; `n` numbers them so most code differs, while `same` repeats on purpose."""

    def __init__(self, rng: random.Random, post: int):
        self.rng, self.post, self.n = rng, post, 0

    def code(self) -> str:
        self.n += 1
        return 'print("same")' if self.rng.random() < 0.15 else f'print("post {self.post}, block {self.n}")'

    def fence(self, lang: str = "python", indent: str = "") -> str:
        char = self.rng.choice(["```", "~~~", "````"])
        body = {"python": self.code(), "json": f'{{"n": {self.n}}}', "yaml": f"n: {self.n}",
                "text": "A sentence about the code, shown as it is."}[lang]
        return "\n".join(indent + line for line in (f"{char}{lang}", body, char))

    def highlight(self) -> str:
        options = self.rng.choice(["", " linenos", ' hl_lines="1"', " linenos=table"])
        dash = self.rng.choice(["", "-"])
        body = self.code()
        if self.rng.random() < 0.3:
            body = f"{{% raw %}}\n{body}\n{{% endraw %}}"
        return f"{{%{dash} highlight python{options} {dash}%}}\n{body}\n{{%{dash} endhighlight {dash}%}}"

    def block(self) -> str:
        form = self.rng.choice(FORMS)
        return form(self)


FORMS = [
    lambda w: w.fence(),
    lambda w: w.fence(w.rng.choice(["json", "yaml", "text"])),
    lambda w: w.highlight(),
    lambda w: "- A list item:\n\n" + w.fence(indent="  "),
    lambda w: "\n".join("> " + line for line in w.fence().split("\n")),
    lambda w: "    " + w.code().replace("print", "shown_as_text"),  # indented code, no language
    lambda w: f"<pre><code>&lt;html&gt; &amp; code {w.rng.randint(1, 9)}\n</code></pre>",
    lambda w: f"<div>\n<pre class=\"x\"><code>{w.code()}</code></pre>\n</div>",
    lambda w: w.fence() + f"\n{{: #block-{w.post}-{w.n} .wide}}",
    lambda w: "{% if true %}\n" + w.fence() + "\n{% endif %}",
    lambda w: "{% if false %}\n" + w.fence() + "\n{% endif %}",
    lambda w: "{% for i in (1..2) %}\n" + w.fence() + "\n{% endfor %}",
    lambda w: "{% unless false %}\n" + w.highlight() + "\n{% endunless %}",
    lambda w: "{% include note.html %}\n" + w.fence(),
    lambda w: "{% raw %}\n```python\nprint(\"{{ shown as written }}\")\n```\n{% endraw %}",
    lambda w: "{% comment %}\n" + w.fence() + "\n{% endcomment %}",
    lambda w: "{% assign x = 1 %}\n" + w.fence(),
]


def corpus(seed: int, count: int) -> dict[str, str]:
    rng = random.Random(seed)
    posts = {}
    for number in range(1, count + 1):
        writer = Writer(rng, number)
        text = f"---\nlayout: post\ntitle: Generated {number}\n---\n\nSome words first.\n\n"
        for _ in range(rng.randint(3, 7)):
            text += writer.block() + rng.choice(["\n\n", "\n\nA few words between blocks.\n\n"])
        posts[f"2024-11-{number:02d}-generated-{number}.md"] = text
    return posts


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("corpus") / "blog", corpus(SEED, POSTS))
    (site / "_includes" / "note.html").write_text(NOTE)
    done = invoke(site, "build", timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return site


@pytest.mark.parametrize("number", range(1, POSTS + 1))
def test_every_block_of_a_generated_post_has_its_panel_and_no_mismatch(built, number):
    path = next((built / "_site").glob(f"2024/11/*/generated-{number}/index.html"))
    page = read_page(path.read_text(encoding="utf-8"))
    source = (built / "_posts" / f"2024-11-{number:02d}-generated-{number}.md").read_text()
    assert page.stray_panels == 0, source
    for block in page.blocks:
        assert block.panel is not None, f"{path}: no panel under {block.code!r}\n{source}"
        mark = block.panel.mark
        assert block.panel.status in ("verified", "unverified"), (mark, source)
        assert "changed after it was checked" not in mark and "no check result" not in mark, (mark, source)
        if "print(" in block.code and "{{" not in block.code and block.panel.status != "verified":
            assert "written as HTML" in mark, f"{path}: {block.code!r}: {mark}\n{source}"
    assert "never" not in "".join(b.code for b in page.blocks)
    assert re.search(r"snippet-check", path.read_text()) or not page.blocks
