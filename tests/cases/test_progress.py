"""Where am I, what happens next (issue 14, item 5): for every state of the workflow, the bar of
stages (passed, current, skipped, where a closed dispute stopped) and the next steps in plain
words, naming who must act, by when in the reader's zone, and what happens by itself if they
don't, as the workflow's deadline rules and guards decide it."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_login import login_user

from odr import clock, i18n
from odr.accounts.models import User
from odr.cases.casefile import read_case_file
from odr.cases.guards import GUARDS
from odr.cases.next_steps import next_steps
from odr.cases.performance import deadline_text
from odr.cases.progress import for_page, undescribed
from odr.cases.stages import Facts, stages
from odr.extensions import db
from odr.workflow import build, get_workflow
from tests.factories import Dispute, make_neutral, make_user
from tests.referrals.agency import GERMAN_LAW, Agency
from workflows.dispute import DISPUTE

MERCHANT = "Rheinland Electronics GmbH"  # the respondent of tests.factories.lodging_body
LODGED_AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
OFFER = {
    "amount": {"amount": "1299.50", "currency": "EUR"},
    "remedy": "refund",
    "terms": "The merchant refunds the price.",
    "performance_due": "2026-12-20",
}
AWARD = {
    "amount": {"amount": "100.00", "currency": "EUR"},
    "remedy": "refund",
    "reasons": "The goods were defective.",
    "performance_due": "2027-01-15",
}
NEGOTIATION_TIMEOUT = "Otherwise, mediation starts by itself."


def set_timezone(app, user, zone: str) -> None:
    with app.app_context():
        db.session.get(User, user.id).timezone = zone
        db.session.commit()


def read(app, dispute: Dispute, who) -> SimpleNamespace:
    """The progress as `who` reads it on the dispute page (signed in, in their zone), with the
    dates of the case as the page formats them for them."""
    user = dispute.users[who] if isinstance(who, str) else who
    with app.app_context(), app.test_request_context():
        reader = db.session.get(User, user.id)
        login_user(reader)
        case_file = read_case_file(reader, dispute.id)
        case = case_file.view.case
        return SimpleNamespace(
            progress=for_page(case_file.view, case_file.timeline),
            case=case,
            when=i18n.format_time(case.deadline_at),
            due=deadline_text(case.performance_due, case.performance_zone),
        )


def bar(seen: SimpleNamespace) -> list[tuple[str, str]]:
    return [(stage.key, stage.status) for stage in seen.progress.stages]


def texts(seen: SimpleNamespace) -> list[str]:
    return [step.text for step in seen.progress.next_steps]


def settle(dispute: Dispute) -> None:
    made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", OFFER)
    assert made.status_code == 201, made.get_json()
    offer = made.get_json()["id"]
    accepted = dispute.client("claimant").post(
        f"/api/v1/disputes/{dispute.id}/offers/{offer}/accept"
    )
    assert accepted.get_json()["state"] == "settled", accepted.get_json()


def to_arbitration(app, api) -> tuple[Dispute, object]:
    mediator = make_neutral(app, "mediator")
    arbitrator = make_neutral(app, "arbitrator")
    dispute = Dispute(app, api, arbitration_consent=True)
    dispute.to_mediation()
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must(mediator, "escalate", reason="no agreement")
    assert dispute.state == "arbitration"
    return dispute, arbitrator


def referred(app, api, agency: Agency | None = None) -> tuple[Dispute, Agency, str]:
    agency = agency or Agency(app, "Schlichtung Online")
    dispute = Dispute(app, api, law=GERMAN_LAW, transfer_consent=True)
    referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    return dispute, agency, referral


def with_partner(app, api) -> tuple[Dispute, Agency, str]:
    dispute, agency, referral = referred(app, api)
    accepted = agency.post(f"/api/v1/referrals/{referral}/accept", {"partner_reference": "SO-1"})
    assert accepted.status_code == 200, accepted.get_json()
    return dispute, agency, referral


def case_manager(app):
    return make_user(app, "case_manager")


# ---- every state: a bar with one current step, and words for what happens next ----------------


def _filed(app, api):
    return Dispute(app, api, claim__amount={"amount": "500", "currency": "EUR"}), "claimant"


def _negotiation(app, api):
    return Dispute(app, api), "claimant"


def _mediation(app, api):
    make_neutral(app, "mediator")
    dispute = Dispute(app, api)
    dispute.to_mediation()
    return dispute, "claimant"


def _arbitration(app, api):
    return to_arbitration(app, api)[0], "claimant"


def _settled(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    return dispute, "claimant"


def _awarded(app, api):
    dispute, arbitrator = to_arbitration(app, api)
    dispute.must(arbitrator, "issue_award", **AWARD)
    return dispute, "claimant"


def _referred(app, api):
    return referred(app, api)[0], "claimant"


def _with_partner(app, api):
    return with_partner(app, api)[0], "claimant"


def _resolved(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    dispute.must("claimant", "confirm_performance")
    return dispute, "respondent"


def _unresolved(app, api):
    mediator = make_neutral(app, "mediator")
    dispute = Dispute(app, api)
    dispute.to_mediation()
    dispute.must(mediator, "fail_mediation")
    return dispute, "claimant"


def _non_compliant(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    dispute.must("claimant", "report_breach", note="Nothing arrived.")
    return dispute, "respondent"


def _withdrawn(app, api):
    dispute = Dispute(app, api)
    dispute.to_mediation()
    dispute.must("claimant", "withdraw", reason="We talked it over.")
    return dispute, "respondent"


def _rejected(app, api):
    dispute, _reader = _filed(app, api)
    dispute.must(case_manager(app), "reject", reason="Not a consumer dispute.")
    return dispute, "claimant"


SCENARIOS = {
    "filed": _filed,
    "negotiation": _negotiation,
    "mediation": _mediation,
    "arbitration": _arbitration,
    "settled": _settled,
    "awarded": _awarded,
    "referred": _referred,
    "with_partner": _with_partner,
    "resolved": _resolved,
    "unresolved": _unresolved,
    "non_compliant": _non_compliant,
    "withdrawn": _withdrawn,
    "rejected": _rejected,
}


@pytest.mark.parametrize("state", list(DISPUTE["states"]))
def test_every_state_has_a_bar_with_one_current_step_and_words_for_what_follows(app, api, state):
    dispute, who = SCENARIOS[state](app, api)  # a state without a scenario fails here
    seen = read(app, dispute, who)
    assert seen.case.state == state
    current = [stage for stage in seen.progress.stages if stage.is_current]
    assert len(current) == 1, bar(seen)
    assert [stage.key for stage in seen.progress.stages][0] == "lodged"
    assert seen.progress.next_steps, state
    assert not any(text.startswith("The dispute is at this stage") for text in texts(seen))
    assert seen.progress.closed == (
        state in ("resolved", "unresolved", "non_compliant", "withdrawn", "rejected")
    )


def test_every_state_timeout_reminder_and_neutral_of_the_workflow_has_words():
    assert undescribed(DISPUTE) == []


def test_a_state_added_to_the_workflow_without_words_is_caught_by_a_test_not_the_page(app):
    definition = copy.deepcopy(DISPUTE)
    definition["states"]["expert_opinion"] = {
        "label": "Expert opinion",
        "deadline": {"days": 10, "timeout": "expire_opinion"},
    }
    definition["states"]["abandoned"] = {"label": "Abandoned", "final": True}
    definition["actions"]["ask_expert"] = {"label": "Ask an expert"}
    definition["actions"]["expire_opinion"] = {"label": "Opinion expired", "system": True}
    definition["transitions"] += [
        {
            "trigger": "ask_expert",
            "source": "mediation",
            "dest": "expert_opinion",
            "roles": ["mediator"],
        },
        {
            "trigger": "expire_opinion",
            "source": "expert_opinion",
            "dest": "abandoned",
            "roles": ["system"],
        },
    ]
    problems = undescribed(definition)
    assert problems == [
        "state 'expert_opinion' has no words in NEXT",
        "state 'expert_opinion' has no place on the bar",
        "state 'expert_opinion': no words for its timeout 'expire_opinion' leading to 'abandoned'",
        "closed state 'abandoned' has no words in CLOSED",
        "closed state 'abandoned' has no place on the bar",
    ]
    # The page of such a case still shows something true: the state's label.
    workflow = build(definition, GUARDS)
    case = SimpleNamespace(
        state="expert_opinion",
        deadline_at=LODGED_AT,  # dated: only the words are missing
        breach_reported_at=None,
        mediator_id=None,
        arbitrator_id=None,
        respondent_answered_at=None,
        claimant_name="A",
        respondent_name="B",
    )
    with app.test_request_context():
        [step] = next_steps(case, "claimant", Facts(), workflow)
        assert step.text == "The dispute is at this stage: Expert opinion."
        assert [(s.key, s.status, s.label) for s in stages(case, Facts(), workflow)] == [
            ("lodged", "done", "Lodged"),
            ("expert_opinion", "current", "Expert opinion"),
        ]


def test_a_case_without_its_deadline_says_only_its_stage(app):
    case = SimpleNamespace(
        state="negotiation", deadline_at=None, respondent_answered_at=None, respondent_name="B"
    )
    with app.test_request_context():
        [step] = next_steps(case, "claimant", Facts(), get_workflow("dispute"))
    assert step.text == "The dispute is at this stage: Negotiation."


# ---- the bar ------------------------------------------------------------------------------------


def test_a_dispute_in_negotiation_has_lodging_behind_it_and_the_rest_ahead(app, api):
    seen = read(app, Dispute(app, api), "claimant")
    assert bar(seen) == [
        ("lodged", "done"),
        ("negotiation", "current"),
        ("mediation", "upcoming"),
        ("arbitration", "upcoming"),
        ("outcome", "upcoming"),
        ("performed", "upcoming"),
    ]
    assert [stage.label for stage in seen.progress.stages] == [
        "Lodged",
        "Negotiation",
        "Mediation",
        "Arbitration",
        "Settlement or award",
        "Performed",
    ]


def test_settled_in_negotiation_skips_mediation_and_arbitration(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    seen = read(app, dispute, "respondent")
    assert bar(seen) == [
        ("lodged", "done"),
        ("negotiation", "done"),
        ("mediation", "skipped"),
        ("arbitration", "skipped"),
        ("outcome", "current"),
        ("performed", "upcoming"),
    ]
    assert seen.progress.stages[4].label == "Settled"


def test_settled_in_mediation_passed_mediation_and_skips_arbitration(app, api):
    mediator = make_neutral(app, "mediator")
    dispute = Dispute(app, api)
    dispute.to_mediation()
    dispute.propose(mediator)
    dispute.must("claimant", "accept_proposal")
    dispute.must("respondent", "accept_proposal")
    seen = read(app, dispute, "claimant")
    assert seen.case.state == "settled"
    assert bar(seen)[2:5] == [
        ("mediation", "done"),
        ("arbitration", "skipped"),
        ("outcome", "current"),
    ]


def test_an_award_passed_every_stage_before_it(app, api):
    dispute, arbitrator = to_arbitration(app, api)
    dispute.must(arbitrator, "issue_award", **AWARD)
    seen = read(app, dispute, "claimant")
    assert bar(seen) == [
        ("lodged", "done"),
        ("negotiation", "done"),
        ("mediation", "done"),
        ("arbitration", "done"),
        ("outcome", "current"),
        ("performed", "upcoming"),
    ]
    assert seen.progress.stages[4].label == "Awarded"


def test_a_performed_settlement_ends_the_bar_at_performed(app, api):
    dispute = Dispute(app, api)
    settle(dispute)
    dispute.must("claimant", "confirm_performance")
    seen = read(app, dispute, "claimant")
    assert bar(seen)[-2:] == [("outcome", "done"), ("performed", "ended")]
    assert seen.progress.stages[-1].note == "Resolved"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("rejected", [("lodged", "done"), ("rejected", "ended")]),
        (
            "withdrawn",
            [
                ("lodged", "done"),
                ("negotiation", "done"),
                ("mediation", "done"),
                ("withdrawn", "ended"),
            ],
        ),
        (
            "unresolved",
            [
                ("lodged", "done"),
                ("negotiation", "done"),
                ("mediation", "done"),
                ("unresolved", "ended"),
            ],
        ),
        (
            "non_compliant",
            [
                ("lodged", "done"),
                ("negotiation", "done"),
                ("mediation", "skipped"),
                ("arbitration", "skipped"),
                ("outcome", "done"),
                ("non_compliant", "ended"),
            ],
        ),
    ],
)
def test_a_closed_dispute_s_bar_ends_where_it_stopped_with_the_outcome_named(
    app, api, state, expected
):
    dispute, who = SCENARIOS[state](app, api)
    seen = read(app, dispute, who)
    assert bar(seen) == expected
    labels = {
        "rejected": "Rejected",
        "withdrawn": "Withdrawn",
        "unresolved": "Unresolved",
        "non_compliant": "Not complied with",
    }
    assert seen.progress.stages[-1].label == labels[state]


def test_a_dispute_withdrawn_in_negotiation_stops_there(app, api):
    dispute = Dispute(app, api)
    dispute.must("claimant", "withdraw", reason="Sorted out by phone.")
    assert bar(read(app, dispute, "respondent")) == [
        ("lodged", "done"),
        ("negotiation", "done"),
        ("withdrawn", "ended"),
    ]


def test_a_referral_takes_the_partner_agency_s_route(app, api):
    dispute, agency, referral = referred(app, api)
    assert bar(read(app, dispute, "claimant")) == [
        ("lodged", "done"),
        ("referred", "current"),
        ("with_partner", "upcoming"),
        ("partner_outcome", "upcoming"),
    ]
    agency.post(f"/api/v1/referrals/{referral}/accept", {"partner_reference": "SO-1"})
    assert bar(read(app, dispute, "claimant")) == [
        ("lodged", "done"),
        ("referred", "done"),
        ("with_partner", "current"),
        ("partner_outcome", "upcoming"),
    ]
    reported = agency.post(
        f"/api/v1/referrals/{referral}/outcome",
        {"outcome": "unresolved", "summary": "No agreement was reached."},
    )
    assert reported.status_code == 200, reported.get_json()
    seen = read(app, dispute, "claimant")
    assert bar(seen)[-1] == ("unresolved", "ended")
    assert seen.progress.stages[-1].label == "Not resolved at the partner agency"
    assert texts(seen) == [
        "This dispute is closed without a settlement, as the partner agency reported."
    ]


def test_a_declined_referral_comes_back_to_the_main_route(app, api):
    dispute, agency, referral = referred(app, api)
    declined = agency.post(f"/api/v1/referrals/{referral}/decline", {"reason": "Not ours."})
    assert declined.status_code == 200, declined.get_json()
    seen = read(app, dispute, "claimant")
    assert seen.case.state == "negotiation"
    assert bar(seen)[:2] == [("lodged", "done"), ("negotiation", "current")]


# ---- what happens next --------------------------------------------------------------------------


def test_negotiation_names_the_merchant_the_date_and_that_mediation_starts_by_itself(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
    seen = read(app, dispute, "claimant")
    [step] = seen.progress.next_steps
    assert step.text == f"{MERCHANT} must answer by {seen.when}, with an offer or a message."
    assert step.then == NEGOTIATION_TIMEOUT
    assert step.actor == "respondent" and not step.yours
    assert "Dec 11, 2026" in seen.when  # 7 days from the lodging


def test_the_merchant_reads_that_it_must_answer(app, api):
    dispute = Dispute(app, api)
    seen = read(app, dispute, "respondent")
    [step] = seen.progress.next_steps
    assert step.yours
    assert step.text == f"You must answer by {seen.when}: make an offer or write a message."
    assert step.then == NEGOTIATION_TIMEOUT


def test_the_dates_are_in_the_reader_s_zone(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
    set_timezone(app, dispute.users["claimant"], "Asia/Shanghai")
    set_timezone(app, dispute.users["respondent"], "Europe/Berlin")
    in_shanghai = texts(read(app, dispute, "claimant"))[0]
    in_berlin = texts(read(app, dispute, "respondent"))[0]
    assert "Dec 11, 2026, 17:00" in in_shanghai  # 09:00 UTC
    assert "Dec 11, 2026, 10:00" in in_berlin


def test_once_the_merchant_answered_both_can_settle_until_the_longer_deadline(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
        made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", OFFER)
        assert made.status_code == 201
    seen = read(app, dispute, "claimant")
    assert "Dec 25, 2026" in seen.when  # 21 days once answered
    first, offer = seen.progress.next_steps
    assert (
        first.text
        == f"You and {MERCHANT} can settle until {seen.when} by making and accepting offers."
    )
    assert first.then == NEGOTIATION_TIMEOUT
    assert offer.yours and offer.text.startswith(f"{MERCHANT} has made you an offer")


def test_screening_tells_the_case_manager_to_act_and_the_consumer_how_long(app, api):
    dispute, _who = _filed(app, api)
    manager = case_manager(app)
    consumer = read(app, dispute, "claimant")
    [step] = consumer.progress.next_steps
    assert step.text.startswith("A case manager checks the dispute, usually within 3 days")
    assert step.then == (
        f"If the dispute is still at this stage on {consumer.when}, a reminder goes to the case "
        "managers, and again every 3 days after that."
    )
    [own] = read(app, dispute, manager).progress.next_steps
    assert own.yours and own.text.startswith("Screen this dispute")


def test_mediation_waits_for_a_mediator_and_says_who_is_reminded(app, api):
    dispute = Dispute(app, api)
    dispute.to_mediation()  # no mediator exists
    seen = read(app, dispute, "claimant")
    waiting, later = seen.progress.next_steps
    assert waiting.text.startswith("The dispute waits for a free mediator")
    assert waiting.then == (
        f"If the dispute is still at this stage on {seen.when}, a reminder goes to the case "
        "managers, and again every day after that."
    )
    assert later.text == "Once assigned, the mediator has 30 days to help both sides settle."


def test_mediation_names_the_mediator_the_date_and_what_the_timeout_does(app, api):
    mediator = make_neutral(app, "mediator", name="Dr. Weiss")
    dispute = Dispute(app, api)
    dispute.to_mediation()
    seen = read(app, dispute, "claimant")
    [step] = seen.progress.next_steps
    assert step.text == f"The mediator, Dr. Weiss, helps both sides settle until {seen.when}."
    assert step.then == (
        "Otherwise, mediation closes as failed by itself and the dispute ends without a settlement."
    )
    [own] = read(app, dispute, mediator).progress.next_steps
    assert own.yours and own.text.startswith(f"You have until {seen.when} to help both sides")


def test_with_both_consents_failed_mediation_leads_to_arbitration(app, api):
    make_neutral(app, "mediator")
    dispute = Dispute(app, api, arbitration_consent=True)
    dispute.to_mediation()
    dispute.must("respondent", "consent_to_arbitration")
    [step] = read(app, dispute, "claimant").progress.next_steps
    assert step.then == (
        "Otherwise, mediation closes as failed by itself and, as both sides agreed to it, "
        "arbitration starts."
    )


def test_a_party_with_a_proposal_to_answer_is_told_so(app, api):
    mediator = make_neutral(app, "mediator")
    dispute = Dispute(app, api)
    dispute.to_mediation()
    dispute.propose(mediator)
    steps = read(app, dispute, "respondent").progress.next_steps
    assert steps[-1].yours
    assert steps[-1].text == "The mediator has proposed a settlement: accept or decline it."


def test_arbitration_names_the_arbitrator_and_the_statement_window(app, api):
    dispute, arbitrator = to_arbitration(app, api)
    with app.app_context():
        name = db.session.get(User, arbitrator.id).name
    seen = read(app, dispute, "claimant")
    decide, statement = seen.progress.next_steps
    assert decide.text.startswith(f"The arbitrator, {name}, decides the dispute")
    assert decide.then == (
        f"If the dispute is still at this stage on {seen.when}, a reminder goes to the arbitrator "
        "and the case managers, and again every 30 days after that."
    )
    assert statement.yours and statement.text.startswith("You can file your statement until ")
    dispute.must("claimant", "submit_statement", body="It broke.")
    assert len(read(app, dispute, "claimant").progress.next_steps) == 1


def test_a_settlement_says_who_performs_what_by_when_with_the_zone(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
        settle(dispute)
    consumer = read(app, dispute, "claimant")
    perform, confirm = consumer.progress.next_steps
    assert consumer.due == "Dec 20, 2026, 23:59 (Europe/Berlin)"
    assert perform.text.startswith(
        f"{MERCHANT} must perform by Dec 20, 2026, 23:59 (Europe/Berlin)"
    )
    assert "Full refund, €1,299.50" in perform.text
    assert perform.then == (
        "If by then the merchant has not declared it done and the consumer has not confirmed it, "
        "the dispute is recorded as not complied with."
    )
    assert confirm.yours and confirm.text.startswith("When it is done, confirm it here.")
    [merchant] = read(app, dispute, "respondent").progress.next_steps
    assert merchant.yours
    assert merchant.text.startswith("You must perform by Dec 20, 2026, 23:59 (Europe/Berlin)")


def test_a_reader_elsewhere_also_gets_the_deadline_in_their_own_time(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
        settle(dispute)
    set_timezone(app, dispute.users["claimant"], "Asia/Shanghai")
    perform = read(app, dispute, "claimant").progress.next_steps[0]
    assert (
        "Dec 20, 2026, 23:59 (Europe/Berlin) (your time: Dec 21, 2026, 06:59 (Asia/Shanghai))"
        in perform.text
    )


def test_once_performance_is_declared_the_consumer_confirms_or_it_resolves_by_itself(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
        settle(dispute)
        dispute.must("respondent", "declare_performance", note="Refunded today.")
    [step] = read(app, dispute, "claimant").progress.next_steps
    assert step.yours and step.actor == "claimant"
    assert step.text.startswith(f"{MERCHANT} declared on ")
    assert "by Dec 20, 2026, 23:59 (Europe/Berlin)" in step.text
    assert step.then == "If the consumer does neither by then, the dispute is recorded as resolved."


def test_an_award_names_its_terms_and_date(app, api):
    dispute, arbitrator = to_arbitration(app, api)
    dispute.must(arbitrator, "issue_award", **AWARD)
    set_timezone(app, dispute.users["claimant"], "Europe/Berlin")  # no second time to give
    step, _confirm = read(app, dispute, "claimant").progress.next_steps
    assert step.text == (
        f"{MERCHANT} must perform by Jan 15, 2027, 23:59 (Europe/Berlin): Full refund, €100.00."
    )


def test_a_referral_gives_the_agency_its_five_days(app, api):
    dispute, agency, _referral = referred(app, api)
    seen = read(app, dispute, "claimant")
    [step] = seen.progress.next_steps
    assert (
        step.text
        == f"Schlichtung Online, the partner agency, has until {seen.when} to accept the dispute."
    )
    assert step.then == "Otherwise, the dispute comes back here, to negotiation with the merchant."
    with app.app_context():
        desk = db.session.scalar(
            sa.select(User).where(User.email == "desk@schlichtung-online.example")
        )
        db.session.expunge(desk)
    [own] = read(app, dispute, desk).progress.next_steps
    assert own.yours and own.text == f"You must accept or decline this dispute by {seen.when}."


def test_with_the_partner_agency_the_reminders_are_named(app, api):
    dispute, _agency, _referral = with_partner(app, api)
    seen = read(app, dispute, "respondent")
    [step] = seen.progress.next_steps
    assert step.text.startswith("Schlichtung Online, the partner agency, handles the dispute")
    assert step.then == (
        f"If the dispute is still at this stage on {seen.when}, a reminder goes to the partner "
        "agency and the case managers, and again every 90 days after that."
    )


@pytest.mark.parametrize(
    ("state", "who", "expected"),
    [
        ("resolved", "respondent", "This dispute is closed: the settlement was carried out."),
        (
            "unresolved",
            "claimant",
            "This dispute is closed without a settlement: mediation failed "
            "and the two sides did not both agree to arbitration.",
        ),
        (
            "non_compliant",
            "respondent",
            "This dispute is closed as not complied with: the consumer "
            "reported that the merchant did not perform.",
        ),
        ("withdrawn", "respondent", "This dispute is closed: the consumer withdrew it."),
        ("withdrawn", "claimant", "This dispute is closed: you withdrew it."),
        ("rejected", "claimant", "This dispute is closed: a case manager did not admit it."),
    ],
)
def test_a_closed_dispute_says_how_it_ended(app, api, state, who, expected):
    dispute, _who = SCENARIOS[state](app, api)
    seen = read(app, dispute, who)
    assert seen.progress.closed
    assert texts(seen) == [expected]


def test_a_missed_performance_date_is_recorded_as_not_complied_with(app, api):
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api)
        settle(dispute)
    dispute.at(datetime(2026, 12, 21, 0, 1, tzinfo=ZoneInfo("Europe/Berlin")))
    seen = read(app, dispute, "claimant")
    assert seen.case.state == "non_compliant"
    assert texts(seen) == [
        "This dispute is closed as not complied with: the merchant did not perform by the deadline."
    ]


# ---- on the page --------------------------------------------------------------------------------


def test_the_page_marks_the_current_step_and_shows_the_next_steps(app, api, web):
    dispute = Dispute(app, api)
    web.login(dispute.users["respondent"].email)
    page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert page.count('aria-current="step"') == 1
    current = page[page.index('aria-current="step"') :]
    assert current.index("Negotiation") < current.index("</li>")
    assert "What happens next" in page
    assert "For you:" in page and "You must answer by" in page
    assert NEGOTIATION_TIMEOUT in page
