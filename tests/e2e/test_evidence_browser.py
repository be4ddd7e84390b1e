"""In a real browser, on a desktop and a phone, in English and Simplified Chinese: a party picks
an iPhone photo (HEIC) and a PDF at once, gives each its own caption, and sees both in the
evidence table with their captions and the photo's thumbnail, which Chromium (that cannot show
HEIC) draws; a file the server refuses is named with its reason next to the file control."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.cases.test_evidence import pdf
from tests.cases.test_evidence_media import heic, mp4
from tests.e2e.conftest import ARTIFACTS, translated
from tests.e2e.test_accessibility import violations
from tests.e2e.test_browser import log_in
from tests.factories import ApiClient, lodge, make_user

PHOTO_CAPTION = "屏幕碎了 — the cracked screen, as it arrived"
RECEIPT_CAPTION = "The shop's receipt"
LOADED = "(img) => img.complete && img.naturalWidth > 0"


def _open_dispute(site, open_screen, screen: str, language: str, serial: str) -> Page:
    consumer = make_user(site.app, "consumer", name="王小明", language=language)
    dispute = lodge(
        ApiClient(site.app).as_user(consumer), respondent_email=f"shop-{serial}@evidence.example"
    )
    page = open_screen(screen, language)
    log_in(page, consumer.email)
    page.goto(f"/disputes/{dispute['id']}#evidence-h")
    return page


def _files(tmp_path, files: dict[str, bytes]) -> list[str]:
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_photo_and_a_pdf_at_once_each_with_its_caption_and_the_photo_thumbnailed(
    site, open_screen, tmp_path, screen, language
):
    def t(message: str) -> str:
        return translated(language, message)

    page = _open_dispute(site, open_screen, screen, language, f"both-{screen}-{language}")
    form = page.locator("form.evidence-form")
    shared = form.locator("#evidence-caption")
    expect(shared).to_be_visible()  # one caption for all, until files are chosen
    form.locator("#evidence-file").set_input_files(
        _files(tmp_path, {"IMG_0042.HEIC": heic(1600, 1200), "receipt.pdf": pdf()})
    )
    expect(shared).to_be_hidden()
    first = form.get_by_label(t("Caption for %(name)s") % {"name": "IMG_0042.HEIC"})
    second = form.get_by_label(t("Caption for %(name)s") % {"name": "receipt.pdf"})
    first.fill(PHOTO_CAPTION)
    second.fill(RECEIPT_CAPTION)
    form.get_by_role("button", name=t("Upload")).click()

    table = page.locator("table.evidence")
    photo = table.locator("tr", has_text="IMG_0042.HEIC")
    receipt = table.locator("tr", has_text="receipt.pdf")
    expect(photo.locator("td.evidence-caption")).to_have_text(PHOTO_CAPTION)
    expect(receipt.locator("td.evidence-caption")).to_have_text(RECEIPT_CAPTION)
    thumbnail = photo.locator("img.evidence-thumb")
    expect(thumbnail).to_have_attribute("alt", PHOTO_CAPTION)
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({LOADED})(document.querySelector('img.evidence-thumb'))")
    assert thumbnail.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [320, 240]
    assert receipt.locator("img").count() == 0
    expect(page.locator(".flash")).to_contain_text("IMG_0042.HEIC")
    box = thumbnail.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    section = page.locator("section[aria-labelledby=evidence-h]")
    section.screenshot(path=ARTIFACTS / f"evidence-{screen}-{language}.png")


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_a_refused_file_is_named_with_its_reason_next_to_the_control(
    site, open_screen, tmp_path, screen, language
):
    def t(message: str) -> str:
        return translated(language, message)

    page = _open_dispute(site, open_screen, screen, language, f"refused-{screen}-{language}")
    form = page.locator("form.evidence-form")
    form.locator("#evidence-file").set_input_files(
        _files(tmp_path, {"photo.heic": heic(), "clip.mp4": mp4(self_contained=False)})
    )
    form.get_by_role("button", name=t("Upload")).click()

    error = page.locator("#evidence-file-error")
    expect(error).to_be_visible()
    expect(error.locator("li")).to_have_count(1)
    expect(error.locator("li")).to_contain_text("clip.mp4")
    reason = t(
        "This video refers to other files or addresses instead of holding its own pictures, "
        "which is not accepted. Export it again as one MP4 file and upload that."
    )
    expect(error.locator("li")).to_contain_text(reason)
    control = page.locator("#evidence-file")
    expect(control).to_have_attribute("aria-invalid", "true")
    assert "evidence-file-error" in control.get_attribute("aria-describedby")
    # the error sits right above the control it is about, and the good photo was added
    error_box, control_box = error.bounding_box(), control.bounding_box()
    assert (
        error_box
        and control_box
        and 0 <= control_box["y"] - error_box["y"] - error_box["height"] < 40
    )
    expect(page.locator("table.evidence tr", has_text="photo.heic")).to_have_count(1)
    expect(page.locator("table.evidence tr", has_text="clip.mp4")).to_have_count(0)
    assert violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    section = page.locator("section[aria-labelledby=evidence-h]")
    section.screenshot(path=ARTIFACTS / f"evidence-refused-{screen}-{language}.png")


def test_too_many_files_are_stopped_in_the_browser_before_sending(site, open_screen, tmp_path):
    page = _open_dispute(site, open_screen, "desktop", "en", "many")
    files = {f"note{n}.txt": f"note {n}\n".encode() for n in range(21)}
    control = page.locator("#evidence-file")
    control.set_input_files(_files(tmp_path, files))
    check = page.locator("#evidence-file-check")
    expect(check).to_have_text("Choose at most 20 files at a time.")
    url = page.url
    page.locator("form.evidence-form").get_by_role("button", name="Upload").click()
    expect(control).to_be_focused()
    assert page.url == url
    assert "evidence-file-check" in control.get_attribute("aria-describedby")
