"""In a real browser: a partner agency's desk sets its password from the welcome mail, logs in to
the portal, accepts a referral and uploads its outcome with a PDF; the consumer's page then says
the dispute is resolved, with the agency's summary."""

from __future__ import annotations

import io

from playwright.sync_api import expect
from pypdf import PdfWriter

from odr.extensions import db
from odr.referrals.directory import add_partner
from tests.conftest import Mailbox
from tests.e2e.conftest import ARTIFACTS, Site, field, link_in_mail, translated
from tests.e2e.test_browser import log_in, state_label
from tests.factories import PASSWORD, ApiClient, lodge, make_user

DESK = "desk@schlichtung-online.example"
SUMMARY = "Settled at our hearing on 3 December: the merchant refunds 60.00 EUR."


def one_page_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_partner_accepts_and_reports_the_outcome_the_consumer_sees_it_resolved(
    site: Site, mailbox: Mailbox, open_page, tmp_path
):
    with site.app.app_context():
        add_partner(
            name="Schlichtung Online",
            countries=["DE"],
            languages=["de", "en"],
            webhook_url="https://schlichtung-online.example/hooks",
            legal_basis="GDPR art. 49(1)(a): the consumer's explicit consent",
            user_email=DESK,
        )
        db.session.remove()
    consumer = make_user(site.app, "consumer", email="wang.fang@example.cn", language="zh_Hans")
    claimant_api = ApiClient(site.app).as_user(consumer)
    dispute = lodge(claimant_api, law={"consumer_chose_merchant_law": True}, transfer_consent=True)
    assert dispute["state"] == "referred"

    desk = open_page()
    desk.goto(link_in_mail(mailbox, DESK, f"{site.url}/password/welcome"))
    field(desk, "new_password").fill(PASSWORD)
    field(desk, "confirm_password").fill(PASSWORD)
    desk.locator("main form button[type=submit]").click()
    log_in(desk, DESK)
    expect(desk.locator("main h1")).to_have_text(translated("en", "Referrals to your agency"))
    desk.locator("main table").get_by_role("link", name=dispute["reference"]).click()

    accept = desk.locator("form[action$='/accept']")
    field(accept, "partner_reference").fill("SO-2026-0042")
    accept.locator("button[type=submit]").click()
    expect(desk.locator(".flash.ok")).to_be_visible()
    expect(desk.locator("main .status")).to_contain_text("SO-2026-0042")

    decision = tmp_path / "decision.pdf"
    decision.write_bytes(one_page_pdf())
    outcome = desk.locator("form[action$='/outcome']")
    field(outcome, "outcome").select_option("settled")
    field(outcome, "summary").fill(SUMMARY)
    field(outcome, "amount.amount").fill("60.00")
    field(outcome, "amount.currency").select_option("EUR")
    field(outcome, "document").set_input_files(str(decision))
    outcome.locator("button[type=submit]").click()
    expect(desk.locator(".flash.ok")).to_be_visible()
    expect(desk.locator("main .status")).to_contain_text(
        translated("en", "Closed with your outcome")
    )

    page = open_page()
    log_in(page, consumer.email)
    page.goto(f"/disputes/{dispute['id']}")
    expect(state_label(page)).to_have_text(translated("zh_Hans", "Resolved"))
    expect(page.locator("section[aria-labelledby=timeline-h]")).to_contain_text(SUMMARY)
    expect(page.locator("section[aria-labelledby=referral-h]")).to_contain_text(
        "Schlichtung Online"
    )
    documents = page.locator("section[aria-labelledby=documents-h]")
    expect(documents).to_contain_text(translated("zh_Hans", "Partner agency's outcome"))
    ARTIFACTS.mkdir(exist_ok=True)
    desk.screenshot(path=str(ARTIFACTS / "partner-portal.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "partner-outcome-consumer.png"), full_page=True)
