"""SQLite writers take turns on a lock file beside the database (odr.db.TurnTakingConnection)."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
import sqlalchemy as sa

from odr.db import TurnTakingConnection


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "turns.db"
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"factory": TurnTakingConnection})
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE rows (writer TEXT)"))
    yield engine, f"{path}-writers"
    engine.dispose()


def _writing(engine: sa.Engine, busy_ms: int = 5000) -> sa.Connection:
    connection = engine.connect().execution_options(odr_write=True)
    connection.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    return connection


def _turn_free(lock_path: str) -> bool:
    probe = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(probe)  # closing gives up a lock the probe took
    return True


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_a_write_transaction_holds_the_turn_until_it_ends(database, end):
    engine, lock_path = database
    connection = _writing(engine)
    transaction = connection.begin()
    connection.execute(sa.text("INSERT INTO rows VALUES ('a')"))
    assert not _turn_free(lock_path)
    if end == "close":
        connection.close()
    else:
        getattr(transaction, end)()
    assert _turn_free(lock_path)
    connection.close()
    with engine.connect() as reader:
        kept = reader.execute(sa.text("SELECT count(*) FROM rows")).scalar_one()
    assert kept == (1 if end == "commit" else 0)


def test_reads_take_no_turn(database):
    engine, lock_path = database
    with engine.connect() as reader, reader.begin():
        reader.execute(sa.text("SELECT count(*) FROM rows")).scalar_one()
        assert _turn_free(lock_path)


def test_the_next_writer_waits_for_the_turn_not_for_sqlite(database):
    """The second writer's SQLite busy timeout (50 ms) is far shorter than the first writer's
    transaction (300 ms): it succeeds because it waited on the turn, and starts after the commit."""
    engine, _lock_path = database
    first = _writing(engine)
    first_transaction = first.begin()
    first.execute(sa.text("INSERT INTO rows VALUES ('first')"))
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            with _writing(engine, busy_ms=50) as second, second.begin():
                outcome["began"] = time.monotonic()
                second.execute(sa.text("INSERT INTO rows VALUES ('second')"))
        except Exception as error:  # reported below
            outcome["error"] = error

    thread = threading.Thread(target=second_writer, daemon=True)
    thread.start()
    time.sleep(0.3)
    committed = time.monotonic()
    first_transaction.commit()
    first.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["began"] >= committed
    with engine.connect() as reader:
        rows = reader.execute(sa.text("SELECT writer FROM rows")).scalars().all()
    assert rows == ["first", "second"]


def test_a_thread_holding_the_turn_gets_sqlites_error_on_a_second_connection_not_a_hang(database):
    engine, _lock_path = database
    outcome: dict[str, object] = {}

    def nested_writes() -> None:
        with _writing(engine) as outer, outer.begin():
            outer.execute(sa.text("INSERT INTO rows VALUES ('outer')"))
            try:
                with _writing(engine, busy_ms=50) as inner, inner.begin():
                    inner.execute(sa.text("INSERT INTO rows VALUES ('inner')"))
            except sa.exc.OperationalError as error:
                outcome["error"] = error

    thread = threading.Thread(target=nested_writes, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert "database is locked" in str(outcome["error"])
