"""`fire`: the only way a case changes. Checks, fires, records and commits as one transaction,
announcing what happened to the listeners registered in `odr.cases.hooks`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.accounts.models import User
from odr.cases.events import append_event
from odr.cases.hooks import (
    AFTER,
    EFFECTS,
    EVERY_ACTION,
    ON_ENTER,
    ON_FIRED,
    ON_LEAVE,
    ON_REMINDER,
    PARAMETERS,
)
from odr.cases.models import NOTE_FIELDS, Case, CaseNote
from odr.cases.performance import day_ends_at
from odr.cases.reading import load_context
from odr.db import write_transaction
from odr.errors import Conflict, Forbidden, NotFound, StaleVersion
from odr.extensions import db
from odr.policy import case_role, decide, refusal_before_guards, require_confirmed_email
from odr.queue import schedule_delivery, schedule_rendering
from odr.workflow import get_workflow


def lock_case(case_id: int) -> Case:
    """Take the case row for writing: FOR UPDATE on PostgreSQL; SQLite already holds the lock."""
    return db.session.execute(
        sa.select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def deadline_rule(case: Case, state: dict[str, Any]) -> dict[str, Any] | None:
    """The deadline rule in force: while a state waits for its neutral, the waiting rule."""
    deadline = state.get("deadline")
    if deadline and state.get("neutral") and getattr(case, f"{state['neutral']}_id") is None:
        return deadline.get("waiting")
    return deadline


def next_deadline(case: Case, state: dict[str, Any]) -> datetime | None:
    """When the next timer of a case fires, from the deadline rules of its state."""
    rule = deadline_rule(case, state)
    if not rule:
        return None
    if rule.get("performance_due") and case.performance_due is not None:
        return day_ends_at(case.performance_due, case.performance_zone)
    days = rule["days"]
    if rule.get("answered_days") and case.respondent_answered_at is not None:
        days = rule["answered_days"]
    if state.get("neutral") and rule is state["deadline"]:
        start = case.neutral_assigned_at or case.state_entered_at
        return start + timedelta(days=days)  # runs from the assignment
    if "waiting" in (state.get("deadline") or {}):
        return clock.now() + timedelta(days=days)
    return case.state_entered_at + timedelta(days=days)


def fire(
    case: Case,
    action: str,
    actor: User | None,
    *,
    expected_version: int | None = None,
    **params: Any,
) -> Case:
    """The only way a case changes state. Checks, fires, records and commits as one transaction."""
    refuse_unless_allowed(case, action, actor)
    checker = PARAMETERS.get(action)
    if checker is not None:
        params = checker(params)
    with write_transaction(db.session):
        case = lock_case(case.id)
        if expected_version is not None and case.version != expected_version:
            if case_role(actor, case) is None:
                raise NotFound()
            raise StaleVersion("the dispute has changed since you read it")
        _fire_locked(case, action, actor, params)
    schedule_delivery()
    if db.session.info.pop("documents_to_render", None):
        schedule_rendering()
    return case


def refuse_unless_allowed(case: Case, action: str, actor: User | None) -> None:
    """Who may not act at all (unknown action, not their case, wrong role or stage) is told so
    before being told what is wrong with the input."""
    require_confirmed_email(actor)
    workflow = get_workflow(case.workflow, case.workflow_version)
    if action not in workflow.actions:
        raise NotFound("unknown action")
    refusal = refusal_before_guards(workflow, case_role(actor, case), action, case.state)
    _raise_refusal(refusal, action=action, state=case.state)


def _fire_locked(case: Case, action: str, actor: User | None, params: dict[str, Any]) -> None:
    workflow = get_workflow(case.workflow, case.workflow_version)
    role = case_role(actor, case)
    ctx = load_context(case, actor, role, params)
    decision = decide(workflow, ctx, action)
    _raise_refusal(decision.reason, action=action, state=case.state)
    before = case.state
    if not workflow.machine.events[action].trigger(case, ctx=ctx):
        raise Conflict("guard", action=action, state=case.state)
    data = {"from": before, "to": case.state}
    data |= EFFECTS[action](ctx, decision.transition) if action in EFFECTS else {}
    data |= _record_notes(case, actor, params)
    entered = case.state != before
    if entered:
        case.state_entered_at = clock.now()
    for hook in ON_FIRED.get(EVERY_ACTION, []) + ON_FIRED.get(action, []):
        hook(ctx, action, before, data)
    case.deadline_at = next_deadline(case, workflow.states[case.state])
    case.version += 1
    append_event(case, kind=action, actor=actor, role=role, data=data)
    for hook in AFTER.get(action, ()):
        hook(ctx, data)
    if entered:
        for hook in ON_LEAVE.get(before, ()):
            hook(case, case.state)
        for hook in ON_ENTER.get(case.state, ()):
            hook(case, before)


def _raise_refusal(reason: str | None, **detail: Any) -> None:
    if reason == "not_visible":
        raise NotFound()
    if reason == "forbidden":
        raise Forbidden(detail.get("action"))
    if reason:
        raise Conflict(reason, **detail)


def fire_timeout(case: Case) -> int:
    """Act on one case's passed deadline as the `system` actor, inside the caller's write
    transaction that holds the row; 1 when it acted, 0 when the deadline is not due (any more)."""
    if case.deadline_at is None or case.deadline_at > clock.now():
        return 0
    workflow = get_workflow(case.workflow, case.workflow_version)
    deadline = deadline_rule(case, workflow.states[case.state])
    if deadline.get("timeout"):
        _fire_locked(case, deadline["timeout"], None, {})
    else:
        for hook in ON_REMINDER:
            hook(case, deadline["remind"])
        case.deadline_at = clock.now() + timedelta(days=deadline["days"])
        case.version += 1
        append_event(
            case, kind="reminder", actor=None, role="system", data={"to": deadline["remind"]}
        )
    return 1


def _record_notes(case: Case, actor: User | None, params: dict[str, Any]) -> dict[str, int]:
    ids = {}
    for field in NOTE_FIELDS:
        if params.get(field):
            note = CaseNote(
                case_id=case.id, author_id=actor.id if actor else None, body=params[field]
            )
            db.session.add(note)
            db.session.flush()
            ids[f"{field}_id"] = note.id
    return ids
