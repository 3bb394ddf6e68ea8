"""Posts are written by people: every malformed one gets a clear error with its file and line and a build
that publishes nothing; awkward but valid ones simply work; the page cannot be fooled."""

import hashlib
import os
import re
import string

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sites import invoke, make_site, post
from snipcheck.errors import PostError
from snipcheck.find import find_snippets

GOOD_CODE = '```python\nprint("ok")\n```\n'


def site_digest(site):
    """Every file of `_site/` and `_posts/`, bytes and names, as one fingerprint."""
    digest = hashlib.sha256()
    for folder in (site / "_site", site / "_posts"):
        for path in sorted(folder.rglob("*")):
            digest.update(str(path.relative_to(site)).encode() + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()


MALFORMED = {
    "unclosed-highlight": (post("T", "Text\n\n{% highlight python %}\nprint(1)\n"), 7, "is never closed"),
    "invalid-yaml": ("---\ntitle: [oops\nlayout: post\n---\nText\n", 3, "front matter is not valid YAML"),
    "not-utf8": (b"---\ntitle: T\n---\nCaf\xe9 au lait\n", 4, "not UTF-8: byte 0xe9 at offset 20"),
    "no-front-matter": ("Just text, no front matter.\n", 1, "no front matter"),
    "empty": ("", 1, "the post is empty"),
    "unclosed-fence": (post("T", "Text\n\n```python\nprint(1)\n"), 7, "code fence ``` is never closed"),
    "stray-endhighlight": (post("T", "Text\n{% endhighlight %}\n"), 6, "has no opening"),
    "bad-highlight-syntax": (post("T", "{% highlight python linenos=%}\nx\n{% endhighlight %}\n"), 5,
                             "is not valid highlight syntax"),
    "unknown-directive": (post("T", "<!-- snippet: skipp -->\n" + GOOD_CODE), 5, "unknown snippet directive"),
    "orphan-directive": (post("T", "<!-- snippet: skip -->\n\nProse in between.\n\n" + GOOD_CODE), 5,
                         "not directly before a code block"),
}


def test_each_malformed_post_is_refused_with_file_line_and_no_published_change(tmp_path):
    site = make_site(tmp_path / "blog", seed=True)
    assert invoke(site, "build").returncode == 0
    for name, (text, line, message) in MALFORMED.items():
        path = site / "_posts" / f"2024-04-01-{name}.md"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        before = site_digest(site)
        done = invoke(site, "build")
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert f"_posts/2024-04-01-{name}.md:{line}: " in done.stderr and message in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout, name
        assert site_digest(site) == before, f"{name}: _site/ or _posts/ changed"
        path.unlink()


AWKWARD = {
    "crlf": ("---\r\nlayout: post\r\ntitle: T\r\n---\r\n```python\r\nprint('crlf')\r\n```\r\n", "crlf\n"),
    "bom": ("\ufeff---\nlayout: post\ntitle: T\n---\n```python\nprint('bom')\n```\n", "bom\n"),
    "tabs": (post("T", "```python\nif True:\n\tprint('tab')\n```\n"), "tab\n"),
    "long-line": (post("T", "```python\nprint('" + "x" * 5000 + "')\n```\n"), "x" * 5000 + "\n"),
    "no-code": (post("T", "Only prose here.\n"), None),
}


def test_awkward_but_valid_posts_simply_work(tmp_path):
    posts = {f"2024-04-02-{name}.md": text for name, (text, _) in AWKWARD.items()}
    site = make_site(tmp_path / "blog", posts)
    raw = {name: (site / "_posts" / name).read_bytes() for name in posts}
    done = invoke(site, "build")
    assert done.returncode == 0, done.stdout + done.stderr
    for name, (_, printed) in AWKWARD.items():
        if printed:
            assert (site / f"snippets/2024-04-02-{name}/01.out").read_text() == printed
    assert {name: (site / "_posts" / name).read_bytes() for name in posts} == raw  # never rewritten


def test_output_and_code_never_become_markup(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-04-03-markup.md": post("Markup", """\
```python
print("<script>alert('x')</script><b>bold</b> & done")
```
""")})
    assert invoke(site, "build").returncode == 0
    page = next((site / "_site").rglob("markup/index.html")).read_text()
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; done" in page


def test_stale_or_forged_results_are_never_shown_as_verified(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-04-04-forged.md": post("Forged", GOOD_CODE)})
    assert invoke(site, "build").returncode == 0
    data = site / "_data/snippets/2024-04-04-forged.json"
    # the author edits the code; a stale data file (or a forged one) still says "verified"
    path = site / "_posts" / "2024-04-04-forged.md"
    path.write_text(path.read_text().replace('print("ok")', 'print("changed")'))
    stale = data.read_text()
    done = invoke(site, "-c", "tasks", "extract")  # not verified again
    assert done.returncode == 0
    data.write_text(stale)
    from snipcheck.site import jekyll
    built = jekyll(site, "build", "-d", str(site / "_bare"), capture_output=True, text=True)
    assert built.returncode != 0, "a page whose code has no matching result must not be built"
    assert re.search(r"_posts/2024-04-04-forged\.md:\d+: this code block has no check result", built.stdout + built.stderr)
    assert not (site / "_bare" / "2024").exists()


def subprocess_jekyll(site):
    from snipcheck.site import jekyll
    dest = site / "_bare"
    assert jekyll(site, "build", "-d", str(dest), capture_output=True).returncode == 0
    return dest


def test_snippet_files_stay_inside_their_post_folder(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-04-05-paths.md": post("Paths", """\
```../../../evil
print("x")
```

{% highlight .. %}
y
{% endhighlight %}
""")})
    assert invoke(site, "extract").returncode == 0
    written = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()
                     and "snippets" in p.parts)
    assert written == ["snippets/2024-04-05-paths/01.txt", "snippets/2024-04-05-paths/02.txt"]


# Property: whatever Markdown a blogger writes, extraction never crashes: it finds snippets or says
# precisely (a PostError) what is wrong. Jekyll agreement on generated posts is in test_extract_matches_jekyll.
LINES = st.sampled_from(["```", "```python", "~~~", "~~~~ py", "    indented", "\tx = 1", "- item", "1. item",
                         "   ```", "> quote", "> ```", "<!-- c -->", "<!--", "-->", "<div>", "</div>",
                         "{% highlight python %}", "{% highlight python linenos %}", "{% endhighlight %}",
                         "{% raw %}", "{% endraw %}", "{% comment %}", "{% endcomment %}", "{{ x }}",
                         "<!-- snippet: skip -->", "<!-- snippet: continue -->", "print('x')", "", "", "text"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(LINES, st.text(string.printable, max_size=20)), max_size=25))
def test_extraction_never_crashes(tmp_path, monkeypatch, lines):
    from snipcheck import markdown  # some of these make kramdown run away: the post is then named, sooner here
    monkeypatch.setattr(markdown, "BATCH_SECONDS", 10.0)
    monkeypatch.setattr(markdown, "DOCUMENT_SECONDS", 5.0)
    path = tmp_path / "2024-01-01-generated.md"
    path.write_text("---\ntitle: generated\n---\n" + "\n".join(lines) + "\n")
    try:
        snippets = find_snippets(path)
    except PostError as err:
        assert err.line is None or err.line >= 1
        return
    for snippet in snippets:
        assert snippet.code.endswith("\n") and snippet.line >= 4


def test_json_output_is_highlighted_yet_stays_text_and_forged_markup_is_refused(tmp_path):
    site = make_site(tmp_path / "blog", {"2024-04-06-json.md": post("Json", """\
```python
import json
print(json.dumps({"tag": "<script>alert(1)</script>", "n": [1, 2]}))
```
""")})
    assert invoke(site, "build").returncode == 0
    page = next((site / "_site").rglob("json/index.html")).read_text()
    panel = page[page.index('class="snippet-output'):]
    assert '<span class="nt">"tag"</span>' in panel  # Pygments' JSON colours
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    data = site / "_data/snippets/2024-04-06-json.json"
    forged = data.read_text().replace('<span class=\\"p\\">{</span>', '<script>alert(2)</script>')
    assert forged != data.read_text()
    data.write_text(forged)
    page = next(subprocess_jekyll(site).rglob("json/index.html")).read_text()
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_post_kramdown_cannot_finish_is_named_not_waited_for(tmp_path, monkeypatch):
    """Some Markdown makes kramdown run away (hypothesis found one: 17 GB, still going after 16 minutes). Here
    kramdown is given no time at all, which is what such a post looks like: the run names the post and stops,
    and no Ruby is left running."""
    from snipcheck import markdown
    monkeypatch.setattr(markdown, "BATCH_SECONDS", 0.01)
    monkeypatch.setattr(markdown, "DOCUMENT_SECONDS", 0.01)
    path = tmp_path / "2024-01-01-runaway.md"
    path.write_text("---\ntitle: runaway\n---\n<div>\n\n```python\nprint(1)\n```\n")  # not simple: kramdown it is
    with pytest.raises(PostError) as raised:
        find_snippets(path)
    assert raised.value.path == path and "kramdown did not finish within 0.01 s" in str(raised.value)
    assert "Jekyll cannot render this post either" in str(raised.value)
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _runs_kramdown(p)]


def _runs_kramdown(pid: str) -> bool:
    try:
        return b"kramdown_html.rb" in open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False


ESCAPING_SNIPPETS = post("Escapes", '''```python
import sys
sys.stderr.write("\\x1b]52;c;b3duZWQ=\\x07 boom \\x1b[8mhidden\\n")
raise SystemExit(3)
```

```python
print("cleared")  # \x1b[2J written into the post itself
raise SystemExit(1)
```
''')


def test_escape_sequences_from_snippets_or_posts_are_shown_never_obeyed(tmp_path):
    # A terminal obeys escape sequences: a snippet's output or a post could retitle or clear the builder's
    # terminal, hide text, or set its clipboard (OSC 52). What we print shows them as text.
    site = make_site(tmp_path / "blog", {"2024-04-02-escapes.md": ESCAPING_SNIPPETS})
    done = invoke(site, "test-snippets", "--timeout", "10")
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert "\x1b" not in shown and "\x07" not in shown, shown
    assert "\\x1b]52;c;b3duZWQ=\\x07 boom \\x1b[8mhidden" in shown and "# \\x1b[2J written" in shown, shown
    (site / "_posts" / "2024-04-02-escapes.md").write_text(post("Bad", "<!-- snippet: sk\x1b[8mip -->\n" + GOOD_CODE))
    done = invoke(site, "test-snippets")
    assert done.returncode == 2 and "\x1b" not in done.stdout + done.stderr, done.stderr
    assert "_posts/2024-04-02-escapes.md:5: " in done.stderr, done.stderr
