"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from odr.extensions import db
from tests.conftest import build_app


def _differences(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(app):
    assert _differences(app) == []


def test_downgrade_to_nothing_and_back(app, mailbox):
    fresh = build_app(app.backend, mailbox, name="migrations.db")
    with fresh.app_context():
        downgrade(revision="base")
        tables = sa.inspect(db.engine).get_table_names()
        assert tables == ["alembic_version"] or tables == []
        upgrade()
        assert "cases" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
    assert _differences(fresh) == []
