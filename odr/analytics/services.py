"""The merchant compliance record: counters updated with the change they count."""

from __future__ import annotations

from collections import Counter
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from odr.analytics.models import RECORD_COUNTERS, MerchantRecord
from odr.cases.batch import current_batch
from odr.cases.hooks import on_enter, on_lodged
from odr.cases.models import Case
from odr.extensions import db


def count_for_merchant(respondent_email: str, counter: str) -> None:
    """Add one to a counter of the merchant's record (the caller commits); a group of changes
    adds its counts once, when it ends."""
    assert counter in RECORD_COUNTERS
    batch = current_batch()
    if batch is None:
        _add_counts(counter, {respondent_email: 1})
        return
    counts = batch.memo.get("merchant_counts")
    if counts is None:
        counts = batch.memo["merchant_counts"] = Counter()
        batch.at_end.append(lambda: _add_all(counts))
    counts[(respondent_email, counter)] += 1


def _add_all(counts: Counter) -> None:
    by_counter: dict[str, dict[str, int]] = {}
    for (email, counter), n in counts.items():
        by_counter.setdefault(counter, {})[email] = n
    for counter, amounts in by_counter.items():
        _add_counts(counter, amounts)


def _add_counts(counter: str, amounts: dict[str, int]) -> None:
    """An upsert per merchant, sent as one statement."""
    statement = _upsert(db.session.get_bind().dialect.name, counter)
    rows = [{"email": e, "n": n} for e, n in amounts.items()]
    db.session.connection().execute(statement, rows[0] if len(rows) == 1 else rows)


@cache
def _upsert(dialect: str, counter: str) -> sa.Insert:
    table = MerchantRecord.__table__  # a plain statement: the ORM's bulk path costs more here
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return insert.values(
        respondent_email=sa.bindparam("email"), **{counter: sa.bindparam("n")}
    ).on_conflict_do_update(
        index_elements=[table.c.respondent_email],
        set_={counter: table.c[counter] + insert.excluded[counter]},
    )


def merchant_record(respondent_email: str) -> dict[str, int]:
    row = db.session.get(MerchantRecord, respondent_email)
    return {counter: getattr(row, counter) if row else 0 for counter in RECORD_COUNTERS}


@on_lodged
def _count_dispute(case: Case, lodged: dict) -> None:
    count_for_merchant(case.respondent_email, "disputes")


@on_enter("settled")
def _count_settlement(case: Case, came_from: str) -> None:
    count_for_merchant(case.respondent_email, "settled")


@on_enter("awarded")
def _count_award(case: Case, came_from: str) -> None:
    count_for_merchant(case.respondent_email, "awarded")


@on_enter("resolved")
def _count_performance(case: Case, came_from: str) -> None:
    if came_from in ("settled", "awarded"):
        count_for_merchant(case.respondent_email, "performed")


@on_enter("non_compliant")
def _count_breach(case: Case, came_from: str) -> None:
    count_for_merchant(case.respondent_email, "not_performed")
