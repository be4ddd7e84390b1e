"""Tokens made before scopes and expiry existed: the migration keeps them working for a while
with the full scopes of their owner's role, and revokes those of unconfirmed accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from odr.extensions import db
from tests.conftest import build_app

BEFORE = "a13a0d170001"


def _insert_user(connection, tables, email: str, role: str, verified: bool) -> int:
    now = datetime(2026, 12, 1, 9, 0)
    row = {
        "email": email,
        "name": email.split("@")[0],
        "role": role,
        "country": "DE",
        "language": "en",
        "languages": ["en"],
        "timezone": "UTC",
        "active": True,
        "email_verified_at": now if verified else None,
        "conflicts": [],
        "caseload": 0,
        "created_at": now,
    }
    users = tables["users"]
    return connection.execute(
        users.insert().values({k: v for k, v in row.items() if k in users.c})
    ).inserted_primary_key[0]


def test_the_migration_gives_old_tokens_scopes_an_expiry_and_revokes_unconfirmed_ones(app, mailbox):
    fresh = build_app(app.backend, mailbox, name="token-migration.db")
    with fresh.app_context():
        downgrade(revision=BEFORE)
        with db.engine.begin() as connection:
            tables = sa.MetaData()
            tables.reflect(connection, only=["users", "api_tokens"])
            tables = tables.tables
            owners = {
                "partner": _insert_user(connection, tables, "desk@agency.example", "partner", True),
                "consumer": _insert_user(connection, tables, "li@example.com", "consumer", True),
                "squatter": _insert_user(connection, tables, "shop@x.example", "merchant", False),
            }
            dated = datetime(2027, 1, 31, 12, 0)
            for name, user_id in owners.items():
                connection.execute(
                    tables["api_tokens"]
                    .insert()
                    .values(
                        user_id=user_id,
                        name=name,
                        token_hash=name.ljust(64, "0"),
                        created_at=datetime(2026, 12, 1, 9, 0),
                        expires_at=dated if name == "consumer" else None,
                    )
                )
        migrated_at = datetime.now(UTC).replace(tzinfo=None)
        upgrade()
        with db.engine.connect() as connection:
            rows = {
                row.name: row
                for row in connection.execute(
                    sa.text("SELECT name, scopes, expires_at, revoked_at FROM api_tokens")
                )
            }
        downgrade(revision=BEFORE)
        upgrade()
        db.engine.dispose()

    def scopes(row) -> list[str]:
        return row.scopes if isinstance(row.scopes, list) else json.loads(row.scopes)

    def moment(value) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    assert scopes(rows["partner"]) == ["read", "partner"]
    assert scopes(rows["consumer"]) == ["read", "write"]
    ninety = migrated_at + timedelta(days=90)
    assert abs(moment(rows["partner"].expires_at) - ninety) < timedelta(minutes=5)
    assert moment(rows["consumer"].expires_at) == datetime(2027, 1, 31, 12, 0)  # its own, kept
    assert rows["partner"].revoked_at is None and rows["consumer"].revoked_at is None
    assert rows["squatter"].revoked_at is not None  # an unconfirmed account holds no token
