"""Case references: numbered from 1 each year, going on from the numbers a year already has, and
never handed out twice (tests/cases/test_concurrency.py races lodgings for that)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from odr import clock
from odr.cases.models import ReferenceCounter
from odr.cases.numbering import forget_sequences, sequence_name, settle_counters
from odr.extensions import db
from tests.factories import Dispute


def lodge_in(app, api, year: int, shop: str) -> str:
    with clock.travel_to(datetime(year, 3, 2, 10, tzinfo=UTC)):
        return Dispute(app, api, respondent_email=f"{shop}@merchant.example").data["reference"]


def test_each_year_numbers_its_disputes_from_one(app, api):
    assert lodge_in(app, api, 2041, "first") == "ODR-2041-000001"
    assert lodge_in(app, api, 2041, "second") == "ODR-2041-000002"
    assert lodge_in(app, api, 2043, "third") == "ODR-2043-000001"
    assert lodge_in(app, api, 2041, "fourth") == "ODR-2041-000003"


def test_a_year_goes_on_from_the_numbers_it_already_has(app, api):
    """A database numbered by the year's counter row before (as all were until 2026-12) goes on
    after its last number when PostgreSQL's sequence for the year is made."""
    with app.app_context():
        db.session.add(ReferenceCounter(year=2042, last_value=41))
        db.session.commit()
    try:
        assert lodge_in(app, api, 2042, "shop") == "ODR-2042-000042"
        assert lodge_in(app, api, 2042, "other") == "ODR-2042-000043"
    finally:
        with app.app_context():
            if app.backend == "postgresql":
                with db.engine.begin() as connection:
                    connection.exec_driver_sql(f"DROP SEQUENCE {sequence_name(2042)}")
                forget_sequences(db.engine)


def test_on_postgresql_lodgings_do_not_wait_on_a_counter_row(app, api):
    """The year's counter row is not written on PostgreSQL: nothing holds a row shared by every
    lodging until its commit."""
    lodge_in(app, api, 2044, "shop")
    with app.app_context():
        counted = db.session.scalar(
            sa.select(ReferenceCounter.last_value).where(ReferenceCounter.year == 2044)
        )
        if app.backend == "postgresql":
            assert counted is None
        else:
            assert counted == 1


def test_a_restore_moves_each_year_past_its_highest_reference(app, api):
    """A backup of PostgreSQL carries no counter rows and no sequences: after a restore, into
    either database, the year goes on after the highest reference its cases use."""
    lodge_in(app, api, 2045, "first")
    lodge_in(app, api, 2045, "second")
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.delete(ReferenceCounter))
        if app.backend == "postgresql":
            connection.exec_driver_sql(f"DROP SEQUENCE {sequence_name(2045)}")
        settle_counters(connection)
    assert lodge_in(app, api, 2045, "third") == "ODR-2045-000003"
