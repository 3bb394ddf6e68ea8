"""Posts written the way people write them (`tests/notebook_posts/`): blocks that build on earlier blocks, `>>>`
sessions labelled python, IPython cells, shell transcripts, pasted output, errors shown on purpose, excerpts,
packages nobody declared. Each block gets the result a careful reader would give it."""

import json
import re
from pathlib import Path

import pytest

from sites import invoke, make_site

POSTS = Path(__file__).with_name("notebook_posts")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("notebook") / "blog",
                     {p.name: p.read_text(encoding="utf-8") for p in sorted(POSTS.glob("*.md"))})
    done = invoke(site, "test-snippets", "--timeout", "20")
    report = json.loads((site / "reports" / "snippets.json").read_text())
    entries = {(e["post"].split("/")[-1][11:-3], e["index"]): e for e in report["snippets"]}
    return site, done, entries, report


def test_a_block_runs_after_exactly_the_blocks_it_needs(run):
    _, _, entries, _ = run
    assert [entries[("a-class-then-its-uses", i)]["after"] for i in (1, 2, 3, 5)] == [None, [1], [1, 2], None]
    uses = entries[("a-class-then-its-uses", 3)]
    assert uses["status"] == "verified" and uses["output"] == "Point(x=2, y=4)\n"


def test_future_flags_carry_over_and_a_failure_is_reported_once(run):
    _, done, entries, _ = run
    carried = entries[("sessions-carry-over", 2)]
    assert carried["status"] == "verified" and carried["after"] == [1], carried
    assert carried["output"] == "{'shape': 'Shape', 'by': 'Factor', 'return': 'Shape'}\n"
    failed, needing = entries[("sessions-carry-over", 3)], entries[("sessions-carry-over", 4)]
    assert failed["status"] == "failed" and failed["reason"] == "KeyError: 'b'"
    assert needing["status"] == "unverified" and needing["reason"] == "needs block 03 (line 29), which failed: KeyError: 'b'"
    assert re.search(r"carry-over\.md::04\.py:\d+ SHOWN, NOT VERIFIED", done.stdout)  # not failed a second time


def test_output_shown_after_a_program_is_checked_against_what_it_printed(run):
    _, _, entries, _ = run
    shown = entries[("a-class-then-its-uses", 4)]
    assert shown["status"] == "verified" and shown["output_of"] == 3 and shown["checker"] == "the output of 03.py"


def test_the_download_of_a_block_that_needs_others_runs_as_it_is(run, tmp_path):
    import subprocess
    import sys
    site, _, _, _ = run
    download = site / "snippets" / "2024-10-01-a-class-then-its-uses" / "03.py"
    text = download.read_text()
    assert "# --- block 01 of the post (line 9), which this one needs ---" in text
    done = subprocess.run([sys.executable, str(download)], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout == "Point(x=2, y=4)\n", done.stderr


def test_sessions_are_run_whatever_their_label(run):
    _, _, entries, _ = run
    repl, ipython, shell = (entries[("sessions", i)] for i in (2, 3, 4))
    assert (repl["kind"], repl["status"], repl["after"]) == ("pycon", "verified", [1])
    assert "labelled python, but it is a >>> session" in repl["note"]
    assert (ipython["kind"], ipython["status"]) == ("ipython", "verified")
    assert (shell["kind"], shell["status"]) == ("console", "verified")


def test_pasted_output_is_shown_not_verified_and_never_a_failure(run):
    _, _, entries, _ = run
    for index, what in ((1, "log output"), (2, "pip output"), (3, "a traceback")):
        entry = entries[("pasted-things", index)]
        assert (entry["kind"], entry["status"]) == ("output", "unverified") and what in entry["reason"], entry


def test_an_error_the_text_says_is_raised_is_verified_and_disclosed(run):
    _, _, entries, _ = run
    entry = entries[("shown-on-purpose", 2)]
    assert entry["status"] == "verified" and entry["note"] == "raises ZeroDivisionError, as the post says", entry


def test_excerpts_and_pseudo_code_are_not_verified_and_say_why(run):
    _, _, entries, _ = run
    excerpt, pseudo = entries[("excerpts", 1)], entries[("excerpts", 2)]
    assert excerpt["status"] == "unverified" and "uses `client`, which no block of this post defines" in \
        excerpt["reason"]
    assert pseudo["status"] == "unverified" and pseudo["reason"].startswith("pseudo-code")


def test_an_undeclared_package_is_named_once_for_the_site_and_a_typo_is_a_failure(run):
    _, done, entries, report = run
    needs, after, typo = (entries[("needs-a-package", i)] for i in (1, 2, 3))
    assert needs["status"] == "unverified" and needs["packages"] == ["humanize"]
    assert after["status"] == "unverified" and after["reason"].startswith("needs block 01 (line 7), which needs package")
    assert typo["status"] == "failed" and "a typo of the standard library's `functools`" in typo["reason"]
    hint = "add to _config.yml:  snippets: {requirements: [humanize]}"
    assert done.stdout.count(hint) == 1 and any(hint in w for w in report["warnings"])


def test_output_that_varies_between_runs_is_reported_then_no_longer_recorded(run):
    site, _, entries, _ = run
    recorded = site / "snippets" / "2024-10-04-shown-on-purpose" / "03.out"
    assert entries[("shown-on-purpose", 3)]["status"] == "verified" and recorded.exists()  # the first run's
    for _ in range(2):  # it differs from the recording, and again from itself: it varies
        again = invoke(site, "test-snippets", "--post", "_posts/2024-10-04-shown-on-purpose.md")
        assert again.returncode == 0 and "3 verified" in again.stdout, again.stdout[-2000:]
        entry = next(e for e in json.loads((site / "reports" / "snippets.json").read_text())["snippets"]
                     if e["post"].endswith("shown-on-purpose.md") and e["index"] == 3)
        assert entry["note"].startswith("prints something different each run") and not recorded.exists()


def test_declaring_the_package_installs_it_and_verifies_the_blocks(run):  # last: it changes the site
    site, _, _, _ = run
    config = site / "_config.yml"
    config.write_text(config.read_text() + "\nsnippets:\n  requirements: [humanize]\n")
    done = invoke(site, "test-snippets", "--post", "_posts/2024-10-06-needs-a-package.md")
    assert "2 verified, 1 failed" in done.stdout, done.stdout[-3000:]
    download = (site / "snippets" / "2024-10-06-needs-a-package" / "01.py").read_text()
    assert download.startswith("# /// script\n") and '"humanize"' in download
