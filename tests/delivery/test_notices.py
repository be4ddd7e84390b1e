"""Notices in the app: left for the same events that send e-mail, listed unread first, counted in
the header, marked read by their owner only, and worded in the reader's language."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.support import Translations

from odr import clock
from odr.delivery.models import Notice
from odr.extensions import db
from odr.sweep import sweep
from tests.factories import lodge, make_user
from tests.factories import notice_kinds as kinds

SHOP = "shop@merchant.example"
OFFER = {"amount": {"amount": "60.00", "currency": "EUR"}, "remedy": "partial_refund", "terms": "t"}
LOCALES = Path(__file__).resolve().parents[2] / "locales"
FLAGGED = {"claim__amount": {"amount": "500.00", "currency": "EUR"}}  # above the order total


# ---- helpers ------------------------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def notice_ids(app, user) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Notice.id).where(Notice.user_id == user.id).order_by(Notice.id)
            )
        )


def is_unread(app, notice_id: int) -> bool:
    with app.app_context():
        return db.session.get(Notice, notice_id).read_at is None


def badge(response) -> int:
    """The unread count shown in the header; 0 when no badge is shown."""
    found = re.search(
        r'<span class="badge"[^>]*>\s*(\d+)\s*</span>', response.get_data(as_text=True)
    )
    return int(found.group(1)) if found else 0


def listed(response) -> list[tuple[bool, str]]:
    """(unread?, text) of each notice on /notices, in the order shown."""
    items = re.findall(
        r'<li class="notice( unread)?">(.*?)</li>', response.get_data(as_text=True), re.DOTALL
    )
    return [
        (bool(unread), " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()))
        for unread, body in items
    ]


def logged_in(make_web, user):
    web = make_web()
    web.login(user.email)
    return web


def sweep_at(app, moment) -> None:
    with app.app_context(), clock.travel_to(moment):
        sweep()
        db.session.remove()


@pytest.fixture
def parties(app, api):
    """A consumer, the merchant named in the dispute, its staff member, and a stranger."""
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email=SHOP)
    return {
        "consumer": consumer,
        "merchant": merchant,
        "staff": make_user(app, "merchant", merchant_id=merchant.id),
        "stranger": make_user(app, "merchant"),
        "claimant_api": api.as_user(consumer),
        "respondent_api": api.as_user(merchant),
    }


# ---- which events leave notices, and for whom ---------------------------------------------------


def test_lodging_leaves_a_notice_for_every_respondent_account_including_staff(
    app, make_web, mailbox, parties
):
    dispute = lodge(parties["claimant_api"], respondent_email=SHOP)

    assert kinds(app, parties["merchant"]) == ["dispute_lodged"]
    assert kinds(app, parties["staff"]) == ["dispute_lodged"]
    assert kinds(app, parties["consumer"]) == []
    assert kinds(app, parties["stranger"]) == []
    assert [dispute["reference"] in m["Subject"] for m in mailbox.to(SHOP)] == [True]
    page = logged_in(make_web, parties["staff"]).get("/notices")
    [(unread, item)] = listed(page)
    assert unread
    assert f"A dispute was lodged against you: {dispute['reference']}" in item


@pytest.mark.parametrize(
    ("offerer", "told", "not_told"),
    [
        ("respondent_api", ["consumer"], ["merchant", "staff"]),
        ("claimant_api", ["merchant", "staff"], ["consumer"]),
    ],
    ids=["merchant-offers", "consumer-offers"],
)
def test_an_offer_leaves_a_notice_for_the_other_party_only(
    app, make_web, parties, offerer, told, not_told
):
    dispute = lodge(parties["claimant_api"], respondent_email=SHOP)

    made = parties[offerer].post(f"/api/v1/disputes/{dispute['id']}/offers", OFFER)

    assert made.status_code == 201, made.get_json()
    for name in told:
        assert kinds(app, parties[name]).count("offer_made") == 1, name
        page = logged_in(make_web, parties[name]).get("/notices")
        assert f"New offer in dispute {dispute['reference']}" in text(page)
    for name in not_told:
        assert "offer_made" not in kinds(app, parties[name]), name
    assert "offer_made" not in kinds(app, parties["stranger"])


def _admit_as_case_manager(app, api, dispute):
    manager = make_user(app, "case_manager")
    answer = api.as_user(manager).post(f"/api/v1/disputes/{dispute['id']}/actions/admit")
    return manager, answer


def _escalate_as_consumer(app, api, dispute, parties):
    answer = parties["claimant_api"].post(f"/api/v1/disputes/{dispute['id']}/actions/escalate")
    return parties["consumer"], answer


@pytest.mark.parametrize(
    ("lodging", "actor", "new_state", "told"),
    [
        (FLAGGED, "case_manager", "Negotiation", ["consumer", "merchant", "staff"]),
        ({}, "consumer", "Mediation", ["merchant", "staff"]),
    ],
    ids=["case-manager-admits", "consumer-escalates"],
)
def test_a_state_change_leaves_a_notice_for_the_parties_but_not_the_actor(
    app, api, make_web, parties, lodging, actor, new_state, told
):
    dispute = lodge(parties["claimant_api"], respondent_email=SHOP, **lodging)

    if actor == "case_manager":
        acting, answer = _admit_as_case_manager(app, api, dispute)
    else:
        acting, answer = _escalate_as_consumer(app, api, dispute, parties)

    assert answer.status_code == 200, answer.get_json()
    assert "state_changed" not in kinds(app, acting)
    for name in told:
        assert kinds(app, parties[name]).count("state_changed") == 1, name
    assert "state_changed" not in kinds(app, parties["stranger"])
    page = logged_in(make_web, parties["merchant"]).get("/notices")
    assert f"Dispute {dispute['reference']}: {new_state}" in text(page)


def test_a_passed_deadline_leaves_a_reminder_notice_for_the_case_managers(
    app, make_web, mailbox, parties
):
    managers = [make_user(app, "case_manager"), make_user(app, "case_manager")]
    dispute = lodge(parties["claimant_api"], respondent_email=SHOP, **FLAGGED)
    assert dispute["state"] == "filed"
    lodged_at = clock.now()

    sweep_at(app, lodged_at + timedelta(days=3, minutes=1))

    for manager in managers:
        assert kinds(app, manager) == ["deadline_reminder"]
        assert len(mailbox.to(manager.email)) == 1
    for name in ("consumer", "merchant", "staff", "stranger"):
        assert "deadline_reminder" not in kinds(app, parties[name]), name
    page = logged_in(make_web, managers[0]).get("/notices")
    assert (
        f"Reminder: dispute {dispute['reference']} is waiting (Filed, awaiting screening)"
        in text(page)
    )


# ---- reading them -------------------------------------------------------------------------------


def test_notices_are_listed_unread_first_and_the_header_counts_the_unread(app, make_web, parties):
    references = [
        lodge(parties["claimant_api"], respondent_email=SHOP)["reference"] for _ in range(3)
    ]
    oldest, middle, newest = references
    web = logged_in(make_web, parties["merchant"])
    assert badge(web.get("/disputes")) == 3

    newest_notice = notice_ids(app, parties["merchant"])[-1]
    assert web.post("/notices/read", {"notice": newest_notice}).status_code == 303

    page = web.get("/notices")
    assert badge(page) == 2
    order = [(unread, next(r for r in references if r in item)) for unread, item in listed(page)]
    assert order == [(True, middle), (True, oldest), (False, newest)]

    assert web.post("/notices/read").status_code == 303

    page = web.get("/notices")
    assert badge(page) == 0
    assert [unread for unread, _item in listed(page)] == [False, False, False]
    assert badge(web.get("/disputes")) == 0


def test_the_header_count_is_the_readers_own(app, make_web, parties):
    lodge(parties["claimant_api"], respondent_email=SHOP)
    lodge(parties["claimant_api"], respondent_email=SHOP)
    merchant = logged_in(make_web, parties["merchant"])
    staff = logged_in(make_web, parties["staff"])
    stranger = logged_in(make_web, parties["stranger"])

    first = notice_ids(app, parties["merchant"])[0]
    assert merchant.post("/notices/read", {"notice": first}).status_code == 303

    assert badge(merchant.get("/disputes")) == 1
    assert badge(staff.get("/disputes")) == 2
    assert badge(stranger.get("/disputes")) == 0


def test_another_users_notice_cannot_be_marked_read_by_me(app, make_web, parties):
    theirs = lodge(parties["claimant_api"], respondent_email=SHOP)
    mine = lodge(parties["claimant_api"], respondent_email=parties["stranger"].email)
    [their_notice] = notice_ids(app, parties["merchant"])
    [my_notice] = notice_ids(app, parties["stranger"])
    web = logged_in(make_web, parties["stranger"])

    assert theirs["reference"] not in text(web.get("/notices"))
    web.post("/notices/read", {"notice": their_notice})

    assert is_unread(app, their_notice)
    assert is_unread(app, my_notice)
    assert badge(logged_in(make_web, parties["merchant"]).get("/disputes")) == 1
    assert mine["reference"] in text(web.get("/notices"))


@pytest.mark.parametrize("language", ["en", "zh_Hans", "zh_Hant"])
def test_notices_are_worded_in_the_readers_language(app, api, make_web, language):
    reader = make_user(app, "merchant", email=SHOP, language=language)
    claimant = api.as_user(make_user(app, "consumer"))
    # The mail follows the language named in the dispute; the notice follows the reader.
    dispute = lodge(claimant, respondent_email=SHOP, respondent__language="en")
    escalated = claimant.post(f"/api/v1/disputes/{dispute['id']}/actions/escalate")
    assert escalated.status_code == 200, escalated.get_json()

    page = text(logged_in(make_web, reader).get("/notices"))

    translations = Translations.load(str(LOCALES), [language])
    _ = translations.gettext
    reference = dispute["reference"]
    lodged = _("A dispute was lodged against you: %(reference)s") % {"reference": reference}
    changed = _("Dispute %(reference)s: %(state)s") % {
        "reference": reference,
        "state": _("Mediation"),
    }
    assert f'<html lang="{language.replace("_", "-")}">' in page
    assert lodged in page
    assert changed in page
    assert _("Notices") in page
