"""A post page in a real Chromium: each code block with its verdict, its output and a working Copy button.

Pages come from one site built with the seed post and the posts in tests/site_posts/ (see browser.py).
"""

import re

import pytest
from playwright.sync_api import expect

SEED = "/2024/06/03/asyncio-beyond-the-basics/"
SEED_SNIPPETS = "snippets/2024-06-03-asyncio-beyond-the-basics"
MARKUP = "/2024/07/01/printing-markup/"
CONSOLE = "/2024/07/02/console-session/"
LONG_OUTPUT = "/2024/07/03/long-output/"
PLAIN_TEXT = "/2024/07/04/plain-text/"

PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
CLIPBOARD = ["clipboard-read", "clipboard-write"]
LOCK_OUTPUT = [f"Task Task {n}: {step} lock" for n in range(3) for step in ("acquiring", "releasing")]


def lock_example(page):
    """The seed post's asyncio.Lock code block, and the element that follows it."""
    code = page.locator("figure.highlight", has_text="asyncio.Lock()")
    return code, code.locator("xpath=following-sibling::*[1]")


def luminance(css_colour: str) -> float:
    """WCAG relative luminance of an `rgb(r, g, b)` colour: 0 is black, 1 is white."""
    channels = [int(c) / 255 for c in re.findall(r"\d+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_seed_post_fits_the_screen_without_errors_or_requests_elsewhere(visit, viewport, tmp_path):
    seen = visit(SEED, viewport=viewport)
    shot = tmp_path / f"seed-post-{viewport['width']}x{viewport['height']}.png"
    seen.page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 0
    widths = seen.page.evaluate("({page: document.documentElement.scrollWidth, window: innerWidth})")
    assert widths["page"] <= widths["window"], f"horizontal scroll at {viewport}: {widths} (see {shot})"
    assert seen.errors == []
    assert any(url.endswith("/assets/js/copy.js") for url in seen.requests)  # requests are being recorded
    assert seen.foreign_requests() == []


def test_lock_example_shows_what_it_printed_right_under_the_code(visit):
    code, panel = lock_example(visit(SEED).page)
    expect(panel).to_have_class("snippet-check")
    expect(panel).to_have_attribute("data-status", "verified")
    expect(panel.locator("p.snippet-mark")).to_have_text(
        re.compile(r"^Verified with Python 3\.\d+\.\d+ on \d{4}-\d\d-\d\d(?: \(run without the jail\))?$"))
    output = panel.locator("pre.snippet-output > samp")
    expect(output).to_be_visible()
    assert output.inner_text().splitlines() == LOCK_OUTPUT
    code_box, output_box = code.bounding_box(), output.bounding_box()
    assert output_box["y"] >= code_box["y"] + code_box["height"] - 1  # below the code, not beside or over it


def test_download_link_serves_the_code_the_page_shows(visit):
    page = visit(SEED).page
    code, panel = lock_example(page)
    link = panel.locator("a.snippet-download")
    expect(link).to_have_attribute("download", "")
    expect(link).to_have_attribute("href", f"/{SEED_SNIPPETS}/01.py")
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.text().rstrip("\n") == code.locator("td.code pre").inner_text().rstrip("\n")


def test_copy_button_copies_exactly_the_code_without_line_numbers(visit, built_site):
    page = visit(SEED, permissions=CLIPBOARD).page
    code, _ = lock_example(page)
    expect(page.locator("button.copy-button")).to_have_count(page.locator("div.snippet-check").count())
    button = code.locator("button.copy-button")
    expect(button).to_have_text("Copy")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_text("Copied")
    expect(page.locator("p[role=status][aria-live=polite]")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == (built_site / SEED_SNIPPETS / "01.py").read_text(encoding="utf-8").rstrip("\n")
    gutter = code.locator("td.gutter")
    assert gutter.inner_text().split()[:3] == ["1", "2", "3"]
    assert copied.startswith("import asyncio\n")
    assert gutter.evaluate("cell => getComputedStyle(cell).userSelect") == "none"


def test_copying_a_console_session_copies_only_the_input(visit):
    page = visit(CONSOLE, permissions=CLIPBOARD).page
    block = page.locator(".code-block", has=page.locator("code.language-pycon"))
    expect(block).to_contain_text(">>> 1 + 1")
    block.locator("button.copy-button").focus()
    page.keyboard.press("Enter")
    expect(block.locator("button.copy-button")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert ">>>" not in copied
    assert copied == "1 + 1"  # and not the "2" it printed


def test_dark_mode_has_a_dark_background(visit):
    def background(scheme):
        page = visit(SEED, color_scheme=scheme).page
        return page.locator("body").evaluate("body => getComputedStyle(body).backgroundColor")

    light, dark = background("light"), background("dark")
    assert dark != light
    assert luminance(dark) < 0.05, dark
    assert luminance(light) > 0.8, light


def test_without_javascript_the_panels_are_there_but_no_copy_button(visit):
    page = visit(SEED, java_script_enabled=False).page
    expect(page.locator("button.copy-button")).to_have_count(0)
    _, panel = lock_example(page)
    expect(panel.locator("p.snippet-mark")).to_be_visible()
    expect(panel.locator("pre.snippet-output > samp")).to_be_visible()
    expect(panel.locator("a.snippet-download")).to_be_visible()


def test_printed_markup_is_shown_as_text(visit):
    seen = visit(MARKUP)
    panel = seen.page.locator("div.snippet-check")
    expect(panel).to_have_attribute("data-status", "verified")
    expect(panel.locator("pre.snippet-output > samp")).to_have_text("<script>alert(1)</script><b>bold</b>")
    expect(panel.locator("b")).to_have_count(0)
    expect(panel.locator("script")).to_have_count(0)
    assert seen.dialogs == []


def test_long_output_is_folded_until_the_reader_opens_it(visit):
    page = visit(LONG_OUTPUT).page
    more = page.locator("div.snippet-check > details.snippet-more")
    expect(more.locator("summary")).to_have_text("Output (20 lines)")
    output = more.locator("pre.snippet-output > samp")
    expect(output).to_be_hidden()
    more.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(output).to_be_visible()
    assert output.inner_text().splitlines() == [f"line {n}" for n in range(1, 21)]


def test_plain_text_is_shown_and_marked_not_verified(visit):
    page = visit(PLAIN_TEXT).page
    expect(page.locator("div.highlighter-rouge")).to_have_text(re.compile("This is just text, not a program."))
    panel = page.locator("div.snippet-check")
    expect(panel).to_have_attribute("data-status", "unverified")
    expect(panel.locator("p.snippet-mark")).to_have_text(re.compile(r"^Not verified"))
    expect(panel.locator(".snippet-output")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_lock_example_shows_its_timeline_even_on_a_small_phone(visit, scheme):
    seen = visit(SEED, viewport={"width": 320, "height": 700}, color_scheme=scheme)
    _, panel = lock_example(seen.page)
    figure = panel.locator("figure.snippet-timeline img")
    expect(figure).to_be_visible()
    alt = figure.get_attribute("alt")
    assert "holding lock" in alt and alt.count("waited") >= 3, alt  # three tasks, each waiting its turn
    figure.scroll_into_view_if_needed()  # it loads lazily
    seen.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
    assert figure.evaluate("img => img.getBoundingClientRect().width <= innerWidth")
    panel.locator(".snippet-timeline summary").click()
    expect(panel.locator(".snippet-timeline table")).to_contain_text("holding lock")
    widths = seen.page.evaluate("({page: document.documentElement.scrollWidth, window: innerWidth})")
    assert widths["page"] <= widths["window"], widths
