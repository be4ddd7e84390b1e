"""The security log: log-ins, failed log-ins, password, e-mail and token changes, in one chain.

An append-only table chained like a case's events (`odr.audit`: HMAC-SHA256 under the audit key),
with its count and head kept in a one-row table, `security_chain`. Appends are serialised on that
row (FOR UPDATE on PostgreSQL; on SQLite the write transaction holds the database already), so
the chain is one line whatever the number of processes.

Entries hold ids and keyed fingerprints, never a password, a token or an e-mail address: a failed
log-in for an address without an account keeps the address's fingerprint, and the client's IP
address is kept as a fingerprint too (the chain cannot be pseudonymised later, so nothing personal
goes in; `flask odr audit fingerprint` computes one for an address under investigation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.audit import GENESIS, chain_hash, fingerprint
from odr.db import UTCDateTime, write_transaction
from odr.extensions import db
from odr.jsontext import json_copy

KINDS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "password_changed",
        "password_reset",
        "email_change_requested",
        "email_changed",
        "email_verified",
        "token_created",
        "token_revoked",
        "account_deactivated",
    }
)
LOG_NAME = "security events"  # how `audit verify` names this log


class SecurityEvent(db.Model):
    """One entry of the security log; its id is its place in the chain (1, 2, 3...)."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(sa.String(40))
    # No foreign key: the log outlives accounts and never holds their deletion up.
    user_id: Mapped[int | None] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class SecurityChain(db.Model):
    """The one row that holds the security log's count and head."""

    __tablename__ = "security_chain"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    event_count: Mapped[int] = mapped_column(default=0)
    head: Mapped[str] = mapped_column(sa.String(64), default=GENESIS)


def security_event_hash(event: Any) -> str:
    body = {
        "log": "security",
        "seq": event.id,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "user_id": event.user_id,
        "data": event.data,
    }
    return chain_hash(event.prev_hash, body)


def email_fingerprint(email: str) -> str:
    return fingerprint("email", (email or "").strip().lower())


def ip_fingerprint(address: str) -> str:
    return fingerprint("ip", address or "")


def _hold_head() -> SecurityChain:
    """The head row, held for writing until the caller's transaction ends (made if missing)."""
    query = (
        sa.select(SecurityChain)
        .where(SecurityChain.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = db.session.scalar(query)
    if head is None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(
            dialect.insert(SecurityChain)
            .values(id=1, event_count=0, head=GENESIS)
            .on_conflict_do_nothing()
        )
        head = db.session.scalar(query)
    return head


def record_security_event(kind: str, *, user_id: int | None, **data: Any) -> None:
    """Append to the security log inside the caller's write transaction.

    `data` holds ids, counts and fingerprints only. In a request, the client's IP address is
    added as a fingerprint.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown security event {kind!r}")
    if has_request_context():
        data.setdefault("ip", ip_fingerprint(request.remote_addr or ""))
    head = _hold_head()
    event = SecurityEvent(
        id=head.event_count + 1,
        at=clock.now(),
        kind=kind,
        user_id=user_id,
        data=json_copy(data),
        prev_hash=head.head,
    )
    event.hash = security_event_hash(event)
    head.event_count, head.head = event.id, event.hash
    db.session.add(event)


def record_security_event_now(kind: str, *, user_id: int | None, **data: Any) -> None:
    """`record_security_event` in a write transaction of its own (for a view that writes
    nothing else, such as a failed log-in)."""
    with write_transaction(db.session):
        record_security_event(kind, user_id=user_id, **data)


def security_head() -> tuple[int, str]:
    """(count, head) of the security log as its head row records them."""
    head = db.session.get(SecurityChain, 1)
    return (head.event_count, head.head) if head is not None else (0, GENESIS)


def first_broken_security_event(batch: int = 1000) -> str | None:
    """A sentence naming the first broken link of the security log, or None when it holds."""
    head = db.session.get(SecurityChain, 1)
    count, last = (head.event_count, head.head) if head is not None else (0, GENESIS)
    previous, expected = GENESIS, 1
    rows = db.session.execute(
        sa.select(SecurityEvent.__table__)
        .order_by(SecurityEvent.id)
        .execution_options(yield_per=batch)
    )
    for event in rows:
        if event.id != expected:
            return f"event {expected} is missing"
        if event.prev_hash != previous:
            return f"event {event.id} does not follow event {event.id - 1}"
        if security_event_hash(event) != event.hash:
            return f"event {event.id} was altered"
        previous, expected = event.hash, expected + 1
    if head is None and expected > 1:
        return "the head row (security_chain) is missing"
    if expected - 1 != count or previous != last:
        return f"events after {expected - 1} are missing (the head records {count})"
    return None
