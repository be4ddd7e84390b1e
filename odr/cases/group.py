"""Opening a group of changes: its cases locked and what their changes read loaded once
(`odr.cases.batch` holds the group while it lasts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm.state import InstanceState

from odr.bulk import insert_together, update_many
from odr.cases.batch import Batch, lock_cases
from odr.cases.models import Case
from odr.cases.reading import load_users, party_accounts
from odr.extensions import db


@contextmanager
def batch_of(case_ids: list[int]) -> Iterator[Batch]:
    """Lock and preload a group of cases inside the caller's write transaction; on leaving, the
    group's notices are inserted in one statement (the caller's commit flushes the rest)."""
    cases = lock_cases(case_ids)
    neutrals = {c.mediator_id for c in cases} | {c.arbitrator_id for c in cases}
    batch = Batch(
        cases=cases,
        accounts=party_accounts([case.id for case in cases]),
        users=load_users(neutrals),
    )
    db.session.info["batch"] = batch
    db.session.info["pending_inserts"] = batch.inserts
    try:
        with db.session.no_autoflush:
            yield batch
            for step in batch.before_writes:
                step()
            _write_cases(batch.cases)
            for write in batch.at_end:
                write()
            insert_together(
                db.session, {model.__table__: rows for model, rows in batch.inserts.items()}
            )
    finally:
        db.session.info.pop("batch", None)
        db.session.info.pop("pending_inserts", None)


def _write_cases(cases: list[Case]) -> None:
    """The group's changed case rows in one statement: each row is set from every column any of
    them changed (the rows are held, so writing an unchanged value back is harmless)."""
    changed = [case for case in cases if sa.inspect(case).modified]
    columns = sa.inspect(Case).column_attrs
    every = set(columns.keys())
    keys = sorted(set().union(*(every - sa.inspect(case).unmodified for case in changed)))
    if not keys:
        return
    names = {key: columns[key].columns[0].name for key in keys}
    update_many(
        db.session,
        Case.__table__,
        [{"id": case.id} | {names[k]: getattr(case, k) for k in keys} for case in changed],
    )
    # Written: the objects now hold what the rows hold, with nothing left for the commit's flush
    # to look at (expiring the written columns would still leave each object marked modified).
    # (SQLAlchemy's own step after a flush; the lock pins the version it is read from.)
    states = [sa.inspect(case) for case in changed]
    InstanceState._commit_all_states([(s, s.dict) for s in states], db.session.identity_map)
