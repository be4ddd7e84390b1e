"""Words, not codes: a partner reports progress in a fixed vocabulary that every page, notice, mail
and case file shows translated (an unknown code is refused naming `status`; one recorded before
the vocabulary reads "In progress" and keeps its code in the event); mediators and arbitrators are
called so, never "neutral"; times read to the minute, in the reader's zone."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from odr.accounts.models import User
from odr.cases.events import append_event
from odr.cases.firing import lock_case
from odr.db import write_transaction
from odr.delivery.models import OutboxMessage
from odr.delivery.services import render_mail
from odr.extensions import db
from odr.referrals.progress import PROGRESS_CODES, PROGRESS_LABELS
from tests.factories import Dispute, make_neutral, make_user
from tests.referrals.agency import GERMAN_LAW, Agency
from tests.referrals.test_partner_reports import mails
from tests.referrals.test_portal import desk_of

DOCS = Path(__file__).resolve().parents[2] / "docs"
TIMELINE = re.compile(r'<ol class="timeline">(.*?)</ol>', re.S)


@pytest.fixture
def agency(app) -> Agency:
    return Agency(app, "Schlichtung Online")


@pytest.fixture
def referred(app, api, agency) -> Dispute:
    """With the agency, which accepted it; the consumer reads Simplified Chinese, the merchant
    English."""
    dispute = Dispute(app, api, claimant_language="zh_Hans", law=GERMAN_LAW, transfer_consent=True)
    dispute.referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    accepted = agency.post(
        f"/api/v1/referrals/{dispute.referral}/accept", {"partner_reference": "SO-2026-4411"}
    )
    assert accepted.status_code == 200, accepted.get_json()
    return dispute


def label(app, locale: str, code: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(PROGRESS_LABELS[code])


def updates(dispute: Dispute) -> str:
    return f"/api/v1/referrals/{dispute.referral}/updates"


def page(make_web, user, path: str) -> str:
    web = make_web()
    web.login(user.email)
    response = web.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def shown_progress(html: str) -> list[str]:
    [timeline] = TIMELINE.findall(html)
    return [
        unescape(text)
        for text in re.findall(r'<span class="progress-status">([^<]*)</span>', timeline)
    ]


def merchant(app) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "shop@merchant.example"))
        db.session.expunge(user)
    return user


# ---- the vocabulary --------------------------------------------------------------------------


def test_each_code_reaches_the_parties_as_its_label_in_their_language(
    app, agency, referred, make_web
):
    for code in PROGRESS_CODES:
        answer = agency.post(updates(referred), {"status": code})
        assert answer.status_code == 200, (code, answer.get_json())

    consumer = page(make_web, referred.users["claimant"], f"/disputes/{referred.id}")  # 简体中文
    shop = page(make_web, merchant(app), f"/disputes/{referred.id}")  # English
    for html, locale in ((consumer, "zh_Hans"), (shop, "en")):
        expected = [label(app, locale, code) for code in reversed(PROGRESS_CODES)]  # newest first
        assert shown_progress(html) == expected, locale
        [timeline] = TIMELINE.findall(html)
        assert "<code>" not in timeline
        assert not set(PROGRESS_CODES) & set(re.findall(r"[a-z_]+", timeline)), locale
    assert "Hearing scheduled" in shown_progress(shop)


def test_the_notice_and_the_mail_give_the_label_not_the_code(app, agency, referred, make_web):
    agency.post(updates(referred), {"status": "contacted_merchant", "note": "Called on Monday."})
    told = mails(app, "partner_update")
    claimant = referred.users["claimant"]
    for to, locale in ((claimant.email, "zh_Hans"), ("shop@merchant.example", "en")):
        mail = told[to]
        for part in (mail["text"], mail["html"]):
            assert (
                label(app, locale, "contacted_merchant") in part
                and "contacted_merchant" not in part
            )
    notices = page(make_web, claimant, "/notices")
    assert label(app, "zh_Hans", "contacted_merchant") in notices
    assert "contacted_merchant" not in notices


@pytest.mark.parametrize("status", ["hearing_adjourned", "Hearing scheduled!", "", None, 7])
def test_a_code_outside_the_vocabulary_is_refused_naming_status(app, agency, referred, status):
    answer = agency.post(updates(referred), {"status": status})
    assert answer.status_code == 422
    assert list(answer.get_json()["errors"]) == ["status"]
    assert "report_progress" not in referred.kinds()


def test_the_portal_offers_the_vocabulary_as_labels_and_refuses_anything_else(
    app, agency, referred, make_web
):
    desk = make_web()
    desk.login(desk_of(app, "Schlichtung Online"))
    path = f"/partner/referrals/{referred.referral}"
    html = desk.get(path).get_data(as_text=True)
    [select] = re.findall(r'<select id="status" name="status".*?</select>', html, re.S)
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select)
    assert options == [(code, label(app, "en", code)) for code in PROGRESS_CODES]
    assert re.search(r'<label for="status">[^<]+</label>', html)

    refused = desk.post(f"{path}/updates", {"status": "hearing_adjourned"})
    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    assert 'id="status-error"' in shown and 'aria-invalid="true"' in shown
    assert "report_progress" not in referred.kinds()

    sent = desk.post(f"{path}/updates", {"status": "awaiting_party", "note": "Waiting for you."})
    assert sent.status_code == 303
    [event] = [e for e in referred.events() if e["kind"] == "report_progress"]
    assert event["data"]["status"] == "awaiting_party"


def test_a_code_recorded_before_the_vocabulary_reads_in_progress_and_stays_in_the_event(
    app, agency, referred, make_web
):
    with app.app_context(), write_transaction(db.session):
        case = lock_case(referred.case().id)
        append_event(
            case,
            kind="report_progress",
            actor=None,
            role="partner",
            data={"referral": referred.referral, "status": "hearing_adjourned"},
        )
    [event] = [e for e in referred.events() if e["kind"] == "report_progress"]
    assert event["data"]["status"] == "hearing_adjourned"  # the chain is never rewritten
    consumer = page(make_web, referred.users["claimant"], f"/disputes/{referred.id}")
    assert shown_progress(consumer) == [label(app, "zh_Hans", "in_progress")]
    assert "hearing_adjourned" not in consumer


def test_the_contract_lists_every_code(api):
    spec = api.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/referrals/{referral_id}/updates"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["properties"]["status"]["enum"] == list(PROGRESS_CODES)
    for doc in ("api.md", "partners.md"):
        text = (DOCS / doc).read_text(encoding="utf-8")
        assert [code for code in PROGRESS_CODES if f"| `{code}` |" not in text] == [], doc


# ---- mediators and arbitrators, not "neutrals" -----------------------------------------------


class _Readable(HTMLParser):
    """What a person reads or hears of a page: its text and the attributes read out."""

    SPOKEN = {"aria-label", "title", "placeholder", "alt", "aria-description"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(value or "" for name, value in attrs if name in self.SPOKEN)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def readable(html: str) -> str:
    parser = _Readable()
    parser.feed(html)
    return " ".join(parser.parts)


def all_mails(app) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "mail"))
        rendered = [render_mail(row.payload) for row in rows]
    return [f"{m['subject']}\n{m['text']}\n{readable(m['html'])}" for m in rendered]


def set_language(app, users, language: str) -> None:
    with app.app_context(), write_transaction(db.session):
        for user in users:
            db.session.get(User, user.id).language = language


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_nobody_reads_neutral_in_a_mediation_or_an_arbitration(app, api, make_web, language):
    mediator = make_neutral(app, "mediator", ["en", "zh_Hans"])
    arbitrator = make_neutral(app, "arbitrator", ["en", "zh_Hans"])
    manager = make_user(app, "case_manager")
    mediation = Dispute(app, api, claimant_language=language)
    mediation.to_mediation()
    arbitration = Dispute(
        app, api, claimant_language=language, arbitration_consent=True,
        respondent_email="second@shop.example",
    )  # fmt: skip
    arbitration.to_mediation()
    arbitration.must("respondent", "consent_to_arbitration")
    arbitration.must(mediator, "escalate", reason="no agreement")
    assert (mediation.state, arbitration.state) == ("mediation", "arbitration")
    people = [
        *mediation.users.values(), arbitration.users["respondent"], mediator, arbitrator, manager
    ]  # fmt: skip
    set_language(app, people, language)

    seen = {}
    for dispute in (mediation, arbitration):
        for who in (*dispute.users.values(), mediator, arbitrator, manager):
            for path in (f"/disputes/{dispute.id}", "/disputes", "/notices"):
                web = make_web()
                web.login(who.email)
                response = web.get(path)
                if response.status_code == 200:
                    seen[f"{who.role} {path}"] = readable(response.get_data(as_text=True))
    for who, path in ((mediator, "/workspace"), (arbitrator, "/workspace"), (manager, "/desk")):
        seen[f"{who.role} {path}"] = readable(page(make_web, who, path))
    seen.update({f"mail {n}": text for n, text in enumerate(all_mails(app))})

    assert len(seen) > 20
    jargon = {name: text for name, text in seen.items() if re.search(r"(?i)neutral|中立", text)}
    assert jargon == {}, {
        name: re.findall(r"(?i).{40}neutral.{40}", t) for name, t in jargon.items()
    }
    # The case manager's reassignment names the role of the stage.
    with app.test_request_context(), force_locale(language):
        from flask_babel import gettext

        for dispute, role in ((mediation, "New mediator"), (arbitration, "New arbitrator")):
            assert gettext(role) in seen[f"case_manager /disputes/{dispute.id}"]


# ---- times -------------------------------------------------------------------------------------


def test_times_on_the_page_are_to_the_minute_in_the_readers_zone(app, api, make_web):
    dispute = Dispute(app, api, claimant_language="zh_Hans")
    claimant = dispute.users["claimant"]
    with app.app_context(), write_transaction(db.session):
        db.session.get(User, claimant.id).timezone = "Asia/Shanghai"
    lodged = dispute.events()[0]
    at = datetime.fromisoformat(lodged["at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    html = page(make_web, claimant, f"/disputes/{dispute.id}")
    shown = re.search(rf'<time datetime="{re.escape(lodged["at"])}[^"]*">([^<]+)</time>', html)
    assert shown, lodged["at"]
    assert shown.group(1) == f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"

    shop = merchant(app)
    with app.app_context(), write_transaction(db.session):
        db.session.get(User, shop.id).timezone = "Europe/Berlin"
    at = datetime.fromisoformat(lodged["at"]).astimezone(ZoneInfo("Europe/Berlin"))
    html = page(make_web, shop, f"/disputes/{dispute.id}")
    shown = re.search(rf'<time datetime="{re.escape(lodged["at"])}[^"]*">([^<]+)</time>', html)
    assert shown.group(1) == f"{at:%b} {at.day}, {at.year}, {at:%H:%M}"
