"""One pass of the clock: fire due timeouts, send reminders (of passed deadlines, and 48 hours
before those that act by themselves), render documents, deliver the outbox."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.cases.batch import lock_cases
from odr.cases.group import batch_of
from odr.cases.models import Case
from odr.db import write_transaction
from odr.delivery.services import deliver_due
from odr.documents.services import render_due
from odr.errors import DomainError
from odr.extensions import db
from odr.workflow import get_workflow

BATCH = 200
PER_TRANSACTION = 200
log = logging.getLogger(__name__)


def fire_due_timeouts(batch: int = BATCH, per_transaction: int = PER_TRANSACTION) -> int:
    """Fire the timeout action of every overdue case once; safe to run concurrently.

    Walks the due cases in deadline order by keyset, a batch at a time; a case just fired has its
    next deadline after now, so the walk never meets it again. Fires are grouped a few dozen to a
    transaction that takes the group's rows for writing and checks each deadline again under the
    lock, so two sweeps never fire the same timeout twice: the second finds the deadline moved.
    """
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
            fired += _fire_group([case_id for _at, case_id in due[start : start + per_transaction]])
        after = tuple(due[-1])


def _fire_group(case_ids: list[int]) -> int:
    """The group in one transaction, read and written together; if the rules refuse one case,
    the group is done again a case at a time, each under a savepoint, so only that one is left."""
    from odr.cases.firing import fire_timeout

    try:
        with write_transaction(db.session), batch_of(case_ids) as group:
            return sum(fire_timeout(case) for case in group.cases)
    except DomainError:
        log.info("sweep: a case of a group was refused; firing the group one by one")
    except sa.exc.OperationalError:  # a deadlock with a request: these cases wait for the next
        log.warning("sweep: a group of %d cases was rolled back and stays due", len(case_ids))
        return 0
    return _fire_one_by_one(case_ids, fire_timeout)


def _fire_one_by_one(case_ids: list[int], fire_timeout: Any) -> int:
    fired = 0
    try:
        with write_transaction(db.session):
            for case in lock_cases(case_ids):
                try:
                    with db.session.begin_nested():
                        fired += fire_timeout(case)
                except DomainError:
                    log.warning("sweep: the timeout of case %s was refused", case.reference)
    except sa.exc.OperationalError:
        log.warning("sweep: a group of %d cases was rolled back and stays due", len(case_ids))
        return 0
    return fired


def sweep() -> dict[str, Any]:
    from odr.accounts.expiry import warn_of_expiring_tokens
    from odr.cases.drafts import purge_expired_drafts
    from odr.delivery.reminders import remind_of_deadlines
    from odr.mediation.services import assign_waiting_cases

    get_workflow("dispute")
    return {
        "assigned": assign_waiting_cases(),
        "timeouts": fire_due_timeouts(),
        "reminded": remind_of_deadlines(),
        "tokens_expiring": warn_of_expiring_tokens(),
        "rendered": render_due(),
        "delivered": deliver_due(),
        "drafts_purged": purge_expired_drafts(),
    }
