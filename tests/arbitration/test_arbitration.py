"""Arbitration: consent is recorded, never assumed; one statement per party within the window;
the award; reminders while the arbitrator has not decided."""

from __future__ import annotations

from datetime import timedelta

import pytest

from odr import clock
from tests.factories import Dispute, make_neutral, make_user

TERMS = {"amount": {"amount": "100.00", "currency": "EUR"}, "remedy": "refund"}


@pytest.fixture
def neutrals(app):
    return {
        "mediator": make_neutral(app, "mediator", ["en"]),
        "arbitrator": make_neutral(app, "arbitrator", ["en"]),
    }


@pytest.fixture
def dispute(app, api, neutrals):
    dispute = Dispute(app, api, arbitration_consent=True)
    dispute.to_mediation()
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must(neutrals["mediator"], "escalate", reason="no agreement")
    assert dispute.state == "arbitration"
    return dispute


def award(due_in_days: int = 30, **extra) -> dict:
    due = (clock.today() + timedelta(days=due_in_days)).isoformat()
    return {**TERMS, "reasons": "The goods were defective.", "performance_due": due, **extra}


def test_consent_given_at_lodging_is_recorded_and_the_respondents_is_asked(app, api, neutrals):
    given = Dispute(app, api, arbitration_consent=True)
    assert given.read()["arbitration_consent"] == {"claimant": True, "respondent": False}
    assert "consent_to_arbitration" in given.read("respondent")["actions"]
    assert "consent_to_arbitration" not in given.read("claimant")["actions"]
    lodged = given.events()[0]
    assert lodged["kind"] == "lodged"

    silent = Dispute(app, api, respondent_email="other@shop.example")
    assert silent.read()["arbitration_consent"] == {"claimant": False, "respondent": False}
    silent.must("respondent", "consent_to_arbitration")
    silent.to_mediation()
    # One consent is not two: mediation cannot go to arbitration.
    assert silent.must(neutrals["mediator"], "fail_mediation")["state"] == "unresolved"


def test_each_party_files_one_statement_within_the_window(app, dispute, neutrals):
    arbitrator = neutrals["arbitrator"]
    assert "submit_statement" in dispute.read("claimant")["actions"]
    dispute.must("claimant", "submit_statement", body="The earcup broke after a week.")
    assert "submit_statement" not in dispute.read("claimant")["actions"]
    assert dispute.act("claimant", "submit_statement", body="again").status_code == 409
    empty = dispute.act("respondent", "submit_statement", body="")
    assert empty.status_code == 422 and "body" in empty.get_json()["errors"]
    assert dispute.act(arbitrator, "submit_statement", body="x").status_code == 403

    assigned_at = dispute.case().neutral_assigned_at
    with clock.travel_to(assigned_at + timedelta(days=14, minutes=1)):
        late = dispute.act("respondent", "submit_statement", body="too late")
    assert late.status_code == 409
    with clock.travel_to(assigned_at + timedelta(days=13)):
        dispute.must("respondent", "submit_statement", body="It was dropped.")
    kinds = [e["data"].get("party") for e in dispute.events() if e["kind"] == "submit_statement"]
    assert kinds == ["claimant", "respondent"]


def test_the_statements_are_shown_to_the_arbitrator(app, dispute, neutrals, make_web):
    dispute.must("claimant", "submit_statement", body="The earcup broke after a week.")
    page = make_web()
    page.login(neutrals["arbitrator"].email)
    assert "The earcup broke after a week." in page.get(f"/disputes/{dispute.id}").get_data(
        as_text=True
    )


def test_the_award_ends_arbitration_with_a_performance_date(app, dispute, neutrals, mailbox):
    arbitrator = neutrals["arbitrator"]
    mailbox.clear()
    assert dispute.act("claimant", "issue_award", **award()).status_code == 403
    assert dispute.act(neutrals["mediator"], "issue_award", **award()).status_code == 403
    missing = dispute.act(arbitrator, "issue_award", **award(reasons=""))
    assert missing.status_code == 422 and "reasons" in missing.get_json()["errors"]
    assert dispute.state == "arbitration"

    done = dispute.must(arbitrator, "issue_award", **award(due_in_days=21))
    assert done["state"] == "awarded"
    due = clock.today() + timedelta(days=21)
    assert dispute.case().performance_due == due
    assert mailbox.to(dispute.users["claimant"].email)  # told of the award
    assert mailbox.to("shop@merchant.example")
    assert dispute.act(arbitrator, "issue_award", **award()).status_code == 409


def test_an_undecided_arbitration_reminds_the_arbitrator_and_case_managers_every_30_days(
    app, dispute, neutrals, mailbox
):
    manager = make_user(app, "case_manager")
    assigned_at = dispute.case().neutral_assigned_at
    mailbox.clear()
    assert dispute.at(assigned_at + timedelta(days=29))["timeouts"] == 0
    assert dispute.at(assigned_at + timedelta(days=30, minutes=1))["timeouts"] == 1
    assert dispute.state == "arbitration"
    assert mailbox.to(neutrals["arbitrator"].email) and mailbox.to(manager.email)
    assert dispute.at(assigned_at + timedelta(days=31))["timeouts"] == 0
    assert dispute.at(assigned_at + timedelta(days=60, minutes=1))["timeouts"] == 1
    reminders = [e for e in dispute.events() if e["kind"] == "reminder"]
    assert [(e["actor"], e["data"]["to"]) for e in reminders] == [
        ("system", ["arbitrator", "case_manager"]),
        ("system", ["arbitrator", "case_manager"]),
    ]
