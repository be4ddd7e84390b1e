"""A group of changes made in one transaction by the sweep: read once, written together.

After a long stop of the worker the sweep fires thousands of timeouts. The rules that decide each
fire are the same as for one change; only the reading and the writing are grouped: the group's case
rows are taken for writing in one statement, what the fires read (each party's accounts, the pool
of neutrals, who recused) is loaded once for the group, and what they write (events, outbox rows,
notices, case rows) is written together, one statement per table, when the group ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from odr.accounts.models import User
from odr.bulk import insert_many, update_many
from odr.cases.models import Case
from odr.extensions import db

T = TypeVar("T")


@dataclass
class Batch:
    cases: list[Case]
    accounts: dict[int, dict[str, set[int]]] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)  # held here, so `session.get` finds them
    # Filled on first use by the modules that own them (the pool of neutrals, the recusals...).
    memo: dict[str, Any] = field(default_factory=dict)
    inserts: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)  # model -> rows
    at_end: list[Callable[[], None]] = field(default_factory=list)  # writes made once, at the end


def current_batch() -> Batch | None:
    return db.session.info.get("batch")


def read_once(key: str, load: Callable[[], T]) -> T:
    """What `load` returns; within a group of changes, what it returned the first time."""
    batch = current_batch()
    if batch is None:
        return load()
    if key not in batch.memo:
        batch.memo[key] = load()
    return batch.memo[key]


def lock_cases(case_ids: list[int]) -> list[Case]:
    """Take the rows for writing in id order (so two sweeps never wait on each other in a cycle)."""
    return list(
        db.session.scalars(
            sa.select(Case)
            .where(Case.id.in_(case_ids))
            .order_by(Case.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


@contextmanager
def batch_of(case_ids: list[int]) -> Iterator[Batch]:
    """Lock and preload a group of cases inside the caller's write transaction; on leaving, the
    group's notices are inserted in one statement (the caller's commit flushes the rest)."""
    from odr.cases.services import load_users, party_accounts

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
            _write_cases(batch.cases)
            for write in batch.at_end:
                write()
            for model, rows in batch.inserts.items():
                insert_many(db.session, model.__table__, rows)
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
    for case in changed:
        db.session.expire(case, keys)  # written: nothing left for the session to flush
