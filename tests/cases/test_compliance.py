"""Compliance: after a settlement or an award the claimant confirms or reports a breach, the
respondent declares performance, and the performance date decides what nobody said; each
merchant's record counts it all."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from odr import clock
from odr.analytics.services import merchant_record
from tests.factories import Dispute, make_neutral

SHOP = "shop@merchant.example"
OFFER = {
    "amount": {"amount": "60.00", "currency": "EUR"},
    "remedy": "partial_refund",
    "terms": "Sixty back.",
}


def settle(dispute: Dispute, due_in_days: int | None = 10) -> None:
    offer = dict(OFFER)
    if due_in_days is not None:
        offer["performance_due"] = (clock.today() + timedelta(days=due_in_days)).isoformat()
    made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", offer)
    accept = f"/api/v1/disputes/{dispute.id}/offers/{made.get_json()['id']}/accept"
    assert dispute.client("claimant").post(accept).get_json()["state"] == "settled"


def record(app, email: str = SHOP) -> dict:
    with app.app_context():
        return merchant_record(email)


def day_ends(day, zone: str = "Europe/Berlin") -> datetime:
    """When a performance day ends for the respondent (a merchant in Germany, the factory's)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(zone)).astimezone(
        UTC
    )


def test_the_claimant_confirms_performance(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    assert "confirm_performance" not in dispute.read("respondent")["actions"]
    assert dispute.must("claimant", "confirm_performance")["state"] == "resolved"
    assert dispute.read()["deadline_at"] is None
    assert record(app) == {
        "disputes": 1,
        "settled": 1,
        "awarded": 0,
        "performed": 1,
        "not_performed": 0,
    }


def test_a_breach_without_both_consents_is_not_complied_with(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    assert dispute.must("claimant", "report_breach", note="nothing came")["state"] == (
        "non_compliant"
    )
    assert record(app)["not_performed"] == 1


def test_a_breached_settlement_goes_to_arbitration_when_both_consented(app, api):
    make_neutral(app, "arbitrator", ["en"])
    dispute = Dispute(app, api, arbitration_consent=True)
    dispute.must("respondent", "consent_to_arbitration")
    settle(dispute)
    dispute.must("respondent", "declare_performance", note="paid on Monday")
    assert dispute.must("claimant", "report_breach", note="it never arrived")["state"] == (
        "arbitration"
    )
    arbitrator = dispute.read()["arbitrator"]
    assert arbitrator is not None

    # The award starts compliance afresh: the settlement's declaration and breach do not count.
    due = clock.today() + timedelta(days=20)
    awarded = dispute.must(
        _user(app, arbitrator["id"]),
        "issue_award",
        amount={"amount": "60.00", "currency": "EUR"},
        remedy="refund",
        reasons="The settlement was not performed.",
        performance_due=due.isoformat(),
    )
    assert awarded["state"] == "awarded"
    assert "declare_performance" in dispute.read("respondent")["actions"]
    dispute.must("respondent", "declare_performance", note="paid again, with proof")
    assert dispute.at(day_ends(due) + timedelta(minutes=1))["timeouts"] == 1
    assert dispute.state == "resolved"
    assert record(app) == {
        "disputes": 1,
        "settled": 1,
        "awarded": 1,
        "performed": 1,
        "not_performed": 0,
    }


def _user(app, user_id):
    from odr.accounts.models import User
    from odr.extensions import db

    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
    return user


def test_an_award_breach_has_no_arbitration_branch(app, api):
    make_neutral(app, "mediator", ["en"])
    arbitrator = make_neutral(app, "arbitrator", ["en"])
    dispute = Dispute(app, api, arbitration_consent=True)
    dispute.must("respondent", "consent_to_arbitration")
    dispute.to_mediation()
    dispute.must("claimant", "escalate", reason="no agreement")
    dispute.must(
        arbitrator,
        "issue_award",
        amount={"amount": "60.00", "currency": "EUR"},
        remedy="refund",
        reasons="r",
        performance_due=(clock.today() + timedelta(days=20)).isoformat(),
    )
    assert dispute.must("claimant", "report_breach")["state"] == "non_compliant"


@pytest.mark.parametrize(
    "declared, ends_in",
    [(True, "resolved"), (False, "non_compliant")],
)
def test_at_the_performance_date_a_declaration_decides(app, api, mailbox, declared, ends_in):
    dispute = Dispute(app, api)
    settle(dispute, due_in_days=10)
    due = clock.today() + timedelta(days=10)
    assert dispute.read()["deadline_at"] == day_ends(due).isoformat()
    if declared:
        assert dispute.act("claimant", "declare_performance").status_code == 403
        dispute.must("respondent", "declare_performance", note="refunded to the card")
        assert dispute.act("respondent", "declare_performance").status_code == 409
        assert dispute.state == "settled"
    mailbox.clear()
    assert dispute.at(day_ends(due) - timedelta(minutes=1))["timeouts"] == 0
    assert dispute.at(day_ends(due) + timedelta(minutes=1))["timeouts"] == 1
    assert dispute.state == ends_in
    passed = [e for e in dispute.events() if e["kind"] == "performance_due_passed"]
    assert [e["actor"] for e in passed] == ["system"]
    assert mailbox.to(dispute.users["claimant"].email) and mailbox.to(SHOP)
    counted = record(app)
    assert (counted["performed"], counted["not_performed"]) == ((1, 0) if declared else (0, 1))


def test_without_a_performance_date_a_settlement_allows_14_days(app, api):
    dispute = Dispute(app, api)
    settled_at = clock.now()
    with clock.travel_to(settled_at):
        settle(dispute, due_in_days=None)
    # 14 days from the acceptance, to the end of that day where the merchant is (issue 14)
    due = settled_at.astimezone(ZoneInfo("Europe/Berlin")).date() + timedelta(days=14)
    case = dispute.case()
    assert (case.performance_due, case.performance_zone) == (due, "Europe/Berlin")
    assert case.deadline_at == day_ends(due)
    shown = dispute.read()
    assert shown["performance_due"] == due.isoformat()
    last_second = datetime.combine(due, time(23, 59, 59), tzinfo=ZoneInfo("Europe/Berlin"))
    assert shown["performance_due_at"] == last_second.isoformat()


def test_the_record_counts_disputes_per_merchant_address(app, api):
    first = Dispute(app, api)
    Dispute(app, api, respondent_email="other@shop.example")
    lodged_again = first.clients["claimant"]
    from tests.factories import lodge

    lodge(lodged_again)
    assert record(app)["disputes"] == 2
    assert record(app, "other@shop.example")["disputes"] == 1
    assert record(app, "nobody@shop.example")["disputes"] == 0
