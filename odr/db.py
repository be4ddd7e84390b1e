"""Database plumbing: the declarative base, column types, SQLite settings, write transactions."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, scoped_session

from odr.bulk import ADD_ON_CONFLICT, insert_together

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:
            return value.replace(tzinfo=None)
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take turns on a lock file beside the database.

    SQLite lets one writer at a time, and a writer that finds the database locked sleeps and tries
    again (after 1, 2, 5, 10 ms ...): under concurrent writes the lock is often free while the
    next writer still sleeps. A writer that waits on an exclusive `flock` instead is woken as soon
    as the lock is given up, at the end of the transaction (`commit`, `rollback`, `close`), and
    the lock dies with its process. Lodgings on SQLite under gunicorn: 7 to 12 % more a second
    (docs/benchmarks.md). Polling the lock every 50 µs to 1 ms gave nothing: the wake-up is what
    counts. A writer that takes its turn therefore waits as long as the one before holds it,
    rather than failing after SQLite's `busy_timeout`; a write transaction is short, and a stuck
    worker is ended by gunicorn's timeout.
    """

    turn: int | None = None  # the lock file's descriptor, once the database file is known
    holding = False

    def take_turn(self) -> None:
        if self.turn is None or _TURN.held:
            return  # a thread that holds a turn on another connection waits as SQLite says
        fcntl.flock(self.turn, fcntl.LOCK_EX)
        self.holding = _TURN.held = True

    def give_turn(self) -> None:
        if self.holding:
            self.holding = _TURN.held = False
            fcntl.flock(self.turn, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_turn()
            if self.turn is not None:
                os.close(self.turn)
                self.turn = None


class _Turn(threading.local):
    held = False


_TURN = _Turn()


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    if isinstance(dbapi_connection, TurnTakingConnection):
        path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
        if path:  # not in memory
            dbapi_connection.turn = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling defers it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=5000",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


REST_BEFORE_PING = 1.0  # seconds a pooled connection may rest and still be used untested


def ping_after_rest(engine: Engine) -> None:
    """Test a pooled connection before use only when it has rested.

    `pool_pre_ping` costs a round trip at every checkout, and a request checks out twice (its
    reads, then its write transaction). A connection given back a moment ago is alive; one that
    rested may have been cut (a restarted or failed-over server, an idle timeout) and is tested
    first, and replaced if dead. One that breaks while in use still makes SQLAlchemy drop every
    connection of the pool, so a restart under traffic fails at most the request that meets it.
    """
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _rested_from(dbapi_connection: Any, record: Any) -> None:
        record.info["rested_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _test_if_rested(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        rested_from = record.info.pop("rested_from", None)
        if rested_from is None or time.monotonic() - rested_from < REST_BEFORE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.DisconnectionError(str(error)) from error
        if not alive:
            raise sa.exc.DisconnectionError("the connection did not answer")


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: sa.Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    write = conn.get_execution_options().get("odr_write")
    if write:
        dbapi_connection = conn.connection.dbapi_connection
        if isinstance(dbapi_connection, TurnTakingConnection):
            dbapi_connection.take_turn()
    conn.exec_driver_sql(f"BEGIN {'IMMEDIATE' if write else 'DEFERRED'}")


@contextmanager
def write_transaction(
    session: Any, *, keep_loaded: bool = False, reread: bool = True
) -> Iterator[Any]:
    """One transaction that will write: BEGIN IMMEDIATE on SQLite, commit or roll back as a whole.

    A SQLite transaction that reads and then writes fails at once with "database is locked" in WAL
    mode; taking the write lock up front makes concurrent writers queue on busy_timeout instead.
    `keep_loaded` leaves the objects as the transaction wrote them after the commit, rather than
    reading them again on next use, for a caller that answers from what it has just written.
    What the request read before the transaction is read again on next use, unless `reread` is
    False: for a caller that only names what it read (the account filing a dispute), not one that
    decides from it. Such a caller's reads on PostgreSQL need no commit of their own: the
    transaction that read goes on to write (under read committed each statement sees what was
    committed before it, as in a new transaction), a round trip and a commit fewer.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction() and (reread or not _reads_go_on(session)):
        _commit(session, expire=reread)
    if not session.in_transaction():
        session.connection(execution_options={"odr_write": True})
    try:
        yield session
        _commit(session, expire=not keep_loaded)
    except BaseException:
        session.rollback()
        raise


def _reads_go_on(session: Any) -> bool:
    """Whether the session's open transaction only read, on PostgreSQL."""
    unwritten = session.new or session.dirty or session.deleted
    return session.get_bind().dialect.name == "postgresql" and not unwritten


def _commit(session: Any, *, expire: bool) -> None:
    """Commit; the loaded objects expire only if `expire` and the session expires on commit."""
    expiring = session.expire_on_commit
    session.expire_on_commit = expiring and expire
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


@contextmanager
def inserts_together(session: Any) -> Iterator[None]:
    """Rows given to `insert_rows` inside the block are written as it ends (a lodging's event,
    mails and notices): one statement for them all on PostgreSQL, one a table on SQLite."""
    pending: dict[Any, list[dict[str, Any]]] = {}
    session.info["pending_inserts"] = pending
    try:
        yield
        insert_together(session, {model.__table__: rows for model, rows in pending.items()})
    finally:
        session.info.pop("pending_inserts", None)


def insert_rows(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows now, or with the group of changes the session is making
    (`odr.cases.batch`), in one statement per table when the group ends."""
    if not rows:
        return
    pending = session.info.get("pending_inserts")
    if pending is not None:
        pending.setdefault(model, []).extend(rows)
    elif ADD_ON_CONFLICT in model.__table__.info:
        insert_together(session, {model.__table__: rows})
    else:
        session.execute(sa.insert(model), rows)


def render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations spell our column types in plain SQLAlchemy, so they never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
