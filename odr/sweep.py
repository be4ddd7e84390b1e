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


def fire_due_timeouts(batch: int = BATCH) -> int:
    """Fire the timeout action of every overdue case once; safe to run concurrently.

    Walks the due cases in deadline order by keyset, a batch at a time; a case just fired has its
    next deadline after now, so the walk never meets it again. `fire_timeout` takes the row and
    checks the deadline again under the lock, so two sweeps never fire the same timeout twice: the
    second finds the deadline moved and does nothing.
    """
    from odr.cases.services import fire_timeout

    fired, now = 0, clock.now()
    after: tuple[Any, int] | None = None
    while True:
        query = sa.select(Case.deadline_at, Case.id).where(Case.deadline_at <= now)
        if after is not None:
            query = query.where(sa.tuple_(Case.deadline_at, Case.id) > after)
        due = db.session.execute(query.order_by(Case.deadline_at, Case.id).limit(batch)).all()
        db.session.rollback()
        if not due:
            return fired
        for _deadline, case_id in due:
            try:
                fired += fire_timeout(case_id)
            except DomainError:
                db.session.rollback()
        after = tuple(due[-1])


def sweep() -> dict[str, Any]:
    from odr.mediation.services import assign_waiting_cases

    get_workflow("dispute")
    return {
        "assigned": assign_waiting_cases(),
        "timeouts": fire_due_timeouts(),
        "delivered": deliver_due(),
    }
