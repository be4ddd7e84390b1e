"""Reminders 48 hours before a deadline on which something happens by itself.

A deadline whose rule names a `timeout` acts when it passes: mediation starts, mediation closes as
failed, the case is recorded as not complied with (or resolved), a referral comes back. Whoever can
still act before then is told once, by the sweep, 48 hours ahead: `cases.reminded_deadline_at`
holds the deadline reminded of, so a second sweep sends nothing, and a new deadline (an answer that
extends negotiation, a mediator assigned, a new award) gets its own reminder. Deadlines whose rule
only `remind`s (screening, arbitration, a partner's case, a stage waiting for its neutral) send
their reminder when they pass, re-armed (`odr.delivery.notices`); they get none ahead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.accounts.models import User
from odr.cases.batch import lock_cases
from odr.cases.firing import deadline_rule
from odr.cases.models import Case
from odr.cases.performance import chosen_zone, party_zone
from odr.cases.reading import party_account_ids
from odr.db import write_transaction
from odr.delivery.services import notify, queue_mail
from odr.extensions import db
from odr.policy import agency_users
from odr.workflow import get_workflow

AHEAD = timedelta(hours=48)
BATCH = 200


def who_must_act(case: Case) -> list[str]:
    """Who can still act before the case's deadline passes: a party, the mediator, the partner
    agency; none when the deadline only reminds."""
    workflow = get_workflow(case.workflow, case.workflow_version)
    rule = deadline_rule(case, workflow.states[case.state])
    if not rule or not rule.get("timeout"):
        return []
    if case.state == "negotiation":  # the merchant's answer; once given, either may settle
        return ["respondent"] if case.respondent_answered_at is None else ["claimant", "respondent"]
    if case.state in ("settled", "awarded"):  # performance, then the claimant's confirmation
        return ["claimant"] if case.performance_declared_at else ["respondent"]
    if case.state == "mediation":
        return ["mediator"]
    if case.state == "referred":
        return ["partner"]
    return []


def remind_of_deadlines(batch: int = BATCH) -> int:
    """Send the reminders of the deadlines that pass within 48 hours and have had none; returns
    for how many cases someone was reminded. Safe to run twice at once: each group is read again
    under its rows' lock, and the deadline is marked in the same transaction (also when nobody is
    to be reminded of it, so that it is not looked at again)."""
    reminded = 0
    while True:
        now = clock.now()
        due = list(
            db.session.scalars(
                sa.select(Case.id)
                .where(
                    Case.deadline_at > now,
                    Case.deadline_at <= now + AHEAD,
                    sa.or_(
                        Case.reminded_deadline_at.is_(None),
                        Case.reminded_deadline_at != Case.deadline_at,
                    ),
                )
                .order_by(Case.deadline_at, Case.id)
                .limit(batch)
            )
        )
        db.session.rollback()
        if not due:
            return reminded
        with write_transaction(db.session):
            for case in lock_cases(due):
                if _due_for_reminder(case, now):
                    reminded += _remind_ahead(case)
                    case.reminded_deadline_at = case.deadline_at


def _due_for_reminder(case: Case, now: Any) -> bool:
    return (
        case.deadline_at is not None
        and now < case.deadline_at <= now + AHEAD
        and case.reminded_deadline_at != case.deadline_at
    )


def _remind_ahead(case: Case) -> int:
    """1 when someone was reminded, else 0."""
    key = f"deadline_soon:{case.public_id}:{case.deadline_at:%Y%m%dT%H%M%S}"
    acting_now = who_must_act(case)
    for acting in acting_now:
        if acting in ("claimant", "respondent"):
            _send(
                case,
                to=getattr(case, f"{acting}_email"),
                language=getattr(case, f"{acting}_language"),
                zone=party_zone(case, acting),
                recipient=acting,
                key=f"{key}:{acting}",
            )
            notify(
                user_ids=party_account_ids(case)[acting],
                case_id=case.id,
                kind="deadline_soon",
                reference=case.reference,
                state=case.state,
                case=case.public_id,
            )
            continue
        users = agency_users(case) if acting == "partner" else _mediator(case)
        for user in users:
            _send(
                case,
                to=user.email,
                language=user.language,
                zone=chosen_zone(user.timezone, user.country),
                recipient=acting,
                key=f"{key}:{user.id}",
            )
        notify(
            user_ids=[user.id for user in users],
            case_id=case.id,
            kind="deadline_soon",
            reference=case.reference,
            state=case.state,
            case=case.public_id,
        )
    return 1 if acting_now else 0


def _mediator(case: Case) -> list[User]:
    return [db.session.get(User, case.mediator_id)] if case.mediator_id else []


def _send(case: Case, *, to: str, language: str, zone: str, recipient: str, key: str) -> None:
    queue_mail(
        to=to,
        language=language,
        template="deadline_soon",
        key=key,
        case_id=case.id,
        case=case,
        deadline=case.deadline_at,
        zone=zone,
        recipient=recipient,
    )
