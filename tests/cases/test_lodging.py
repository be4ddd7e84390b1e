"""Lodging: screening, the governing law and its rule, references, and who sees the dispute."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case
from odr.cases.reading import PARTY_ACCOUNTS, party_accounts
from odr.extensions import db
from tests.factories import lodge, lodging_body, make_user


@pytest.fixture
def claimant(app, api):
    return api.as_user(make_user(app, "consumer", country="CN"))


def test_a_complete_filing_goes_straight_to_negotiation(claimant):
    dispute = lodge(claimant)
    assert dispute["state"] == "negotiation"
    assert re.fullmatch(rf"ODR-{clock.now().year}-\d{{6}}", dispute["reference"])
    assert dispute["deadline_at"].startswith((clock.now() + timedelta(days=7)).date().isoformat())


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        (
            {
                "claim__amount": {"amount": "60000", "currency": "CNY"},
                "order__total": {"amount": "70000", "currency": "CNY"},
            },
            "claim_above_ceiling",
        ),
        ({"claim__amount": {"amount": "500", "currency": "EUR"}}, "claim_above_order_total"),
    ],
)
def test_flagged_filings_wait_for_a_case_manager(claimant, overrides, flag):
    dispute = lodge(claimant, **overrides)
    assert dispute["state"] == "filed"
    assert dispute["screening_flags"] == [flag]


def test_a_second_open_dispute_about_the_same_order_is_flagged(claimant):
    first = lodge(claimant, order__reference="SAME-1")
    second = lodge(claimant, order__reference="SAME-1")
    assert first["state"] == "negotiation"
    assert second["state"] == "filed" and second["screening_flags"] == ["possible_duplicate"]


@pytest.mark.parametrize(
    ("law", "expected_country", "rule"),
    [
        ({}, "CN", "consumer_habitual_residence"),
        ({"consumer_chose_merchant_law": True}, "DE", "consumer_chose_merchant_law"),
        (
            {"merchant_targets_consumer_country": False},
            "DE",
            "merchant_not_targeting_consumer_country",
        ),
    ],
)
def test_the_governing_law_follows_art_42(claimant, law, expected_country, rule):
    dispute = lodge(claimant, law=law)
    assert (dispute["governing_law"], dispute["governing_law_rule"]) == (expected_country, rule)


def test_a_foreign_law_case_without_a_partner_is_handled_at_home_with_a_note(app, claimant):
    dispute = lodge(claimant, law={"consumer_chose_merchant_law": True}, transfer_consent=True)
    assert dispute["state"] == "negotiation"
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert events[0]["data"]["foreign_law_note"] == "no_partner_handled_at_home"


def test_the_page_shows_the_law_and_the_rule(app, web):
    consumer = make_user(app, "consumer", country="CN", language="en")
    web.login(consumer.email)
    form = _form(**{"law.merchant_targets_consumer_country": "no"})
    response = web.post("/disputes/new", form)
    assert response.status_code == 302
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Germany" in page
    assert "directs no business activity at the consumer" in page


def _form(**extra):
    ordered = clock.today() - timedelta(days=10)
    form = {
        "respondent.name": "Rheinland Electronics",
        "respondent.email": "shop@merchant.example",
        "respondent.country": "DE",
        "respondent.language": "en",
        "order.platform": "ShopWorld",
        "order.reference": "R-1",
        "order.ordered_on": ordered.isoformat(),
        "order.total.amount": "129.90",
        "order.total.currency": "EUR",
        "order.items.0.description": "Headphones",
        "order.items.0.quantity": "1",
        "claim.category": "defective",
        "claim.description": "Broken after a week.",
        "claim.remedy": "refund",
        "claim.amount.amount": "129.90",
        "claim.amount.currency": "EUR",
        "language": "en",
    }
    form.update(extra)
    return form


def test_the_web_form_keeps_what_was_typed_and_names_the_field(app, web):
    consumer = make_user(app, "consumer")
    web.login(consumer.email)
    response = web.post("/disputes/new", _form(**{"respondent.country": "Germany"}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="respondent.country-error"' in page
    assert 'value="Rheinland Electronics"' in page


def test_only_consumers_and_platforms_lodge(app, api, web):
    merchant = make_user(app, "merchant")
    refused = api.as_user(merchant).post("/api/v1/disputes", lodging_body())
    assert refused.status_code == 403
    web.login(merchant.email)
    assert web.get("/disputes/new").status_code == 403


def test_a_platform_lodges_for_its_buyer(app, api):
    platform = api.as_user(make_user(app, "platform", country="SG"))
    buyer = {"name": "Tan Wei", "email": "tan@example.sg", "country": "SG", "language": "en"}
    dispute = lodge(platform, claimant=buyer)
    assert dispute["claimant"]["email"] == "tan@example.sg"
    assert dispute["governing_law"] == "SG"
    assert platform.get(f"/api/v1/disputes/{dispute['id']}").status_code == 200


def test_the_merchant_named_sees_the_dispute_and_others_get_404(app, api, web, make_web):
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    dispute = lodge(api.as_user(consumer))
    path = f"/disputes/{dispute['id']}"
    web.login(merchant.email)
    assert web.get(path).status_code == 200
    assert dispute["reference"] in web.get("/disputes").get_data(as_text=True)
    for role in ("consumer", "merchant"):
        stranger = make_web()
        stranger.login(make_user(app, role).email)
        assert stranger.get(path).status_code == 404
        assert dispute["reference"] not in stranger.get("/disputes").get_data(as_text=True)
        assert stranger.post(f"{path}/actions/withdraw").status_code == 404


def test_a_button_pressed_on_a_stale_page_changes_nothing_and_says_so(app, api, web):
    consumer = make_user(app, "consumer")
    dispute = lodge(api.as_user(consumer))
    web.login(consumer.email)
    path = f"/disputes/{dispute['id']}"
    web.get(path)
    stale = web.post(f"{path}/actions/withdraw", {"version": dispute["version"] - 1})
    assert stale.status_code == 303 and stale.headers["Location"] == path
    page = web.get(path).get_data(as_text=True)
    assert "changed while you were looking at it" in page
    assert "state-negotiation" in page
    done = web.post(f"{path}/actions/withdraw", {"version": dispute["version"], "confirm": "yes"})
    assert done.status_code == 303
    assert "state-withdrawn" in web.get(path).get_data(as_text=True)
    again = web.post(f"{path}/actions/withdraw", {"version": dispute["version"] + 1})
    assert again.status_code == 303
    assert "not possible at this stage" in web.get(path).get_data(as_text=True)


def test_a_case_about_to_be_written_has_the_parties_accounts_it_has_once_written(app, api):
    """On PostgreSQL a lodging reads its parties' accounts with its number, before the case row
    exists (`NEW_CASE`): they are the accounts read by the case's id afterwards, staff included."""
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="owner@newcase.example", timezone="Asia/Tokyo")
    staff = make_user(app, "merchant", merchant_id=merchant.id)
    make_user(app, "merchant", email="other@newcase.example")
    dispute = lodge(api.as_user(consumer), respondent_email="owner@newcase.example")
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        bound = {
            "respondent_email": case.respondent_email,
            "claimant_user_id": case.claimant_user_id,
            "filed_by_user_id": case.filed_by_user_id,
        }
        new = {"claimant": set(), "respondent": set(), "principals": []}
        for _id, party, user_id, timezone, named in db.session.execute(
            PARTY_ACCOUNTS["new"], bound
        ):
            new[party].add(user_id)
            if named is not None:
                new["principals"].append((not named, user_id, timezone))
        written = party_accounts([case.id])[case.id]
    assert new == written
    assert written["claimant"] == {consumer.id}
    assert written["respondent"] == {merchant.id, staff.id}
    assert written["principals"] == [(False, merchant.id, "Asia/Tokyo")]
