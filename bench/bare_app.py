"""The baseline of bench/lodging.py: a bare Flask + SQLAlchemy app whose one endpoint inserts a
case row and an event row, in ODR's own tables, in one transaction.

    BENCH_DATABASE_URL=sqlite:///... gunicorn -w 2 -b 127.0.0.1:PORT bench.bare_app:app

It reads the JSON body, copies the first case of the database (so each row is as wide as a real
one), gives it a new id, reference and the body's order reference, and answers 201 with the id.
No authentication, limits, validation, screening, chaining, notices or outbox: what is left is the
server, Flask, SQLAlchemy and the database, which is what lodging's figures are compared with.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, request

URL = os.environ["BENCH_DATABASE_URL"]
engine = sa.create_engine(URL)
if engine.dialect.name == "sqlite":

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, record: Any) -> None:
        # The same settings as ODR's SQLite connections (odr/db.py).
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")


metadata = sa.MetaData()
cases = sa.Table("cases", metadata, autoload_with=engine)
events = sa.Table("events", metadata, autoload_with=engine)
with engine.connect() as _connection:
    _template = dict(
        _connection.execute(sa.select(cases).order_by(cases.c.id).limit(1)).one()._mapping
    )
for _key in ("id", "public_id", "reference"):
    _template.pop(_key)
engine.dispose()  # gunicorn forks after this: each worker opens its own connections

app = Flask(__name__)


@app.post("/api/v1/disputes")
def lodge() -> Any:
    body = request.get_json()
    public_id = str(uuid.uuid4())
    row = dict(
        _template,
        public_id=public_id,
        reference="B-" + uuid.uuid4().hex[:18],
        order_reference=body["order"]["reference"],
        claim_description=body["claim"]["description"],
        created_at=datetime.now(UTC).replace(tzinfo=None),
    )
    with engine.begin() as connection:
        case_id = connection.execute(sa.insert(cases).values(row).returning(cases.c.id)).scalar()
        connection.execute(
            sa.insert(events).values(
                case_id=case_id, seq=1, at=row["created_at"], actor_id=None,
                actor_role="claimant", kind="lodged", data={"state": "negotiation"},
                prev_hash="0" * 64, hash=uuid.uuid4().hex * 2,
            )
        )  # fmt: skip
    return jsonify({"id": public_id}), 201
