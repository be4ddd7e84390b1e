"""Writing outbox rows with the change that causes them, and delivering them afterwards."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import nodes

from odr import clock
from odr.db import insert_rows, write_transaction
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
# Who reads a file a queued mail attaches, by the `source` it names: reader(id) -> (file name,
# bytes, media type). The domain that owns the files registers its reader (documents: "document").
ATTACHMENT_READERS: dict[str, Callable[[str], tuple[str, bytes, str]]] = {}


def queue_mail(
    *,
    to: str,
    language: str | None,
    template: str,
    key: str,
    case_id: int | None,
    attachments: list[dict[str, str]] | None = None,
    **context: Any,
) -> None:
    """Add a mail to the outbox (the caller commits); it is worded in the recipient's language
    when it is delivered, from what the context held now (records are copied, not referred to).
    `attachments` name files by source and id (`{"source": "document", "id": ...}`), read when
    the mail is sent, so the outbox holds no copy of them."""
    read = fields_read(template)
    kept = {name: freeze(value, read[name]) for name, value in context.items() if name in read}
    payload = {"template": template, "language": mail_locale(language), "context": kept}
    if attachments:
        payload["attachments"] = attachments
    row = {
        "kind": "mail",
        "destination": to,
        "payload": payload,
        "idempotency_key": key,
        "case_id": case_id,
    }
    insert_rows(db.session, OutboxMessage, [row])


def render_mail(payload: dict[str, Any]) -> dict[str, Any]:
    """Subject, text and HTML of a queued mail."""
    locale, template = payload["language"], payload["template"]
    with force_locale(locale):
        context = {
            "base_url": current_app.config["BASE_URL"],
            "provider": current_app.config["PROVIDER_NAME"],
            **thaw(payload["context"]),
        }
        module = current_app.jinja_env.get_template(f"mail/{template}.txt").make_module(context)
        return {
            "subject": str(module.subject).strip(),
            "text": str(module),
            "html": render_template(f"mail/{template}.html", **context),
            "language": locale,
            "attachments": [
                ATTACHMENT_READERS[item["source"]](item["id"])
                for item in payload.get("attachments", ())
            ],
        }


@cache
def fields_read(template: str) -> dict[str, frozenset[str] | None]:
    """What a mail template reads of each variable: the attributes named (`case.reference`), or
    None when it uses the value whole. The outbox keeps only that of the context."""
    environment = current_app.jinja_env
    read: dict[str, set[str] | None] = {}
    for suffix in ("txt", "html"):
        name = f"mail/{template}.{suffix}"
        tree = environment.parse(environment.loader.get_source(environment, name)[0])
        by_attribute = set()
        for node in tree.find_all(nodes.Getattr):
            if isinstance(node.node, nodes.Name):
                by_attribute.add(id(node.node))
                if read.get(node.node.name, set()) is not None:
                    read.setdefault(node.node.name, set()).add(node.attr)
        for node in tree.find_all(nodes.Name):
            if node.ctx == "load" and id(node) not in by_attribute:
                read[node.name] = None
    return {key: None if value is None else frozenset(value) for key, value in read.items()}


def freeze(value: Any, attributes: frozenset[str] | None = None) -> Any:
    """A JSON copy of a mail's context: a record becomes the attributes read of it (all its
    columns when it is used whole), dates are tagged."""
    if isinstance(value, db.Model) or is_dataclass(value):
        keys = attributes or (
            [f.name for f in fields(value)]
            if is_dataclass(value)
            else sa.inspect(value).mapper.column_attrs.keys()
        )
        return {"$record": {key: _freeze_scalar(getattr(value, key)) for key in keys}}
    if isinstance(value, dict):
        return {key: freeze(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [freeze(item) for item in value]
    return _freeze_scalar(value)


def _freeze_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def thaw(value: Any) -> Any:
    """The context back from `freeze`: records read by attribute, as the templates expect."""
    if isinstance(value, list):
        return [thaw(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$record" in value:
        return SimpleNamespace(**thaw(value["$record"]))
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    return {key: thaw(item) for key, item in value.items()}


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


class Sender(NamedTuple):
    """How a kind of message other than mail leaves: `send` raises on failure; `gave_up` is
    told when its message is dead."""

    send: Callable[[OutboxMessage], None]
    gave_up: Callable[[OutboxMessage, Exception], None]


# Kinds of outbox message besides mail, each registered by the capability that writes them
# (`webhook`: odr/referrals/webhooks.py).
SENDERS: dict[str, Sender] = {}


def _deliver(message: OutboxMessage) -> None:
    if message.kind == "mail":
        send_mail(
            current_app.config,
            to=message.destination,
            payload=render_mail(message.payload),
            message_id=message.idempotency_key,
        )
    else:
        SENDERS[message.kind].send(message)


# Context fields that hold a link token: once the mail is out, the outbox keeps none of them.
LINK_FIELDS = frozenset({"link", "invitation"})


def _spent(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of a delivered message, without the link tokens it carried."""
    context = payload.get("context")
    if not isinstance(context, dict) or not LINK_FIELDS & set(context):
        return payload
    kept = {name: value for name, value in context.items() if name not in LINK_FIELDS}
    return {**payload, "context": kept}


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
        done: dict[str, Any] = {"delivered_at": clock.now(), "last_error": None}
        spent = _spent(message.payload)
        if spent is not message.payload:
            done["payload"] = spent
        with write_transaction(db.session):
            db.session.execute(
                sa.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**done)
            )
        delivered += 1
    return delivered


def _record_failure(message_id: int, exc: Exception) -> None:
    """Schedule the next attempt; a message past its last one, or refused for good (an exception
    whose `final` is true, such as a 410), is dead, and a dead webhook alerts the case managers."""
    with write_transaction(db.session):
        message = db.session.get(OutboxMessage, message_id)
        wait = None if getattr(exc, "final", False) else backoff_after(message.attempts)
        message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        if wait is None:
            message.dead_at = clock.now()
            if message.kind in SENDERS:
                SENDERS[message.kind].gave_up(message, exc)
        else:
            message.next_attempt_at = clock.now() + wait
    log.warning("outbox message %s failed: %s", message_id, type(exc).__name__)


def notify(*, user_ids: Iterable[int], case_id: int | None, kind: str, **params: Any) -> None:
    """Notices in the app for these users (the caller commits); worded when they are shown."""
    rows = [
        {"user_id": user_id, "case_id": case_id, "kind": kind, "params": params}
        for user_id in user_ids
    ]
    insert_rows(db.session, Notice, rows)


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
