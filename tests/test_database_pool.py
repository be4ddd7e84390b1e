"""Pooled PostgreSQL connections are tested after a rest, not before every use (odr.db)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from odr import db as odr_db
from tests.test_serve import POSTGRES


@pytest.fixture
def engine():
    engine = sa.create_engine(POSTGRES, pool_size=1, max_overflow=0)
    odr_db.ping_after_rest(engine)
    yield engine
    engine.dispose()


def _backend(connection: sa.Connection) -> int:
    return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _cut(pid: int) -> None:
    killer = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        assert connection.execute(sa.text(f"SELECT pg_terminate_backend({pid})")).scalar()
    killer.dispose()


def test_a_rested_connection_the_server_cut_is_replaced_before_use(engine, monkeypatch):
    monkeypatch.setattr(odr_db, "REST_BEFORE_PING", 0.0)
    with engine.connect() as connection:
        first = _backend(connection)
    _cut(first)
    with engine.connect() as connection:  # tested, found dead, replaced: the caller sees nothing
        assert _backend(connection) != first


def test_a_connection_given_back_a_moment_ago_is_used_untested(engine, monkeypatch):
    monkeypatch.setattr(odr_db, "REST_BEFORE_PING", 3600.0)
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(1) or True)
    for _ in range(3):
        with engine.connect() as connection:
            _backend(connection)
    assert pings == []
    # Used untested, a connection cut meanwhile fails the one statement that meets it; the pool
    # is then dropped, and the next use gets a new connection.
    with engine.connect() as connection:
        first = _backend(connection)
    _cut(first)
    with pytest.raises(sa.exc.DBAPIError) as failure, engine.connect() as connection:
        _backend(connection)
    assert failure.value.connection_invalidated
    with engine.connect() as connection:
        assert _backend(connection) != first
