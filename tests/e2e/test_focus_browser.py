"""In a real browser: wherever the keyboard's focus lands on a dispute's page, the focus ring
stands out from what is around it by at least 3:1 (WCAG 2.2, 1.4.11 and 2.4.13)."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import log_in
from tests.factories import ApiClient, lodge, make_user

# For the focused element: its outline colour, and the first opaque background behind it.
FOCUS_COLOURS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  let node = el.parentElement, behind = 'rgb(255, 255, 255)';
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && !bg.endsWith(', 0)') && bg !== 'transparent') { behind = bg; break; }
    node = node.parentElement;
  }
  return {tag: el.tagName, text: (el.innerText || el.name || '').slice(0, 40),
          style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          ring: style.outlineColor, behind: behind};
}"""


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_of_a_known_pair():
    assert round(contrast("rgb(255, 191, 71)", "rgb(255, 255, 255)"), 1) == 1.6  # the old amber
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)


DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_focus_ring_on_the_dispute_page_has_three_to_one_contrast(site, browser, viewport):
    consumer = make_user(site.app, "consumer")
    dispute = lodge(ApiClient(site.app).as_user(consumer), respondent_email="shop@focus.example")
    context = browser.new_context(base_url=site.url, viewport=viewport, locale="en-US")
    page = context.new_page()
    log_in(page, consumer.email)
    page.goto(f"/disputes/{dispute['id']}")

    seen = []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_COLOURS)
        if focused["tag"] == "BODY":
            break
        seen.append(focused)
    context.close()

    assert len(seen) > 10, seen  # the walk reached the page's controls
    weak = [
        (f["tag"], f["text"], f["style"], f["width"], round(contrast(f["ring"], f["behind"]), 2))
        for f in seen
        if f["style"] == "none" or f["width"] < 2 or contrast(f["ring"], f["behind"]) < 3
    ]
    assert weak == []
