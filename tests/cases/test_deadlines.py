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


def _force_state(app, dispute: dict, state: str) -> None:
    """Put a case in a state it cannot reach yet (referrals arrive with the partner directory)."""
    import sqlalchemy as sa

    from odr.cases.firing import next_deadline
    from odr.cases.models import Case
    from odr.workflow import get_workflow

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        case.state, case.state_entered_at = state, clock.now()
        case.deadline_at = next_deadline(case, get_workflow("dispute").states[state])
        db.session.commit()


def test_an_unanswered_referral_comes_home_to_negotiation_after_5_days(app, api):
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant)
    _force_state(app, dispute, "referred")
    start = clock.now()
    assert _sweep_at(app, start + timedelta(days=4, hours=23))["timeouts"] == 0
    assert _sweep_at(app, start + timedelta(days=5, minutes=1))["timeouts"] == 1
    assert _state(claimant, dispute) == "negotiation"
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert (events[-1]["kind"], events[-1]["actor"]) == ("expire_referral", "system")


def test_a_referral_with_the_partner_reminds_the_case_managers_every_90_days(app, api, mailbox):
    manager = make_user(app, "case_manager")
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant)
    _force_state(app, dispute, "with_partner")
    start = clock.now()
    assert _sweep_at(app, start + timedelta(days=89))["timeouts"] == 0
    assert _sweep_at(app, start + timedelta(days=90, minutes=1))["timeouts"] == 1
    assert _state(claimant, dispute) == "with_partner"
    assert len(mailbox.to(manager.email)) == 1
    assert _sweep_at(app, start + timedelta(days=180, minutes=1))["timeouts"] == 1
    assert len(mailbox.to(manager.email)) == 2


def test_every_deadline_of_the_lifecycle_is_covered_by_a_test():
    """The states with a deadline, each named with the test that proves its timer."""
    from pathlib import Path

    from workflows.dispute import DISPUTE

    proofs = {
        "filed": "tests/cases/test_deadlines.py::test_a_filing_left_unscreened",
        "negotiation": "tests/cases/test_deadlines.py::test_no_answer_in_7_days",
        "mediation": "tests/mediation/test_proposals.py::test_thirty_days_after_assignment",
        "arbitration": "tests/arbitration/test_arbitration.py::test_an_undecided_arbitration",
        "settled": "tests/cases/test_compliance.py::test_at_the_performance_date",
        "awarded": "tests/cases/test_compliance.py::test_a_breached_settlement_goes_to_arbitr",
        "referred": "tests/cases/test_deadlines.py::test_an_unanswered_referral",
        "with_partner": "tests/cases/test_deadlines.py::test_a_referral_with_the_partner",
    }
    root = Path(__file__).resolve().parents[2]
    states = DISPUTE["states"]
    assert {s for s, spec in states.items() if spec.get("deadline")} == set(proofs)
    for proof in proofs.values():
        path, name = proof.split("::")
        assert f"def {name}" in (root / path).read_text(), proof
