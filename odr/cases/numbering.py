"""Case references, `ODR-YYYY-NNNNNN`, numbered from 1 each year.

On PostgreSQL each year has a sequence of its own, `case_reference_YYYY`: lodgings on any number of
hosts take numbers without waiting for one another. (The year's counter row, held from the number
to the commit, was the most frequent wait under load: see docs/decisions.md.) A lodging that rolls
back leaves its number unused, a gap. The year's sequence is made by its first lodging, in a
transaction of its own, starting after the highest number the year already has.

Elsewhere (SQLite: one writer at a time) the year's row of `reference_counters`, incremented by an
upsert in the lodging's own transaction, without gaps.
"""

from __future__ import annotations

from contextlib import suppress
from functools import cache
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from odr.cases.models import Case, ReferenceCounter
from odr.cases.reading import OPEN_STATES, new_case_accounts
from odr.extensions import db

# The years whose sequence a database is known to have, by engine (a new app, a new engine).
_SEQUENCES_MADE: WeakKeyDictionary[sa.Engine, set[int]] = WeakKeyDictionary()
_NUMBER_FROM = len("ODR-YYYY-") + 1  # where the number starts in a reference, counted from 1


def reference_for(year: int, number: int) -> str:
    return f"ODR-{year}-{number:06d}"


def sequence_name(year: int) -> str:
    return f"case_reference_{year}"


class Numbered(NamedTuple):
    reference: str
    duplicate: bool  # an open dispute already names the same merchant and order
    accounts: list[list[Any]] | None  # the parties' accounts (`new_case_accounts`), PostgreSQL


def number_and_check(year: int, columns: dict[str, Any]) -> Numbered:
    """The next reference of the year, and whether an open dispute already names the same merchant
    and order. On PostgreSQL one statement, which also reads the parties' accounts of the case
    (the year's sequence, the check and the accounts side by side); two elsewhere (the counter's
    upsert, then the check), the accounts read when they are asked for."""
    connection = db.session.connection()
    parameters = {
        "year": year,
        "email": columns["respondent_email"],
        "order": columns["order_reference"],
    }
    if connection.dialect.name == "postgresql":
        make_sequence(connection.engine, year)
        parameters |= {
            "sequence": sequence_name(year),
            "respondent_email": columns["respondent_email"],
            "claimant_user_id": columns["claimant_user_id"],
            "filed_by_user_id": columns["filed_by_user_id"],
        }
        number, duplicate, accounts = connection.execute(
            _numbering_and_checking(), parameters
        ).one()
        return Numbered(reference_for(year, number), duplicate is not None, accounts or [])
    number = connection.execute(_counting(), parameters).scalar_one()
    duplicate = connection.scalar(_open_duplicate(), parameters)
    return Numbered(reference_for(year, number), duplicate is not None, None)


def make_sequence(engine: sa.Engine, year: int) -> None:
    """The year's sequence, made once, starting after the year's highest number so far."""
    made = _SEQUENCES_MADE.setdefault(engine, set())
    if year in made:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.scalar(sa.select(sa.func.to_regclass(sequence_name(year)))) is None:
            with suppress(sa.exc.IntegrityError):  # another process made it at the same moment
                _create_sequence(connection, year, after=highest_number(connection, year))
    made.add(year)


def forget_sequences(engine: sa.Engine) -> None:
    """Ask the database again which years have a sequence: its sequences were replaced behind
    this process's back (a restore)."""
    _SEQUENCES_MADE.pop(engine, None)


def _create_sequence(connection: sa.Connection, year: int, *, after: int) -> None:
    connection.exec_driver_sql(
        f"CREATE SEQUENCE IF NOT EXISTS {sequence_name(year)} START {after + 1}"
    )


def highest_number(connection: sa.Connection, year: int) -> int:
    """The highest number of the year: of its counter row and of its cases' references."""
    counted = connection.scalar(
        sa.select(ReferenceCounter.last_value).where(ReferenceCounter.year == year)
    )
    number = sa.cast(sa.func.substr(Case.reference, _NUMBER_FROM), sa.Integer)
    used = connection.scalar(
        sa.select(sa.func.max(number)).where(Case.reference.like(f"ODR-{year}-%"))
    )
    return max(counted or 0, used or 0)


def settle_counters(connection: sa.Connection) -> None:
    """After a restore: each year's counter (or sequence) past the highest number its cases use,
    whichever database the backup came from (PostgreSQL's counter rows stand still)."""
    years = connection.scalars(sa.select(sa.func.substr(Case.reference, 5, 4)).distinct()).all()
    for year in sorted(int(y) for y in years if y.isdigit()):
        highest = highest_number(connection, year)
        if connection.dialect.name == "postgresql":
            _create_sequence(connection, year, after=highest)
            connection.execute(sa.select(sa.func.setval(sequence_name(year), highest)))
        else:
            counters = ReferenceCounter.__table__
            connection.execute(counters.delete().where(counters.c.year == year))
            connection.execute(counters.insert().values(year=year, last_value=highest))
    forget_sequences(connection.engine)


@cache
def _counting() -> Any:
    counters = ReferenceCounter.__table__  # a plain statement, without the ORM's insert path
    return (
        sqlite.insert(counters)
        .values(year=sa.bindparam("year"), last_value=1)
        .on_conflict_do_update(
            index_elements=[counters.c.year],
            set_={"last_value": counters.c.last_value + 1},
        )
        .returning(counters.c.last_value)
    )


@cache
def _open_duplicate() -> Any:
    cases = Case.__table__
    return (
        sa.select(cases.c.id)
        .where(
            cases.c.respondent_email == sa.bindparam("email"),
            cases.c.order_reference == sa.bindparam("order"),
            cases.c.state.in_(OPEN_STATES),
        )
        .limit(1)
    )


@cache
def _numbering_and_checking() -> Any:
    sequence = sa.cast(sa.bindparam("sequence"), postgresql.REGCLASS)
    return sa.select(
        sa.func.nextval(sequence), _open_duplicate().scalar_subquery(), new_case_accounts()
    )
