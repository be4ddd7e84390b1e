"""Neutrals at work: choosing and assigning a mediator or arbitrator, and mediation proposals.

Assignment picks, among active neutrals of the role, those who speak the claimant's or the
respondent's language (both is better), have no declared conflict with either party (a merchant
name, an e-mail address or a domain), are under their caseload ceiling and have not recused from or
mediated this case before an arbitration; the least loaded first. The chosen neutral's row is taken
for writing before the load is counted, so two assignments at once never exceed a ceiling.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.models import User
from odr.bulk import ids_in
from odr.cases.batch import current_batch, read_once
from odr.cases.events import append_event
from odr.cases.firing import next_deadline
from odr.cases.group import batch_of
from odr.cases.guards import GuardContext
from odr.cases.hooks import after, effect, on_enter, on_leave, parameters
from odr.cases.models import REMEDIES, Case, Event
from odr.cases.performance import set_case_performance, terms_performance
from odr.db import write_transaction
from odr.delivery.notices import tell_parties, tell_user
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


def party_marks(case: Case) -> set[str]:
    """What a declared conflict may name of the parties: names, e-mail addresses, domains."""
    return {
        case.respondent_name.lower(),
        case.claimant_name.lower(),
        case.respondent_email.lower(),
        case.claimant_email.lower(),
        _domain(case.respondent_email),
        _domain(case.claimant_email),
    }


def has_conflict(conflicts: list[str], marks: set[str]) -> bool:
    """A declared conflict names a party: its name, its e-mail address or its e-mail domain."""
    return any(entry.strip().lower().lstrip("@") in marks for entry in conflicts if entry.strip())


def _languages(values: list[str]) -> set[str]:
    return {normalise_language(v) or v for v in values}


def excluded_neutrals(case: Case) -> set[int]:
    """Who may not take this case: those who recused from it, and for arbitration, whoever
    mediated it."""
    batch = current_batch()
    if batch is not None:
        past = read_once("assignments", lambda: _past_assignments([c.id for c in batch.cases]))
    else:
        past = _past_assignments([case.id])
    rows = past.get(case.id, [])
    excluded = set()
    for kind, actor_id, data in rows:
        if kind == "recuse":
            excluded.add(actor_id)
        elif case.state == "arbitration":
            excluded.add(data.get("neutral"))
    if case.state == "arbitration" and case.mediator_id:
        excluded.add(case.mediator_id)
    return excluded


def _past_assignments(case_ids: list[int]) -> dict[int, list[tuple[str, int | None, dict]]]:
    found: dict[int, list[tuple[str, int | None, dict]]] = {}
    rows = db.session.execute(
        sa.select(Event.case_id, Event.kind, Event.actor_id, Event.data).where(
            ids_in(db.session, Event.case_id, case_ids),
            Event.kind.in_(("recuse", "mediator_assigned")),
        )
    )
    for case_id, kind, actor_id, data in rows:
        found.setdefault(case_id, []).append((kind, actor_id, data))
    return found


@dataclass
class Neutral:
    """What assignment reads of a mediator or arbitrator, with their load."""

    id: int
    name: str
    email: str
    language: str
    languages: set[str]
    conflicts: list[str]
    ceiling: int
    load: int


def neutral_pool(role: str) -> list[Neutral]:
    """The active neutrals of a role; read once for a group of changes."""
    return read_once(f"pool:{role}", lambda: _load_pool(role))


def _load_pool(role: str) -> list[Neutral]:
    batch = current_batch()
    query = sa.select(
        User.id,
        User.name,
        User.email,
        User.language,
        User.languages,
        User.conflicts,
        User.caseload_ceiling,
        User.caseload,
    ).where(User.role == role, User.active, User.email_verified_at.is_not(None))
    if batch is not None:  # held to the group's end, its loads are counted in memory
        query = query.order_by(User.id).with_for_update()
    pending = _load_changes() if batch is not None else {}
    rows = db.session.execute(query)
    pool = [
        Neutral(
            id=row.id,
            name=row.name,
            email=row.email,
            language=row.language,
            languages=_languages(row.languages or [row.language]),
            conflicts=row.conflicts or [],
            ceiling=row.caseload_ceiling or DEFAULT_CEILING,
            load=row.caseload + pending.get(row.id, 0),
        )
        for row in rows
    ]
    return pool


def candidates(case: Case, role: str, exclude: set[int] = frozenset()) -> list[tuple[Neutral, int]]:
    """Eligible neutrals with their load, best first."""
    parties = _languages([case.claimant_language]), _languages([case.respondent_language])
    marks = party_marks(case)
    ranked = []
    for neutral in neutral_pool(role):
        matches = sum(1 for party in parties if party & neutral.languages)
        if (
            neutral.id in exclude
            or matches == 0
            or neutral.load >= neutral.ceiling
            or (neutral.conflicts and has_conflict(neutral.conflicts, marks))
        ):
            continue
        ranked.append((neutral, -matches))
    ranked.sort(key=lambda item: (item[1], item[0].load, item[0].id))
    return [(neutral, neutral.load) for neutral, _ in ranked]


def _claim(neutral: Neutral) -> int | None:
    """Add a case to the neutral's load unless that passes their ceiling; the new load, or None.

    One conditional UPDATE: the database takes the neutral's row, so two assignments at once
    never pass a ceiling whatever either of them read before. A group of changes holds the
    pool's rows from the start and counts in memory, writing the loads once at its end.
    """
    if current_batch() is not None:
        if neutral.load >= neutral.ceiling:
            return None
        neutral.load += 1
        _load_changes()[neutral.id] += 1
        return neutral.load
    load = db.session.execute(
        sa.update(User)
        .where(User.id == neutral.id, User.caseload < neutral.ceiling)
        .values(caseload=User.caseload + 1)
        .returning(User.caseload)
        .execution_options(synchronize_session=False)
    ).scalar()
    if load is None:
        neutral.load = neutral.ceiling  # full, whatever we read before
        return None
    neutral.load = load
    return load


def release_neutral(case: Case, role: str) -> None:
    """The case leaves the neutral's load (their stage ended, or they are taken off it)."""
    neutral_id = getattr(case, f"{role}_id")
    if neutral_id is None:
        return
    batch = current_batch()
    if batch is None:
        db.session.execute(
            sa.update(User)
            .where(User.id == neutral_id)
            .values(caseload=User.caseload - 1)
            .execution_options(synchronize_session=False)
        )
        return
    _load_changes()[neutral_id] -= 1
    for neutral in batch.memo.get(f"pool:{role}", []):
        if neutral.id == neutral_id:
            neutral.load -= 1


def _load_changes() -> Counter:
    """The group's changes of each neutral's load, written when the group ends."""
    return read_once("load_changes", _start_load_changes)


def _start_load_changes() -> Counter:
    changes: Counter = Counter()
    current_batch().at_end.append(lambda: _write_load_changes(changes))
    return changes


def _write_load_changes(changes: Counter) -> None:
    users = User.__table__
    rows = [{"neutral": i, "change": n} for i, n in sorted(changes.items()) if n]
    if rows:
        db.session.execute(
            users.update()
            .where(users.c.id == sa.bindparam("neutral"))
            .values(caseload=users.c.caseload + sa.bindparam("change")),
            rows,
        )


def recount_caseloads() -> None:
    """Set every neutral's load from the cases themselves (after rows were written directly,
    as by a data import; the services keep it otherwise)."""
    load = sa.select(sa.func.count()).where(
        sa.or_(
            sa.and_(Case.mediator_id == User.id, Case.state == WORKING_STATE["mediator"]),
            sa.and_(Case.arbitrator_id == User.id, Case.state == WORKING_STATE["arbitrator"]),
        )
    )
    db.session.execute(
        sa.update(User)
        .values(caseload=load.scalar_subquery())
        .execution_options(synchronize_session=False)
    )


def assign_neutral(
    case: Case, role: str, *, prefer: int | None = None, exclude: set[int] = frozenset()
) -> Neutral | None:
    """Assign the best eligible neutral to a case held for writing; None when nobody is free.

    Records the assignment (or the wait) in the event log and tells the people concerned.
    """
    exclude = excluded_neutrals(case) | set(exclude)
    for candidate, _load in candidates(case, role, exclude):
        if prefer is not None and candidate.id != prefer:
            continue
        load = _claim(candidate)
        if load is None:
            continue
        setattr(case, f"{role}_id", candidate.id)
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
            data={"neutral": candidate.id, "load": load - 1},
        )
        _tell_assignment(case, candidate, role)
        return candidate
    if prefer is not None:
        raise ValidationError({"neutral_id": _l("This person cannot take the case.")})
    case.deadline_at = next_deadline(
        case, get_workflow(case.workflow, case.workflow_version).states[case.state]
    )
    append_event(case, kind=f"{role}_waiting", actor=None, role="system", data={})
    return None


def _tell_assignment(case: Case, neutral: Neutral, role: str) -> None:
    tell_user(case, neutral, kind="neutral_assigned")
    tell_parties(
        case,
        parties=("claimant", "respondent"),
        kind="neutral_assigned_party",
        actor=None,
        neutral=neutral,
    )


@on_leave("mediation")
def _release_mediator(case: Case, to: str) -> None:
    release_neutral(case, "mediator")


@on_leave("arbitration")
def _release_arbitrator(case: Case, to: str) -> None:
    release_neutral(case, "arbitrator")


@on_enter("mediation")
def _assign_mediator(case: Case, came_from: str) -> None:
    _assign_on_entry(case, "mediator")


@on_enter("arbitration")
def _assign_arbitrator(case: Case, came_from: str) -> None:
    _assign_on_entry(case, "arbitrator")


def _assign_on_entry(case: Case, role: str) -> None:
    """Assign at once; in a group of changes, after the group's other work (in the same order),
    so that the pool's rows, which every group that assigns must hold, are held only briefly."""
    setattr(case, f"{role}_id", None)
    case.neutral_assigned_at = None
    if current_batch() is None:
        assign_neutral(case, role)
        return
    read_once("assign_later", _start_assigning_later).append((case, role))


def _start_assigning_later() -> list[tuple[Case, str]]:
    waiting: list[tuple[Case, str]] = []

    def assign_all() -> None:
        for case, role in waiting:
            assign_neutral(case, role)

    current_batch().before_writes.append(assign_all)
    return waiting


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
    release_neutral(ctx.case, role)
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


def assign_waiting_cases(limit: int = 200, per_transaction: int = 50) -> int:
    """Give a neutral to every case that waits for one (run by the sweep); returns how many."""
    waiting = db.session.scalars(
        sa.select(Case.id).where(WAITING_FOR_A_NEUTRAL).order_by(Case.id).limit(limit)
    ).all()
    db.session.rollback()
    assigned = 0
    for start in range(0, len(waiting), per_transaction):
        group_ids = list(waiting[start : start + per_transaction])
        with write_transaction(db.session), batch_of(group_ids) as group:
            for case in group.cases:
                role = {"mediation": "mediator", "arbitration": "arbitrator"}.get(case.state)
                if role is None or getattr(case, f"{role}_id") is not None:
                    continue
                if candidates(case, role, excluded_neutrals(case)):
                    assigned += assign_neutral(case, role) is not None
    return assigned


# ---- proposals ----------------------------------------------------------------------------------


def parse_terms(params: dict[str, Any], *, text_field: str = "terms") -> dict[str, Any]:
    """Amount, remedy, terms (or reasons) and performance date of a proposal or an award; without
    a date the effect fills in the default (14 days for a proposal, 30 for an award)."""
    reader = FieldReader()
    amount = reader.money(params, "amount", "amount", allow_zero=True)
    remedy = reader.choice(params, "remedy", "remedy", REMEDIES)
    text = reader.string(params, text_field, text_field, max_length=10000, multiline=True)
    due = reader.date(params, "performance_due", "performance_due", required=False, past=False)
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
    due, zone = terms_performance(ctx.case, ctx.params["performance_due"], "settled")
    proposal = Proposal(
        case_id=ctx.case.id,
        mediator_id=ctx.actor.id,
        amount_minor=amount_minor,
        currency=currency,
        remedy=ctx.params["remedy"],
        terms=ctx.params["terms"],
        performance_due=due,
        performance_zone=zone,
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
        set_case_performance(
            ctx.case, proposal.performance_due, proposal.performance_zone, "settled"
        )
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
