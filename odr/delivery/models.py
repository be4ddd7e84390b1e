"""The outbox: every side effect that leaves the process, written with the change that caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.db import UTCDateTime
from odr.extensions import db
from odr.logs import current_request_id

OUTBOX_KINDS = ("mail", "webhook", "render")
WAITING = "delivered_at IS NULL AND dead_at IS NULL"
DEAD = "dead_at IS NOT NULL"


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(OUTBOX_KINDS), name="kind_known"),
        # Partial: only the messages waiting to go (the delivery's walk, the metrics' depth) and
        # the few given up (the case managers' page) are indexed, not every message ever sent.
        sa.Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=sa.text(WAITING),
            sqlite_where=sa.text(WAITING),
        ),
        sa.Index(
            "ix_outbox_dead",
            "id",
            postgresql_where=sa.text(DEAD),
            sqlite_where=sa.text(DEAD),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    destination: Mapped[str] = mapped_column(sa.String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The request (or task) that wrote the message: a webhook carries it as `X-Request-ID`.
    request_id: Mapped[str | None] = mapped_column(sa.String(128), default=current_request_id)


class Notice(db.Model):
    """A notice in the app, for the same events that send e-mail; worded when shown."""

    __tablename__ = "notices"
    __table_args__ = (
        sa.Index("ix_notices_user_unread", "user_id", "read_at", "id"),
        sa.Index("ix_notices_user_case", "user_id", "case_id", "read_at"),  # unread per case
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
