"""In a real browser (issue 14, item 5): the dispute page shows where the dispute stands, the
current stage marked for assistive technology, and what happens next, naming who must act and by
when; on a phone the bar wraps and the page never scrolls sideways. Desktop and phone, English
and Simplified Chinese."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_login import login_user
from playwright.sync_api import expect

from odr import i18n
from odr.accounts.models import User
from odr.cases.models import Case
from odr.cases.performance import deadline_text
from odr.extensions import db
from tests.e2e.conftest import ARTIFACTS, translated
from tests.e2e.test_accessibility import violations
from tests.e2e.test_browser import log_in
from tests.factories import ApiClient, Dispute

MERCHANT = "Rheinland Electronics GmbH"
OFFER = {
    "amount": {"amount": "1299.50", "currency": "EUR"},
    "remedy": "refund",
    "terms": "The merchant refunds the price.",
}


def dispute_in(site, state: str, language: str, screen: str) -> Dispute:
    dispute = Dispute(
        site.app,
        ApiClient(site.app),
        claimant_language=language,
        respondent_email=f"shop-{state}-{language}-{screen}@progress.example",
    )
    if state == "settled":
        made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", OFFER)
        offer = made.get_json()["id"]
        path = f"/api/v1/disputes/{dispute.id}/offers/{offer}/accept"
        assert dispute.client("claimant").post(path).get_json()["state"] == "settled"
    return dispute


def deadline_as_read_by(site, dispute: Dispute, state: str) -> str:
    """The deadline as the page formats it for the claimant: the case's next deadline in their
    zone, or the performance date with the merchant's zone."""
    with site.app.app_context(), site.app.test_request_context():
        login_user(db.session.get(User, dispute.users["claimant"].id))
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute.id))
        if state == "settled":
            return deadline_text(case.performance_due, case.performance_zone)
        return i18n.format_time(case.deadline_at)


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize(
    ("state", "current"), [("negotiation", "Negotiation"), ("settled", "Settled")]
)
def test_the_page_shows_the_stage_and_who_must_do_what_by_when(
    site, open_screen, screen, language, state, current
):
    dispute = dispute_in(site, state, language, screen)
    page = open_screen(screen, language)
    log_in(page, dispute.users["claimant"].email)
    page.goto(f"/disputes/{dispute.id}")
    expect(page.locator("html")).to_have_attribute("lang", language.replace("_", "-"))

    stages = page.locator("ol.stages > li")
    expect(stages).to_have_count(6)
    marked = page.locator('ol.stages > li[aria-current="step"]')
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text(translated(language, current))
    expect(marked).to_contain_text(translated(language, "Current stage"))
    expect(stages.first).to_contain_text(translated(language, "Done"))
    if state == "settled":  # settled in negotiation: no mediation, no arbitration
        for skipped in (2, 3):
            expect(stages.nth(skipped)).to_have_class("stage stage-skipped")
            expect(stages.nth(skipped)).to_contain_text(translated(language, "Skipped"))

    panel = page.locator("section.next-steps")
    expect(panel.locator("h2")).to_have_text(translated(language, "What happens next"))
    first = panel.locator("li").first
    expect(first).to_contain_text(MERCHANT)
    expect(first).to_contain_text(deadline_as_read_by(site, dispute, state))
    if state == "settled":
        expect(first).to_contain_text("Europe/Berlin")  # the zone of the date
    else:
        expect(first.locator(".then")).to_have_text(
            translated(language, "Otherwise, mediation starts by itself.")
        )

    # the panel sits near the top: before the actions and the offers
    order = page.evaluate(
        """() => [...document.querySelectorAll('main section')].map(s => s.className
              || s.getAttribute('aria-labelledby'))"""
    )
    assert order.index("next-steps") < order.index("offers-h")
    if screen == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        boxes = [stages.nth(n).bounding_box() for n in range(6)]
        assert all(box["x"] >= 0 and box["x"] + box["width"] <= 390 for box in boxes), boxes
        assert len({round(box["y"]) for box in boxes}) > 1  # the bar wrapped to rows
    ours = [
        v
        for v in violations(page)
        if any(name in target for target in v["targets"] for name in ("stage", "next-step"))
    ]
    assert ours == []
    page.screenshot(
        path=str(ARTIFACTS / f"progress-{state}-{screen}-{language}.png"), full_page=False
    )
