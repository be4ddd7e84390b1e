"""One pass of the clock: fire due timeouts, send reminders (of passed deadlines, and 48 hours
before those that act by themselves), render documents, deliver the outbox."""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import current_app

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

BATCH = 500
PER_TRANSACTION = 500
PARALLEL_FROM = 2000  # due cases from which a backlog is shared between processes
log = logging.getLogger(__name__)


def fire_due_timeouts(
    batch: int = BATCH, per_transaction: int = PER_TRANSACTION, processes: int | None = None
) -> int:
    """Fire the timeout action of every overdue case once; safe to run concurrently.

    Walks the due cases in deadline order by keyset, a batch at a time; a case just fired has its
    next deadline after now, so the walk never meets it again. Fires are grouped a few dozen to a
    transaction that takes the group's rows for writing and checks each deadline again under the
    lock, so two sweeps never fire the same timeout twice: the second finds the deadline moved.

    A backlog of `PARALLEL_FROM` cases or more on PostgreSQL (after a long stop of the worker) is
    shared between `processes` (`SWEEP_PROCESSES`): firing is Python work a case at a time, and
    one process uses one core. Each process walks its share of the ids (`id % n`); the same
    locks keep each fire single, and a last walk over all ids takes what a share left behind.
    """
    processes = processes or current_app.config["SWEEP_PROCESSES"]
    with collecting_seldom():
        if processes > 1 and _large_postgresql_backlog():
            fired = _fire_in_processes(processes, batch, per_transaction)
        else:
            fired = 0
        return fired + _fire_share(0, 1, batch, per_transaction)


@contextmanager
def collecting_seldom(allocations: int = 50_000) -> Iterator[None]:
    """Python's cycle collector runs after `allocations` new objects instead of 700.

    A group of fires makes and drops a few hundred thousand objects (rows, events, mails), almost
    none in a cycle; at 700 the collector ran five hundred times for 10,000 cases, walking the
    group's objects each time, for 12 % of the sweep's time. The objects are freed as before, by
    their counts; what waits is only the rare cycle, collected within `allocations`.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(allocations, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _large_postgresql_backlog() -> bool:
    if db.session.get_bind().dialect.name != "postgresql":
        return False  # SQLite writes one transaction at a time: other processes would queue
    due = sa.select(Case.id).where(Case.deadline_at <= clock.now()).limit(PARALLEL_FROM)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(due.subquery()))
    db.session.rollback()
    return count >= PARALLEL_FROM


def _fire_in_processes(processes: int, batch: int, per_transaction: int) -> int:
    """Fire the shares 1..n-1 in forked children and share 0 here; the fires each made."""
    app = current_app._get_current_object()
    _close_connections()  # none is open at the fork: no socket is shared with a child
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    children = [
        context.Process(
            target=_fire_share_in_child,
            args=(app, share, processes, batch, per_transaction, results),
            name=f"odr-sweep-{share}",
        )
        for share in range(1, processes)
    ]
    for child in children:
        child.start()
    fired = _fire_share(0, processes, batch, per_transaction)
    for child in children:
        child.join()
        if child.exitcode != 0:
            log.warning(
                "sweep: %s ended with %s; the last walk takes its share", child.name, child.exitcode
            )
    return fired + sum(results.get() for child in children if child.exitcode == 0)


def _fire_share_in_child(
    app: Any, share: int, processes: int, batch: int, per_transaction: int, results: Any
) -> None:
    with app.app_context():
        fired = _fire_share(share, processes, batch, per_transaction)
        _close_connections()
    results.put(fired)


def _close_connections() -> None:
    db.session.remove()
    for engine in db.engines.values():
        engine.dispose()


def _fire_share(share: int, processes: int, batch: int, per_transaction: int) -> int:
    """The keyset walk over the due cases whose `id % processes == share`."""
    fired, now = 0, clock.now()
    after: tuple[Any, int] | None = None
    while True:
        query = sa.select(Case.deadline_at, Case.id).where(Case.deadline_at <= now)
        if processes > 1:
            query = query.where(Case.id % processes == share)
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
        # The group's objects go with it (the next group reads its rows afresh, held for
        # writing): expiring each of them at the commit would be work for nothing.
        with write_transaction(db.session, keep_loaded=True), batch_of(case_ids) as group:
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
