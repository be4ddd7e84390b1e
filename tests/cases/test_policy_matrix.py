"""Every action in every state, by every role, through the `fire` service: allowed or refused
exactly as the lifecycle table of DESIGN.md says. The expected table below is written from
DESIGN.md by hand, not derived from workflows/, so a slip in either shows up here."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.arbitration.models import Award, Statement
from odr.cases.firing import fire
from odr.cases.models import STATES, Case, Evidence
from odr.errors import Conflict, Forbidden, NotFound
from odr.evidence.checks import CheckedFile, check_upload
from odr.extensions import db
from odr.mediation.models import Proposal
from odr.negotiation.models import Offer
from tests.factories import lodge, make_user

P = ("claimant", "respondent")
OPEN = ("filed", "negotiation", "mediation", "arbitration", "referred", "with_partner")

# action -> {state: roles that may fire it there}
TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "admit": {"filed": ("case_manager",)},
    "reject": {"filed": ("case_manager",)},
    "refer": {"filed": ("case_manager",), "negotiation": ("case_manager",)},
    "reroute": {"referred": ("case_manager",)},
    "set_governing_law": {"filed": ("case_manager",), "negotiation": ("case_manager",)},
    "make_offer": {"negotiation": P},
    "post_message": {
        "negotiation": P,
        "mediation": (*P, "mediator"),
        "arbitration": (*P, "arbitrator"),
        "settled": P,
        "awarded": P,
    },
    "write_note": {"mediation": ("mediator",)},
    "add_evidence": {
        "filed": ("claimant",),
        **{
            s: P
            for s in (
                "negotiation",
                "mediation",
                "arbitration",
                "settled",
                "awarded",
                "referred",
                "with_partner",
            )
        },
    },
    "reassign": {"mediation": ("case_manager",), "arbitration": ("case_manager",)},
    "recuse": {"mediation": ("mediator",), "arbitration": ("arbitrator",)},
    "submit_statement": {"arbitration": P},
    "accept_offer": {"negotiation": P},
    "reject_offer": {"negotiation": P},
    "escalate": {"negotiation": (*P, "system"), "mediation": (*P, "mediator")},
    "withdraw": {state: ("claimant",) for state in OPEN},
    "propose_settlement": {"mediation": ("mediator",)},
    "accept_proposal": {"mediation": P},
    "decline_proposal": {"mediation": P},
    "consent_to_arbitration": {s: P for s in ("filed", "negotiation", "mediation")},
    "fail_mediation": {"mediation": ("mediator", "system")},
    "issue_award": {"arbitration": ("arbitrator",)},
    "confirm_performance": {"settled": ("claimant",), "awarded": ("claimant",)},
    "declare_performance": {"settled": ("respondent",), "awarded": ("respondent",)},
    "report_breach": {"settled": ("claimant",), "awarded": ("claimant",)},
    "performance_due_passed": {"settled": ("system",), "awarded": ("system",)},
    "accept_referral": {"referred": ("partner",)},
    "decline_referral": {"referred": ("partner",)},
    "expire_referral": {"referred": ("system",)},
    "report_progress": {"with_partner": ("partner",)},
    "report_outcome": {"with_partner": ("partner",)},
}
# Where a guard refuses in the fixture below (no arbitration consent, no mediation proposal,
# no partner agency to refer or re-route to yet, the statement window not open: no arbitrator
# assignment time).
GUARD_REFUSES = {
    ("submit_statement", "arbitration"),
    ("escalate", "mediation"),
    ("accept_proposal", "mediation"),
    ("decline_proposal", "mediation"),
    ("refer", "filed"),
    ("refer", "negotiation"),
    ("reroute", "referred"),
}
MEDIATOR: dict[int, int] = {}
ARBITRATOR: dict[int, int] = {}
ROLES = (*P, "mediator", "arbitrator", "case_manager", "system", "other_consumer", "other_merchant")
TERMS = {
    "amount": {"amount": "50.00", "currency": "EUR"},
    "remedy": "partial_refund",
    "performance_due": (clock.today() + timedelta(days=30)).isoformat(),
}
PARAMS = {
    "reject": {"reason": "out of scope"},
    "set_governing_law": {"country": "DE", "reason": "the consumer chose German law"},
    "post_message": {"body": "hello"},
    "reassign": {"reason": "workload"},
    "reroute": {"reason": "the agency has a conflict"},
    "recuse": {"reason": "I know the merchant"},
    "write_note": {"body": "a note"},
    "submit_statement": {"body": "my statement"},
    "propose_settlement": {**TERMS, "terms": "half back"},
    "issue_award": {**TERMS, "reasons": "because"},
    "make_offer": {
        "body": {"amount": {"amount": "10.00", "currency": "EUR"}, "remedy": "refund", "terms": "t"}
    },
}


def expected(action: str, state: str, role: str) -> int:
    if role.startswith("other_"):
        return 404
    everywhere = {r for roles in TABLE[action].values() for r in roles}
    if role not in everywhere:
        return 403
    if role not in TABLE[action].get(state, ()):
        return 409
    if (action, state) in GUARD_REFUSES:
        return 409
    return 200


def test_table_covers_every_declared_action(app):
    from odr.workflow import get_workflow

    with app.app_context():
        assert set(TABLE) == set(get_workflow("dispute").actions)


@pytest.fixture
def people(app, api):
    people = {
        "claimant": make_user(app, "consumer"),
        "respondent": make_user(app, "merchant", email="shop@merchant.example"),
        "mediator": make_user(app, "mediator"),
        "arbitrator": make_user(app, "arbitrator"),
        "case_manager": make_user(app, "case_manager"),
        "other_consumer": make_user(app, "consumer"),
        "other_merchant": make_user(app, "merchant"),
        "system": None,
    }
    dispute = lodge(api.as_user(people["claimant"]))
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        case.mediator_id = people["mediator"].id
        case.arbitrator_id = people["arbitrator"].id
        for by in P:
            author = people[by].id
            db.session.add(
                Offer(
                    case_id=case.id,
                    by=by,
                    author_id=author,
                    amount_minor=100,
                    currency="EUR",
                    remedy="refund",
                    terms="t",
                )
            )
        db.session.commit()
        people["case_id"] = case.id
        MEDIATOR[case.id], ARBITRATOR[case.id] = people["mediator"].id, people["arbitrator"].id
    return people


def _reset(case_id: int, state: str) -> None:
    db.session.execute(
        sa.update(Case)
        .where(Case.id == case_id)
        .values(
            state=state,
            claimant_arbitration_consent=False,
            respondent_arbitration_consent=False,
            performance_declared_at=None,
            breach_reported_at=None,
            mediator_id=MEDIATOR[case_id],
            arbitrator_id=ARBITRATOR[case_id],
            neutral_assigned_at=None,
        )
    )
    db.session.execute(sa.update(Offer).where(Offer.case_id == case_id).values(status="open"))
    for model in (Proposal, Statement, Award, Evidence):
        db.session.execute(sa.delete(model).where(model.case_id == case_id))
    first_two = sa.select(Offer.id).where(Offer.case_id == case_id).order_by(Offer.id).limit(2)
    db.session.execute(
        sa.delete(Offer).where(
            Offer.case_id == case_id, Offer.id.not_in(first_two.scalar_subquery())
        )
    )
    db.session.commit()


def _stored_file() -> CheckedFile:
    from odr.storage import get_storage

    data = b"The courier's receipt, copied out.\n"
    get_storage().put(data)
    return check_upload("receipt.txt", data)


def _outcome(case_id: int, action: str, actor) -> int:
    case = db.session.get(Case, case_id)
    params = dict(PARAMS.get(action, {}))
    if action in ("accept_offer", "reject_offer"):
        params["offer"] = db.session.scalars(
            sa.select(Offer).where(Offer.case_id == case_id, Offer.status == "open")
        ).all()[0 if actor is not None and actor.role == "merchant" else 1]
    if action == "add_evidence":  # a file is checked and stored before `fire` records it
        params["file"] = _stored_file()
    try:
        fire(case, action, actor, **params)
    except NotFound:
        return 404
    except Forbidden:
        return 403
    except Conflict:
        return 409
    return 200


@pytest.mark.parametrize("state", STATES)
def test_every_action_by_every_role(app, people, state):
    mismatches = []
    with app.app_context():
        for action in TABLE:
            for role in ROLES:
                _reset(people["case_id"], state)
                got = _outcome(people["case_id"], action, people[role])
                want = expected(action, state, role)
                if got != want:
                    mismatches.append(f"{action} by {role} in {state}: {got}, expected {want}")
    assert mismatches == []
