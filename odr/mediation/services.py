"""Neutrals at work: choosing and assigning a mediator or arbitrator, and mediation proposals.

Assignment picks, among active neutrals of the role, those who speak the claimant's or the
respondent's language (both is better), have no declared conflict with either party (a merchant
name, an e-mail address or a domain), are under their caseload ceiling and have not recused from or
mediated this case before an arbitration; the least loaded first. The chosen neutral's row is taken
for writing before the load is counted, so two assignments at once never exceed a ceiling.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.models import User
from odr.cases.events import append_event
from odr.cases.guards import GuardContext
from odr.cases.models import REMEDIES, Case, Event
from odr.cases.services import (
    after,
    effect,
    lock_case,
    next_deadline,
    on_enter,
    parameters,
    tell_parties,
    tell_user,
)
from odr.db import write_transaction
from odr.errors import ValidationError
from odr.extensions import db
from odr.i18n import normalise_language
from odr.mediation.models import Proposal
from odr.validation import FieldReader
from odr.workflow import Transition, get_workflow

DEFAULT_CEILING = 50
# The state whose open cases count towards each kind of neutral's load.
WORKING_STATE = {"mediator": "mediation", "arbitrator": "arbitration"}
WAITING_FOR_A_NEUTRAL = sa.or_(
    sa.and_(Case.state == "mediation", Case.mediator_id.is_(None)),
    sa.and_(Case.state == "arbitration", Case.arbitrator_id.is_(None)),
)


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def has_conflict(neutral: Any, case: Case) -> bool:
    """A declared conflict names a party: its name, its e-mail address or its e-mail domain."""
    names = {case.respondent_name.lower(), case.claimant_name.lower()}
    addresses = {case.respondent_email.lower(), case.claimant_email.lower()}
    domains = {_domain(case.respondent_email), _domain(case.claimant_email)}
    for entry in neutral.conflicts or []:
        entry = entry.strip().lower()
        if entry and (entry in names or entry in addresses or entry.lstrip("@") in domains):
            return True
    return False


def _languages(values: list[str]) -> set[str]:
    return {normalise_language(v) or v for v in values}


def excluded_neutrals(case: Case) -> set[int]:
    """Who may not take this case: those who recused from it, and for arbitration, whoever
    mediated it."""
    rows = db.session.execute(
        sa.select(Event.kind, Event.actor_id, Event.data).where(
            Event.case_id == case.id,
            Event.kind.in_(("recuse", "mediator_assigned")),
        )
    )
    excluded = set()
    for kind, actor_id, data in rows:
        if kind == "recuse":
            excluded.add(actor_id)
        elif case.state == "arbitration":
            excluded.add(data.get("neutral"))
    if case.state == "arbitration" and case.mediator_id:
        excluded.add(case.mediator_id)
    return excluded


def candidates(case: Case, role: str, exclude: set[int] = frozenset()) -> list[tuple[Any, int]]:
    """Eligible neutrals (rows with the id, name and what decides) with their load, best first."""
    pool = db.session.execute(
        sa.select(
            User.id, User.name, User.language, User.languages, User.conflicts, User.caseload_ceiling
        ).where(User.role == role, User.active, User.email_verified_at.is_not(None))
    ).all()
    neutral_id = getattr(Case, f"{role}_id")
    loads = dict(
        db.session.execute(
            sa.select(neutral_id, sa.func.count())
            .where(neutral_id.in_([n.id for n in pool]), Case.state == WORKING_STATE[role])
            .group_by(neutral_id)
        ).all()
    )
    parties = _languages([case.claimant_language]), _languages([case.respondent_language])
    ranked = []
    for neutral in pool:
        spoken = _languages(neutral.languages or [neutral.language])
        matches = sum(1 for party in parties if party & spoken)
        load = loads.get(neutral.id, 0)
        if (
            neutral.id in exclude
            or matches == 0
            or has_conflict(neutral, case)
            or load >= (neutral.caseload_ceiling or DEFAULT_CEILING)
        ):
            continue
        ranked.append((neutral, load, -matches))
    ranked.sort(key=lambda item: (item[2], item[1], item[0].id))
    return [(neutral, load) for neutral, load, _ in ranked]


def assign_neutral(
    case: Case, role: str, *, prefer: int | None = None, exclude: set[int] = frozenset()
) -> User | None:
    """Assign the best eligible neutral to a case held for writing; None when nobody is free.

    Records the assignment (or the wait) in the event log and tells the people concerned.
    """
    exclude = excluded_neutrals(case) | set(exclude)
    for candidate, _load in candidates(case, role, exclude):
        if prefer is not None and candidate.id != prefer:
            continue
        # Take the neutral's row, then count again: a concurrent assignment may have filled it.
        neutral = db.session.execute(
            sa.select(User).where(User.id == candidate.id).with_for_update()
        ).scalar_one()
        load = db.session.scalar(
            sa.select(sa.func.count()).where(
                getattr(Case, f"{role}_id") == neutral.id, Case.state == WORKING_STATE[role]
            )
        )
        if load >= (neutral.caseload_ceiling or DEFAULT_CEILING):
            continue
        setattr(case, f"{role}_id", neutral.id)
        case.neutral_assigned_at = clock.now()
        case.deadline_at = next_deadline(
            case, get_workflow(case.workflow, case.workflow_version).states[case.state]
        )
        case.version += 1
        append_event(
            case,
            kind=f"{role}_assigned",
            actor=None,
            role="system",
            data={"neutral": neutral.id, "load": load},
        )
        _tell_assignment(case, neutral, role)
        return neutral
    if prefer is not None:
        raise ValidationError({"neutral_id": _l("This person cannot take the case.")})
    case.deadline_at = next_deadline(
        case, get_workflow(case.workflow, case.workflow_version).states[case.state]
    )
    append_event(case, kind=f"{role}_waiting", actor=None, role="system", data={})
    return None


def _tell_assignment(case: Case, neutral: User, role: str) -> None:
    tell_user(case, neutral, kind="neutral_assigned")
    tell_parties(
        case,
        parties=("claimant", "respondent"),
        kind="neutral_assigned_party",
        actor=None,
        neutral=neutral,
    )


@on_enter("mediation")
def _assign_mediator(case: Case, came_from: str) -> None:
    case.mediator_id, case.neutral_assigned_at = None, None
    assign_neutral(case, "mediator")


@on_enter("arbitration")
def _assign_arbitrator(case: Case, came_from: str) -> None:
    case.arbitrator_id, case.neutral_assigned_at = None, None
    assign_neutral(case, "arbitrator")


def neutral_role(case: Case) -> str:
    return get_workflow(case.workflow, case.workflow_version).states[case.state]["neutral"]


@parameters("reassign")
def _check_reassign(params: dict[str, Any]) -> dict[str, Any]:
    reader = FieldReader()
    reason = reader.string(params, "reason", "reason", max_length=2000, multiline=True)
    neutral = params.get("neutral_id")
    if neutral not in (None, "") and not str(neutral).isdigit():
        reader.fail("neutral_id", _l("Choose a person from the list."))
    reader.raise_if_errors()
    return {"reason": reason, "neutral_id": int(neutral) if neutral not in (None, "") else None}


@parameters("recuse")
def _check_recusal(params: dict[str, Any]) -> dict[str, Any]:
    reader = FieldReader()
    reason = reader.string(params, "reason", "reason", max_length=2000, multiline=True)
    reader.raise_if_errors()
    return {"reason": reason}


@effect("reassign")
@effect("recuse")
def _take_off_the_case(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    role = neutral_role(ctx.case)
    previous = getattr(ctx.case, f"{role}_id")
    setattr(ctx.case, f"{role}_id", None)
    ctx.case.neutral_assigned_at = None
    return {"previous": previous}


@after("reassign")
def _reassign(ctx: GuardContext, data: dict[str, Any]) -> None:
    """A case manager names the new neutral, or lets the rules choose anyone but the last one."""
    chosen, previous = ctx.params.get("neutral_id"), data["previous"]
    exclude = {previous} if chosen is None and previous else set()
    assign_neutral(ctx.case, neutral_role(ctx.case), prefer=chosen, exclude=exclude)


@after("recuse")
def _replace_recused(ctx: GuardContext, data: dict[str, Any]) -> None:
    assign_neutral(ctx.case, neutral_role(ctx.case), exclude={ctx.actor.id})


def assign_waiting_cases(limit: int = 200) -> int:
    """Give a neutral to every case that waits for one (run by the sweep); returns how many."""
    waiting = db.session.scalars(
        sa.select(Case.id).where(WAITING_FOR_A_NEUTRAL).order_by(Case.id).limit(limit)
    ).all()
    db.session.rollback()
    assigned = 0
    for case_id in waiting:
        with write_transaction(db.session):
            case = lock_case(case_id)
            role = {"mediation": "mediator", "arbitration": "arbitrator"}.get(case.state)
            if role is None or getattr(case, f"{role}_id") is not None:
                continue
            exclude = excluded_neutrals(case)
            if candidates(case, role, exclude):
                assigned += assign_neutral(case, role) is not None
    return assigned


# ---- proposals ----------------------------------------------------------------------------------


def parse_terms(params: dict[str, Any], *, text_field: str = "terms") -> dict[str, Any]:
    """Amount, remedy, terms (or reasons) and performance date of a proposal or an award."""
    reader = FieldReader()
    amount = reader.money(params, "amount", "amount", allow_zero=True)
    remedy = reader.choice(params, "remedy", "remedy", REMEDIES)
    text = reader.string(params, text_field, text_field, max_length=10000, multiline=True)
    due = reader.date(params, "performance_due", "performance_due", past=False)
    if due and due > clock.today() + timedelta(days=365):
        reader.fail("performance_due", _l("At most a year ahead."))
    reader.raise_if_errors()
    return {"amount": amount, "remedy": remedy, text_field: text, "performance_due": due}


parameters("propose_settlement")(parse_terms)


@effect("propose_settlement")
def _record_proposal(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    if ctx.proposal is not None and ctx.proposal.status == "open":
        ctx.proposal.status = "superseded"
    amount_minor, currency = ctx.params["amount"]
    proposal = Proposal(
        case_id=ctx.case.id,
        mediator_id=ctx.actor.id,
        amount_minor=amount_minor,
        currency=currency,
        remedy=ctx.params["remedy"],
        terms=ctx.params["terms"],
        performance_due=ctx.params["performance_due"],
    )
    db.session.add(proposal)
    db.session.flush()
    tell_parties(
        ctx.case,
        parties=("claimant", "respondent"),
        kind="proposal_made",
        actor=ctx.actor,
        proposal=proposal,
    )
    return {"proposal": proposal.public_id, "amount": amount_minor, "currency": currency}


@effect("accept_proposal")
def _accept_proposal(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    proposal = ctx.proposal
    setattr(proposal, f"{ctx.role}_answer", "accepted")
    if transition.dest == "settled":
        proposal.status = "accepted"
        ctx.case.performance_due = proposal.performance_due
    _tell_mediator(ctx, "accepted")
    return {"proposal": proposal.public_id}


@effect("decline_proposal")
def _decline_proposal(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    proposal = ctx.proposal
    setattr(proposal, f"{ctx.role}_answer", "declined")
    proposal.status = "declined"
    _tell_mediator(ctx, "declined")
    return {"proposal": proposal.public_id}


def _tell_mediator(ctx: GuardContext, answer: str) -> None:
    mediator = db.session.get(User, ctx.proposal.mediator_id)
    tell_user(
        ctx.case,
        mediator,
        kind="proposal_answered",
        proposal=ctx.proposal,
        party=ctx.role,
        answer=answer,
    )


def cases_waiting_for_a_neutral(limit: int = 100) -> list[Case]:
    """Open cases in mediation or arbitration that nobody is assigned to, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Case).where(WAITING_FOR_A_NEUTRAL).order_by(Case.id).limit(limit)
        )
    )
