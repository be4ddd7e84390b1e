"""Mediation: the mediator's proposals, each party's answer, escalation and failure."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from odr import clock
from odr.extensions import db
from odr.mediation.models import Proposal
from tests.factories import Dispute, make_neutral, notice_kinds


@pytest.fixture
def mediator(app):
    return make_neutral(app, "mediator", ["en"])


@pytest.fixture
def dispute(app, api, mediator):
    dispute = Dispute(app, api)
    dispute.to_mediation()
    return dispute


def proposals(app) -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Proposal).order_by(Proposal.id))
        return [(p.status, p.claimant_answer, p.respondent_answer) for p in rows]


def test_both_parties_accepting_the_proposal_settles(app, dispute, mediator, mailbox):
    mailbox.clear()
    proposal = dispute.propose(mediator, amount="80.00", due_in_days=10)["proposal"]
    assert proposal["amount"] == {"amount": "80.00", "currency": "EUR"}
    assert proposal["answers"] == {"claimant": None, "respondent": None}
    assert mailbox.to("shop@merchant.example") and mailbox.to(dispute.users["claimant"].email)
    assert "proposal_made" in notice_kinds(app, dispute.users["claimant"])
    assert "accept_proposal" in dispute.read("respondent")["actions"]

    after_one = dispute.must("claimant", "accept_proposal")
    assert after_one["state"] == "mediation"
    assert after_one["proposal"]["answers"] == {"claimant": "accepted", "respondent": None}
    assert "accept_proposal" not in after_one["actions"]

    settled = dispute.must("respondent", "accept_proposal")
    assert settled["state"] == "settled"
    assert proposals(app) == [("accepted", "accepted", "accepted")]
    due = date.fromisoformat(proposal["performance_due"])
    case = dispute.case()
    assert case.performance_due == due
    # the end of that day where the merchant is (Germany, by its country: issue 14)
    assert case.performance_zone == "Europe/Berlin"
    ends = datetime.combine(due + timedelta(days=1), time.min, tzinfo=ZoneInfo("Europe/Berlin"))
    assert case.deadline_at == ends
    assert dispute.kinds()[-4:] == [
        "propose_settlement",
        "accept_proposal",
        "accept_proposal",
        "document_issued",  # the settlement agreement
    ]
    # The mediator hears each answer, and that the case has left mediation.
    assert notice_kinds(app, mediator) == [
        "neutral_assigned",
        "proposal_answered",
        "proposal_answered",
        "state_changed",
    ]
    subjects = [m["Subject"] for m in mailbox.to(mediator.email)]
    assert sum("answered your proposal" in s for s in subjects) == 2


def test_a_new_proposal_supersedes_the_last_and_clears_the_answers(app, dispute, mediator):
    dispute.propose(mediator, amount="70.00")
    dispute.must("claimant", "accept_proposal")
    second = dispute.propose(mediator, amount="90.00")["proposal"]
    assert second["answers"] == {"claimant": None, "respondent": None}
    assert proposals(app) == [("superseded", "accepted", None), ("open", None, None)]
    # the claimant's yes to the first does not carry over to the second
    assert dispute.must("respondent", "accept_proposal")["state"] == "mediation"
    assert dispute.must("claimant", "accept_proposal")["state"] == "settled"


def test_a_declined_proposal_cannot_be_accepted_and_the_mediator_tries_again(
    app, dispute, mediator
):
    dispute.propose(mediator)
    dispute.must("respondent", "decline_proposal")
    assert dispute.act("claimant", "accept_proposal").status_code == 409
    assert dispute.act("respondent", "accept_proposal").status_code == 409
    assert proposals(app) == [("declined", None, "declined")]
    dispute.propose(mediator, amount="95.00")
    dispute.must("claimant", "accept_proposal")
    assert dispute.must("respondent", "accept_proposal")["state"] == "settled"


def test_a_party_answers_once_and_only_the_mediator_proposes(dispute, mediator):
    assert dispute.act("claimant", "accept_proposal").status_code == 409  # nothing proposed
    dispute.propose(mediator)
    dispute.must("claimant", "accept_proposal")
    assert dispute.act("claimant", "accept_proposal").status_code == 409
    assert dispute.act("claimant", "decline_proposal").status_code == 409
    terms = {"amount": {"amount": "1.00", "currency": "EUR"}, "remedy": "refund", "terms": "t"}
    assert dispute.act("claimant", "propose_settlement", **terms).status_code == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": None}, "amount"),
        ({"amount": {"amount": "-5.00", "currency": "EUR"}}, "amount"),
        ({"amount": {"amount": "5.001", "currency": "EUR"}}, "amount"),
        ({"remedy": "a pony"}, "remedy"),
        ({"terms": ""}, "terms"),
        ({"performance_due": "31/12/2030"}, "performance_due"),
        ({"performance_due": "2020-01-01"}, "performance_due"),
        ({"performance_due": "next week"}, "performance_due"),
    ],
)
def test_a_bad_proposal_names_the_field_and_writes_nothing(app, dispute, mediator, change, field):
    body = {
        "amount": {"amount": "80.00", "currency": "EUR"},
        "remedy": "partial_refund",
        "terms": "t",
        "performance_due": (clock.today() + timedelta(days=10)).isoformat(),
    }
    body.update(change)
    before = dispute.read()
    response = dispute.act(mediator, "propose_settlement", **body)
    assert response.status_code == 422
    assert any(name.split(".")[0] == field for name in response.get_json()["errors"])
    assert proposals(app) == []
    assert dispute.read()["version"] == before["version"]


def test_a_performance_date_more_than_a_year_ahead_is_refused(dispute, mediator):
    response = dispute.act(
        mediator,
        "propose_settlement",
        amount={"amount": "80.00", "currency": "EUR"},
        remedy="refund",
        terms="t",
        performance_due=(clock.today() + timedelta(days=400)).isoformat(),
    )
    assert response.status_code == 422
    assert "performance_due" in response.get_json()["errors"]


def test_escalation_to_arbitration_needs_both_consents_recorded(app, dispute, mediator):
    make_neutral(app, "arbitrator", ["en"])
    for who in ("claimant", "respondent", mediator):
        assert dispute.act(who, "escalate", reason="stuck").status_code == 409
    dispute.must("claimant", "consent_to_arbitration")
    assert dispute.read()["arbitration_consent"] == {"claimant": True, "respondent": False}
    assert dispute.act(mediator, "escalate", reason="stuck").status_code == 409
    assert "escalate" not in dispute.read("respondent")["actions"]
    dispute.must("respondent", "consent_to_arbitration")
    assert "escalate" in dispute.read("respondent")["actions"]
    assert dispute.act("respondent", "consent_to_arbitration").status_code == 409
    assert dispute.must("respondent", "escalate", reason="stuck")["state"] == "arbitration"
    consents = [e for e in dispute.events() if e["kind"] == "consent_to_arbitration"]
    assert [(e["actor"], e["data"]["party"]) for e in consents] == [
        ("claimant", "claimant"),
        ("respondent", "respondent"),
    ]


def test_failed_mediation_goes_to_arbitration_only_with_both_consents(app, api, mediator):
    make_neutral(app, "arbitrator", ["en"])
    without = Dispute(app, api)
    without.to_mediation()
    assert without.must(mediator, "fail_mediation", note="no deal")["state"] == "unresolved"

    consented = Dispute(app, api, arbitration_consent=True, respondent_email="b@shop.example")
    consented.to_mediation()
    consented.must("respondent", "consent_to_arbitration")
    assert consented.must(mediator, "fail_mediation")["state"] == "arbitration"
    assert consented.read()["arbitrator"] is not None


@pytest.mark.parametrize("both_consented, ends_in", [(False, "unresolved"), (True, "arbitration")])
def test_thirty_days_after_assignment_mediation_fails_by_itself(
    app, api, mediator, both_consented, ends_in
):
    make_neutral(app, "arbitrator", ["en"])
    dispute = Dispute(app, api, arbitration_consent=both_consented)
    dispute.to_mediation()
    if both_consented:
        dispute.must("respondent", "consent_to_arbitration")
    assigned_at = dispute.case().neutral_assigned_at
    assert dispute.at(assigned_at + timedelta(days=29, hours=23))["timeouts"] == 0
    assert dispute.state == "mediation"
    assert dispute.at(assigned_at + timedelta(days=30, minutes=1))["timeouts"] == 1
    assert dispute.state == ends_in
    assert dispute.at(assigned_at + timedelta(days=30, minutes=2))["timeouts"] == 0
    fails = [e for e in dispute.events() if e["kind"] == "fail_mediation"]
    assert [e["actor"] for e in fails] == ["system"]
