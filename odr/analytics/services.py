"""The merchant compliance record: counters updated with the change they count."""

from __future__ import annotations

from odr.analytics.models import RECORD_COUNTERS, MerchantRecord
from odr.cases.hooks import on_enter, on_lodged
from odr.cases.models import Case
from odr.db import insert_rows
from odr.extensions import db


def count_for_merchant(respondent_email: str, counter: str) -> None:
    """Add one to a counter of the merchant's record, with the change's other new rows
    (`insert_rows`): a lodging's or a group's in their closing statement, where the rows of one
    merchant are added up and then added to its record (`ADD_ON_CONFLICT`)."""
    assert counter in RECORD_COUNTERS
    row = {"respondent_email": respondent_email} | dict.fromkeys(RECORD_COUNTERS, 0)
    insert_rows(db.session, MerchantRecord, [row | {counter: 1}])


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
