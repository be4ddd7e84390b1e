"""In a real browser, on a desktop and a phone, in English and Simplified Chinese: the consumer's
dispute page shows a partner agency's progress as words in the page's language, never its code,
and every time on the timeline to the minute, in the consumer's own zone."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from odr.accounts.models import User
from odr.db import write_transaction
from odr.extensions import db
from odr.referrals.progress import PROGRESS_CODES, PROGRESS_LABELS
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser import log_in
from tests.factories import ApiClient, Dispute
from tests.referrals.agency import GERMAN_LAW, Agency

ZONE = "Asia/Shanghai"
SECONDS = re.compile(r"\d:\d{2}:\d{2}")


def label(app, language: str, code: str) -> str:
    with app.test_request_context(), force_locale(language):
        return str(PROGRESS_LABELS[code])


def expected_time(iso: str, language: str) -> str:
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))
    if language == "en":
        return f"{at:%b} {at.day}, {at.year}, {at:%H:%M}"
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_timeline_shows_progress_in_words_and_times_to_the_minute(
    site, open_screen, screen, language
):
    app = site.app
    agency = Agency(app, f"Stelle {screen} {language.replace('_', ' ')}")
    dispute = Dispute(
        app, ApiClient(app), claimant_language=language, law=GERMAN_LAW, transfer_consent=True,
        respondent_email=f"shop-{screen}-{language.lower()}@words.example",
    )  # fmt: skip
    claimant = dispute.users["claimant"]
    with app.app_context(), write_transaction(db.session):
        db.session.get(User, claimant.id).timezone = ZONE
    [referral] = [
        item["id"]
        for item in agency.get("/api/v1/referrals").get_json()["items"]
        if item["status"] == "pending"
    ]
    assert agency.post(
        f"/api/v1/referrals/{referral}/accept", {"partner_reference": "W-1"}
    ).status_code == 200  # fmt: skip
    for code in ("contacted_merchant", "hearing_scheduled"):
        answer = agency.post(f"/api/v1/referrals/{referral}/updates", {"status": code})
        assert answer.status_code == 200, answer.get_json()
    events = dispute.events()

    page = open_screen(screen, language)
    log_in(page, claimant.email)
    page.goto(f"/disputes/{dispute.id}")
    expect(page.locator("html")).to_have_attribute("lang", language.replace("_", "-"))

    timeline = page.locator("ol.timeline")
    shown = timeline.locator(".progress-status")
    expect(shown).to_have_text(
        [label(app, language, "hearing_scheduled"), label(app, language, "contacted_merchant")]
    )
    expect(shown.first).to_be_visible()
    text = timeline.inner_text()
    assert not [code for code in PROGRESS_CODES if code in text]
    assert timeline.locator("code").count() == 0

    times = timeline.locator("time")
    assert times.count() == len([e for e in events if e["kind"] not in ("post_message",)])
    for index in range(times.count()):
        moment = times.nth(index)
        written = moment.inner_text()
        assert not SECONDS.search(written), written
        assert written == expected_time(moment.get_attribute("datetime"), language)

    item = timeline.locator("li", has=page.locator(".progress-status")).first
    item.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    item.screenshot(path=str(ARTIFACTS / f"partner-progress-{screen}-{language}.png"))
