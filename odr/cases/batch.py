"""A group of changes made in one transaction by the sweep: read once, written together.

After a long stop of the worker the sweep fires thousands of timeouts. The rules that decide each
fire are the same as for one change; only the reading and the writing are grouped: the group's case
rows are taken for writing in one statement, what the fires read (each party's accounts, the pool
of neutrals, who recused) is loaded once for the group, and what they write (events, outbox rows,
notices, case rows) is written together, one statement per table, when the group ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from odr.accounts.models import User
from odr.bulk import ids_in
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
    # Work left to the end of the group, before its rows are written: what takes rows other
    # groups need (the pool of neutrals) is done there, so that they are held only briefly.
    before_writes: list[Callable[[], None]] = field(default_factory=list)
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
            .where(ids_in(db.session, Case.id, case_ids))
            .order_by(Case.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
