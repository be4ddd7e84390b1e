"""Deadlines come from the workflow definition and fire, as `system`, once."""

from __future__ import annotations

from datetime import timedelta

from odr import clock
from odr.extensions import db
from odr.sweep import sweep
from tests.factories import lodge, make_user

OFFER = {"amount": {"amount": "60.00", "currency": "EUR"}, "remedy": "refund", "terms": "t"}


def _state(client, dispute):
    return client.get(f"/api/v1/disputes/{dispute['id']}").get_json()["state"]


def _sweep_at(app, moment):
    with app.app_context(), clock.travel_to(moment):
        result = sweep()
        db.session.remove()
    return result


def test_no_answer_in_7_days_escalates_to_mediation_once(app, api):
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant)
    start = clock.now()
    assert _sweep_at(app, start + timedelta(days=6, hours=23))["timeouts"] == 0
    assert _state(claimant, dispute) == "negotiation"
    assert _sweep_at(app, start + timedelta(days=7, minutes=1))["timeouts"] == 1
    assert _state(claimant, dispute) == "mediation"
    assert _sweep_at(app, start + timedelta(days=7, minutes=2))["timeouts"] == 0
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("lodged", "claimant"),
        ("escalate", "system"),
        ("mediator_waiting", "system"),  # no mediator exists yet
    ]


def test_once_the_merchant_answers_negotiation_runs_21_days(app, api):
    claimant = api.as_user(make_user(app, "consumer"))
    respondent = api.as_user(make_user(app, "merchant", email="shop@merchant.example"))
    dispute = lodge(claimant)
    start = clock.now()
    respondent.post(f"/api/v1/disputes/{dispute['id']}/offers", OFFER)
    _sweep_at(app, start + timedelta(days=8))
    assert _state(claimant, dispute) == "negotiation"
    _sweep_at(app, start + timedelta(days=21, minutes=1))
    assert _state(claimant, dispute) == "mediation"


def test_a_filing_left_unscreened_reminds_the_case_managers_and_rearms(app, api, mailbox):
    manager = make_user(app, "case_manager", language="zh_Hans")
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, claim__amount={"amount": "500", "currency": "EUR"})
    assert dispute["state"] == "filed"
    start = clock.now()
    assert _sweep_at(app, start + timedelta(days=3, minutes=1))["timeouts"] == 1
    reminders = mailbox.to(manager.email)
    assert len(reminders) == 1 and dispute["reference"] in reminders[0]["Subject"]
    assert reminders[0]["Content-Language"] == "zh_Hans"
    after = claimant.get(f"/api/v1/disputes/{dispute['id']}").get_json()
    assert after["state"] == "filed"
    assert after["deadline_at"].startswith((start + timedelta(days=6)).date().isoformat())
    assert _sweep_at(app, start + timedelta(days=3, minutes=2))["timeouts"] == 0
    assert len(mailbox.to(manager.email)) == 1


def test_settlement_deadline_is_the_offers_performance_due(app, api):
    claimant = api.as_user(make_user(app, "consumer"))
    respondent = api.as_user(make_user(app, "merchant", email="shop@merchant.example"))
    dispute = lodge(claimant)
    due = (clock.now() + timedelta(days=10)).date().isoformat()
    offer = respondent.post(
        f"/api/v1/disputes/{dispute['id']}/offers", {**OFFER, "performance_due": due}
    ).get_json()
    settled = claimant.post(f"/api/v1/disputes/{dispute['id']}/offers/{offer['id']}/accept")
    assert settled.get_json()["deadline_at"].startswith(due)
