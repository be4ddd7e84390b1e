"""Writing outbox rows with the change that causes them, and delivering them afterwards."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from odr import clock
from odr.db import write_transaction
from odr.delivery.mail import send_mail
from odr.delivery.models import Notice, OutboxMessage
from odr.extensions import db
from odr.i18n import mail_locale

log = logging.getLogger(__name__)

# About 30 s, 2 min, 10 min, 1 h, 6 h, 24 h; then the message is dead.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
LEASE = timedelta(minutes=5)


def queue_mail(
    *, to: str, language: str | None, template: str, key: str, case_id: int | None, **context: Any
) -> OutboxMessage:
    """Render a mail in the recipient's language and add it to the outbox (the caller commits)."""
    locale = mail_locale(language)
    with force_locale(locale):
        context = {"base_url": current_app.config["BASE_URL"], **context}
        module = current_app.jinja_env.get_template(f"mail/{template}.txt").make_module(context)
        payload = {
            "subject": str(module.subject).strip(),
            "text": str(module),
            "html": render_template(f"mail/{template}.html", **context),
            "language": locale,
        }
    message = OutboxMessage(
        kind="mail", destination=to, payload=payload, idempotency_key=key, case_id=case_id
    )
    db.session.add(message)
    return message


def backoff_after(attempts: int) -> timedelta | None:
    """The wait before the next attempt, with ±20 % jitter; None when the message is dead."""
    if attempts > len(BACKOFF):
        return None
    base = BACKOFF[attempts - 1]
    return base * random.uniform(0.8, 1.2)


def _claim(message_id: int, seen_next_attempt: Any) -> bool:
    """Lease one message so that two deliverers never send it twice at the same time."""
    with write_transaction(db.session):
        claimed = db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.next_attempt_at == seen_next_attempt,
                OutboxMessage.delivered_at.is_(None),
            )
            .values(next_attempt_at=clock.now() + LEASE, attempts=OutboxMessage.attempts + 1)
        )
    return claimed.rowcount == 1


def _deliver(message: OutboxMessage) -> None:
    if message.kind == "mail":
        send_mail(
            current_app.config,
            to=message.destination,
            payload=message.payload,
            message_id=message.idempotency_key,
        )
    else:
        raise NotImplementedError(f"no deliverer for {message.kind} messages yet")


def deliver_due(limit: int = 100) -> int:
    """Deliver every due message once; returns how many were delivered."""
    due = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.next_attempt_at)
        .where(
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
            OutboxMessage.next_attempt_at <= clock.now(),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    delivered = 0
    for message_id, next_attempt_at in due:
        if not _claim(message_id, next_attempt_at):
            continue
        message = db.session.get(OutboxMessage, message_id)
        try:
            _deliver(message)
        except Exception as exc:  # any failure leaves the message for a later attempt
            _record_failure(message_id, exc)
            continue
        with write_transaction(db.session):
            db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(delivered_at=clock.now(), last_error=None)
            )
        delivered += 1
    return delivered


def _record_failure(message_id: int, exc: Exception) -> None:
    with write_transaction(db.session):
        message = db.session.get(OutboxMessage, message_id)
        wait = backoff_after(message.attempts)
        message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        if wait is None:
            message.dead_at = clock.now()
        else:
            message.next_attempt_at = clock.now() + wait
    log.warning("outbox message %s failed: %s", message_id, type(exc).__name__)


def notify(*, user_ids: Iterable[int], case_id: int | None, kind: str, **params: Any) -> None:
    """Notices in the app for these users (the caller commits); worded when they are shown."""
    rows = [
        {"user_id": user_id, "case_id": case_id, "kind": kind, "params": params}
        for user_id in user_ids
    ]
    if rows:
        db.session.execute(sa.insert(Notice), rows)


def unread_count(user: Any) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notice)
        .where(Notice.user_id == user.id, Notice.read_at.is_(None))
    )


def list_notices(user: Any, limit: int = 100) -> list[Notice]:
    """Unread first, newest first within each."""
    return list(
        db.session.scalars(
            sa.select(Notice)
            .where(Notice.user_id == user.id)
            .order_by(Notice.read_at.is_not(None), Notice.id.desc())
            .limit(limit)
        )
    )


def mark_notices_read(
    user: Any, notice_id: int | None = None, *, case_id: int | None = None
) -> None:
    with write_transaction(db.session):
        query = sa.update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
        if notice_id is not None:
            query = query.where(Notice.id == notice_id)
        if case_id is not None:
            query = query.where(Notice.case_id == case_id)
        db.session.execute(query.values(read_at=clock.now()))


def mark_case_seen(user: Any, case_id: int) -> None:
    """Opening a case reads its notices (new messages, offers...); a write only when some are
    unread, so looking at a page does not take the database's write lock for nothing."""
    unread = db.session.scalar(
        sa.select(Notice.id)
        .where(Notice.user_id == user.id, Notice.case_id == case_id, Notice.read_at.is_(None))
        .limit(1)
    )
    if unread is not None:
        mark_notices_read(user, case_id=case_id)
