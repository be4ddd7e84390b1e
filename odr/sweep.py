"""One pass of the clock: fire due timeouts, send reminders, deliver the outbox."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case
from odr.delivery.services import deliver_due
from odr.errors import DomainError
from odr.extensions import db
from odr.workflow import get_workflow

BATCH = 200


def fire_due_timeouts() -> int:
    """Fire the timeout action of every overdue case once; safe to run concurrently.

    `fire` takes the row and re-checks the deadline under the lock, so two sweeps never fire the
    same timeout twice: the second finds the deadline moved and does nothing.
    """
    from odr.cases.services import fire_timeout

    fired = 0
    due = (
        db.session.execute(
            sa.select(Case.id)
            .where(Case.deadline_at.is_not(None), Case.deadline_at <= clock.now())
            .order_by(Case.deadline_at)
            .limit(BATCH)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    for case_id in due:
        try:
            fired += fire_timeout(case_id)
        except DomainError:
            db.session.rollback()
    return fired


def sweep() -> dict[str, Any]:
    from odr.mediation.services import assign_waiting_cases

    get_workflow("dispute")
    return {
        "assigned": assign_waiting_cases(),
        "timeouts": fire_due_timeouts(),
        "delivered": deliver_due(),
    }
