"""In a real browser, on a desktop and a phone, in English and Simplified Chinese: a dead
verification link leads to a new one (or says there is nothing to do), and a PDF dropped on the
verification page is recognised as the document issued.

Accounts sign up through the app (the form itself is proven in test_signup_browser.py) in the
language of the browser, so every page of the journey is in that language.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from odr import clock
from tests.conftest import Mailbox, WebClient
from tests.e2e.conftest import SCREENS, Site, field, link_in_mail, translated
from tests.factories import ApiClient, lodge, make_user

PASSWORD = "lantern orchard seventeen kettles"
SCREEN_LANGUAGES = [
    ("desktop", "en"),
    ("desktop", "zh_Hans"),
    ("phone", "en"),
    ("phone", "zh_Hans"),
]
_people = count(1)


# ---- steps -------------------------------------------------------------------------------------


def signed_up(site: Site, mailbox: Mailbox, language: str) -> tuple[str, str]:
    """A new account, not yet confirmed, and the path of the link mailed to confirm it."""
    email = f"reader{next(_people)}@example.cn"
    web = WebClient(site.app)
    web.get("/signup")
    answer = web.post(
        "/signup",
        {
            "role": "consumer",
            "name": "李娜",
            "email": email,
            "country": "CN",
            "language": language,
            "timezone": "Asia/Shanghai",
            "password": PASSWORD,
            "terms": "yes",
        },
    )
    assert answer.status_code == 200, answer.status_code
    link = link_in_mail(mailbox, email, f"{site.url}/account/verify")
    return email, link.removeprefix(site.url)


def confirmed_by_its_link(site: Site, path: str) -> None:
    web = WebClient(site.app)
    web.get(path)
    assert web.post(path, {"password": PASSWORD}).status_code == 303


def log_in(page: Page, email: str) -> None:
    form = page.locator("main form.narrow")
    field(form, "email").fill(email)
    field(form, "password").fill(PASSWORD)
    form.locator("button[type=submit]").click()


def tampered(path: str) -> str:
    head, token = path.rsplit("/", 1)
    i = len(token) // 2
    return f"{head}/{token[:i]}{'b' if token[i] == 'a' else 'a'}{token[i + 1 :]}"


def heading(page: Page):
    return page.locator("main h1")


def issued_pdf(site: Site, tmp_path: Path) -> tuple[dict, Path]:
    """A settlement agreement issued and rendered for a new dispute, saved as a file."""
    claimant, merchant = make_user(site.app, "consumer"), make_user(site.app, "merchant")
    api = ApiClient(site.app)
    as_claimant, as_merchant = api.as_user(claimant), api.as_user(merchant)
    dispute = lodge(as_claimant, respondent_email=merchant.email)
    offer = as_merchant.post(
        f"/api/v1/disputes/{dispute['id']}/offers",
        {
            "amount": {"amount": "89.00", "currency": "EUR"},
            "remedy": "partial_refund",
            "terms": "The merchant refunds 89.00 EUR; the buyer keeps the speaker.",
            "performance_due": (clock.today() + timedelta(days=14)).isoformat(),
        },
    ).get_json()
    accepted = as_claimant.post(f"/api/v1/disputes/{dispute['id']}/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    [item] = as_claimant.get(f"/api/v1/disputes/{dispute['id']}/documents").get_json()["items"]
    assert item["status"] == "ready", item
    path = tmp_path / "agreement.pdf"
    path.write_bytes(as_claimant.get(item["url"]).data)
    return dispute, path


# ---- a dead verification link ------------------------------------------------------------------


@pytest.mark.parametrize(("screen", "language"), SCREEN_LANGUAGES)
def test_a_dead_verification_link_leads_to_a_new_one_after_log_in(
    site: Site, mailbox: Mailbox, open_screen, screen: str, language: str
):
    email, link = signed_up(site, mailbox, language)
    page = open_screen(screen, language)

    page.goto(tampered(link))

    expect(heading(page)).to_have_text(
        translated(language, "This link is not valid. Check that you copied all of it.")
    )
    expect(page.locator("main a[href$='/password/forgot']")).to_have_count(0)
    page.get_by_role(
        "link", name=translated(language, "Log in to send a new verification mail")
    ).click()
    log_in(page, email)
    expect(heading(page)).to_have_text(translated(language, "Confirm your e-mail address first"))
    page.locator("main form[action$='/account/verify/resend']:not(.inline) button").click()
    expect(page.locator("main .flash.ok")).to_have_text(
        translated(language, "We have sent the link again. Please check your mail.")
    )
    assert len(mailbox.to(email)) == 2


@pytest.mark.parametrize(("screen", "language"), SCREEN_LANGUAGES)
def test_following_ones_own_used_verification_link_says_already_confirmed(
    site: Site, mailbox: Mailbox, open_screen, screen: str, language: str
):
    email, link = signed_up(site, mailbox, language)
    confirmed_by_its_link(site, link)
    page = open_screen(screen, language)
    page.goto("/login")
    log_in(page, email)

    answer = page.goto(link)

    assert answer.status == 200
    expect(heading(page)).to_have_text(
        translated(language, "Your e-mail address is already confirmed.")
    )
    expect(page.locator("main form[action$='/account/verify/resend']")).to_have_count(0)
    page.get_by_role("link", name=translated(language, "Go to your disputes")).click()
    expect(page).to_have_url(f"{site.url}/disputes")


# ---- checking a document by its file -----------------------------------------------------------


@pytest.mark.parametrize(("screen", "language"), SCREEN_LANGUAGES)
def test_an_issued_pdf_dropped_on_the_verification_page_is_recognised(
    site: Site, open_screen, tmp_path: Path, screen: str, language: str
):
    dispute, pdf = issued_pdf(site, tmp_path)
    page = open_screen(screen, language)
    page.goto("/verify")

    page.get_by_label(translated(language, "The PDF file of the document")).set_input_files(pdf)
    with page.expect_request(lambda r: r.method == "POST") as sent:
        page.get_by_role("button", name=translated(language, "Check the file")).click()

    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text(translated(language, "Issued by this service."))
    expect(verdict).to_contain_text(dispute["reference"])
    # Only the fingerprint went: the form's text fields, the file's SHA-256 among them.
    body = sent.value.post_data_buffer
    assert body is not None, "a file part was sent"
    assert hashlib.sha256(pdf.read_bytes()).hexdigest().encode() in body
    assert b"%PDF" not in body


def test_without_javascript_the_server_hashes_the_uploaded_file(
    site: Site, browser, tmp_path: Path
):
    dispute, pdf = issued_pdf(site, tmp_path)
    context = browser.new_context(
        base_url=site.url, locale="en-US", java_script_enabled=False, **SCREENS["phone"]
    )
    try:
        page = context.new_page()
        page.goto("/verify")
        page.get_by_label("The PDF file of the document").set_input_files(pdf)
        page.get_by_role("button", name="Check the file").click()

        verdict = page.locator("#verdict")
        expect(verdict).to_contain_text("Issued by this service.")
        expect(verdict).to_contain_text(dispute["reference"])
        expect(verdict).to_contain_text(hashlib.sha256(pdf.read_bytes()).hexdigest())
    finally:
        context.close()
