"""Assignment of neutrals: who is eligible, who is chosen, reassignment, recusal and waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from odr import clock
from odr.accounts.models import User
from odr.extensions import db
from tests.factories import Dispute, copy_case, make_neutral, make_user, notice_kinds

SHOP = "shop@merchant.example"


def give_load(app, neutral, n: int, state: str = "mediation") -> None:
    """Make the neutral busy with n other open cases of the state."""
    role = "mediator" if state == "mediation" else "arbitrator"
    for _ in range(n):
        copy_case(app, state=state, **{f"{role}_id": neutral.id})


def deactivate(app, user) -> None:
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()


def assigned(dispute: Dispute, role: str = "mediator") -> int | None:
    neutral = dispute.read()[role]
    return neutral["id"] if neutral else None


def test_the_least_loaded_eligible_mediator_speaking_a_party_language_is_chosen(app, api, mailbox):
    busy = make_neutral(app, "mediator", ["en"])
    free = make_neutral(app, "mediator", ["en"])
    french = make_neutral(app, "mediator", ["fr"])
    inactive = make_neutral(app, "mediator", ["en"])
    unverified = make_neutral(app, "mediator", ["en"], verified=False)
    deactivate(app, inactive)
    dispute = Dispute(app, api)
    give_load(app, busy, 1)
    dispute.to_mediation()

    assert assigned(dispute) == free.id
    assert {u.id for u in (busy, french, inactive, unverified)}.isdisjoint({assigned(dispute)})
    event = dispute.events()[-1]
    assert (event["kind"], event["actor"]) == ("mediator_assigned", "system")
    assert "dispute" in mailbox.to(free.email)[-1]["Subject"].lower()
    assert notice_kinds(app, free) == ["neutral_assigned"]
    assert "neutral_assigned_party" in notice_kinds(app, dispute.users["claimant"])


def test_speaking_both_parties_languages_beats_a_lighter_load(app, api):
    one_language = make_neutral(app, "mediator", ["en"])
    both = make_neutral(app, "mediator", ["de", "en"])
    dispute = Dispute(app, api, respondent__language="de")
    give_load(app, both, 3)
    dispute.to_mediation()
    assert assigned(dispute) == both.id
    assert assigned(dispute) != one_language.id


def test_a_mediator_speaking_only_the_respondents_language_is_eligible(app, api):
    german = make_neutral(app, "mediator", ["de"])
    dispute = Dispute(app, api, claimant_language="zh_Hans", respondent__language="de")
    dispute.to_mediation()
    assert assigned(dispute) == german.id


@pytest.mark.parametrize(
    "conflict",
    [
        "Rheinland Electronics GmbH",
        SHOP,
        "merchant.example",
        "@merchant.example",
        "SHOP@Merchant.example",
    ],
)
def test_a_declared_conflict_with_either_party_excludes(app, api, conflict):
    conflicted = make_neutral(app, "mediator", ["en"], conflicts=[conflict])
    clear = make_neutral(app, "mediator", ["en"], conflicts=["another-shop.example"])
    dispute = Dispute(app, api)
    give_load(app, clear, 5)  # the conflicted one would win on load alone
    dispute.to_mediation()
    assert assigned(dispute) == clear.id
    assert assigned(dispute) != conflicted.id


def test_a_conflict_with_the_claimant_excludes(app, api):
    dispute = Dispute(app, api)
    claimant_email = dispute.users["claimant"].email
    make_neutral(app, "mediator", ["en"], conflicts=[claimant_email])
    dispute.to_mediation()
    assert assigned(dispute) is None
    assert dispute.kinds()[-1] == "mediator_waiting"


def test_with_nobody_free_the_case_waits_is_shown_to_case_managers_and_is_assigned_later(
    app, api, make_web, mailbox
):
    full = make_neutral(app, "mediator", ["en"], caseload_ceiling=1)
    manager = make_user(app, "case_manager")
    dispute = Dispute(app, api)
    other = Dispute(app, api, respondent_email="other@shop.example")
    other.to_mediation()
    assert assigned(other) == full.id
    dispute.to_mediation()
    assert assigned(dispute) is None
    assert dispute.kinds()[-2:] == ["escalate", "mediator_waiting"]

    page = make_web()
    page.login(manager.email)
    listing = page.get("/disputes").get_data(as_text=True)
    assert (
        "Waiting for a mediator or arbitrator" in listing and dispute.data["reference"] in listing
    )
    assert "Waiting for a free mediator" in page.get(f"/disputes/{dispute.id}").get_data(
        as_text=True
    )

    # While it waits, case managers are reminded every day; the 30 days have not started.
    start = clock.now()
    assert dispute.at(start + timedelta(hours=23))["assigned"] == 0
    assert dispute.at(start + timedelta(days=1, minutes=1))["timeouts"] == 1
    assert dispute.kinds()[-1] == "reminder"
    assert mailbox.to(manager.email)
    assert dispute.at(start + timedelta(days=1, minutes=2))["timeouts"] == 0

    # The mediator's other case ends; the next sweep assigns, and the 30 days run from then.
    other.must("claimant", "withdraw", reason="sorted out")
    later = start + timedelta(days=3)
    assert dispute.at(later)["assigned"] == 1
    assert assigned(dispute) == full.id
    case = dispute.case()
    assert case.neutral_assigned_at == later
    assert case.deadline_at == later + timedelta(days=30)
    assert dispute.read()["deadline_at"] == (later + timedelta(days=30)).isoformat()


def test_the_ceiling_counts_only_cases_in_mediation(app, api):
    mediator = make_neutral(app, "mediator", ["en"], caseload_ceiling=2)
    dispute = Dispute(app, api)
    give_load(app, mediator, 1)
    give_load(app, mediator, 3, state="settled")
    dispute.to_mediation()
    assert assigned(dispute) == mediator.id


def test_a_case_manager_reassigns_with_a_reason_to_a_named_or_chosen_mediator(app, api):
    first = make_neutral(app, "mediator", ["en"])
    second = make_neutral(app, "mediator", ["en"])
    third = make_neutral(app, "mediator", ["en"])
    conflicted = make_neutral(app, "mediator", ["en"], conflicts=[SHOP])
    manager = make_user(app, "case_manager")
    dispute = Dispute(app, api)
    give_load(app, second, 1)
    give_load(app, third, 2)
    dispute.to_mediation()
    assert assigned(dispute) == first.id

    refused = dispute.act(manager, "reassign")
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    refused = dispute.act(manager, "reassign", reason="x", neutral_id=conflicted.id)
    assert refused.status_code == 422 and "neutral_id" in refused.get_json()["errors"]
    assert assigned(dispute) == first.id

    dispute.must(manager, "reassign", reason="workload", neutral_id=third.id)
    assert assigned(dispute) == third.id
    # Chosen by the rules: the least loaded, but never the one just taken off.
    dispute.must(manager, "reassign", reason="the parties asked")
    assert assigned(dispute) == first.id
    events = [e for e in dispute.events() if e["kind"] in ("reassign", "mediator_assigned")]
    assert [e["kind"] for e in events] == [
        "mediator_assigned",
        "reassign",
        "mediator_assigned",
        "reassign",
        "mediator_assigned",
    ]
    assert events[1]["data"]["previous"] == first.id and "reason_id" in events[1]["data"]
    assert dispute.act(dispute.users["claimant"], "reassign", reason="x").status_code == 403


def test_a_recusing_mediator_is_replaced_and_never_chosen_again_for_the_case(app, api):
    first = make_neutral(app, "mediator", ["en"])
    second = make_neutral(app, "mediator", ["en"])
    manager = make_user(app, "case_manager")
    dispute = Dispute(app, api)
    give_load(app, second, 1)
    dispute.to_mediation()
    assert assigned(dispute) == first.id

    refused = dispute.act(first, "recuse")
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    assert dispute.act(first, "recuse", reason="I once advised the merchant").status_code == 204
    assert assigned(dispute) == second.id
    assert dispute.client(first).get(f"/api/v1/disputes/{dispute.id}").status_code == 404

    dispute.must(second, "recuse", reason="holiday")
    assert assigned(dispute) is None
    assert dispute.kinds()[-2:] == ["recuse", "mediator_waiting"]
    dispute.must(manager, "reassign", reason="try again")
    assert assigned(dispute) is None  # both recused; the case keeps waiting
    refused = dispute.act(manager, "reassign", reason="x", neutral_id=first.id)
    assert refused.status_code == 422


def test_the_mediation_deadline_runs_from_assignment(app, api):
    make_neutral(app, "mediator", ["en"])
    dispute = Dispute(app, api)
    start = clock.now()
    with clock.travel_to(start + timedelta(hours=5)):
        dispute.to_mediation()
    assert dispute.case().deadline_at == start + timedelta(hours=5, days=30)


def test_the_arbitrator_is_assigned_by_the_same_rules_and_is_never_the_mediator(app, api):
    mediator = make_neutral(app, "mediator", ["en"])
    busy = make_neutral(app, "arbitrator", ["en"])
    german = make_neutral(app, "arbitrator", ["de"])
    free = make_neutral(app, "arbitrator", ["en"])
    dispute = Dispute(app, api, arbitration_consent=True)
    give_load(app, busy, 1, state="arbitration")
    dispute.to_mediation()
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must(mediator, "escalate", reason="no movement")

    data = dispute.read()
    assert data["state"] == "arbitration"
    assert data["arbitrator"]["id"] == free.id
    assert data["arbitrator"]["id"] not in (german.id, data["mediator"]["id"])
    assert dispute.kinds()[-2:] == ["escalate", "arbitrator_assigned"]
    # The mediator stays on record but no longer works the case.
    assert dispute.act(mediator, "propose_settlement").status_code == 409
