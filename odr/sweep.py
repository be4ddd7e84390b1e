"""One pass of the clock: fire due timeouts, send reminders, deliver the outbox."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case
from odr.db import write_transaction
from odr.delivery.services import deliver_due
from odr.errors import DomainError
from odr.extensions import db
from odr.workflow import get_workflow

BATCH = 200
PER_TRANSACTION = 50
log = logging.getLogger(__name__)


def fire_due_timeouts(batch: int = BATCH, per_transaction: int = PER_TRANSACTION) -> int:
    """Fire the timeout action of every overdue case once; safe to run concurrently.

    Walks the due cases in deadline order by keyset, a batch at a time; a case just fired has its
    next deadline after now, so the walk never meets it again. Fires are grouped a few dozen to a
    transaction (one commit, not one per case), each under a savepoint, so a case the rules refuse
    is rolled back alone. Each fire takes the case row and checks the deadline again under the
    lock, so two sweeps never fire the same timeout twice: the second finds the deadline moved.
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
        for start in range(0, len(due), per_transaction):
            group = [case_id for _deadline, case_id in due[start : start + per_transaction]]
            fired += _fire_group(group, fire_timeout)
        after = tuple(due[-1])


def _fire_group(case_ids: list[int], fire_timeout: Any) -> int:
    fired = 0
    try:
        with write_transaction(db.session):
            for case_id in case_ids:
                try:
                    with db.session.begin_nested():
                        fired += fire_timeout(case_id)
                except DomainError:
                    continue
    except sa.exc.OperationalError:  # a deadlock with a request: these cases wait for the next
        log.warning("sweep: a group of %d cases was rolled back and stays due", len(case_ids))
        return 0
    return fired


def sweep() -> dict[str, Any]:
    from odr.mediation.services import assign_waiting_cases

    get_workflow("dispute")
    return {
        "assigned": assign_waiting_cases(),
        "timeouts": fire_due_timeouts(),
        "delivered": deliver_due(),
    }
