"""The merchant compliance record: counters updated with the change they count."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from odr.analytics.models import RECORD_COUNTERS, MerchantRecord
from odr.cases.models import Case
from odr.cases.services import on_enter
from odr.extensions import db


def count_for_merchant(respondent_email: str, counter: str) -> None:
    """Add one to a counter of the merchant's record (an upsert; the caller commits)."""
    assert counter in RECORD_COUNTERS
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    db.session.execute(
        insert(MerchantRecord)
        .values(respondent_email=respondent_email, **{counter: 1})
        .on_conflict_do_update(
            index_elements=[MerchantRecord.respondent_email],
            set_={counter: getattr(MerchantRecord, counter) + 1},
        )
    )


def merchant_record(respondent_email: str) -> dict[str, int]:
    row = db.session.get(MerchantRecord, respondent_email)
    return {counter: getattr(row, counter) if row else 0 for counter in RECORD_COUNTERS}


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
