"""Webhooks to partner agencies, per Standard Webhooks.

A webhook is an outbox row written in the transaction of the change it reports; the outbox posts
it after commit and retries it on its schedule, every attempt with the same `webhook-id` (the
row's idempotency key) and a fresh `webhook-timestamp`, signed by every secret that signs now.

The address is checked when it is delivered, not only when it was entered: the host is resolved,
every address it resolves to must be public (unless WEBHOOK_ALLOW_PRIVATE), and the connection
goes to an address that was checked, with the name in the Host header and in TLS SNI, so a name
that resolves differently a moment later (DNS rebinding) cannot redirect the post.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from standardwebhooks import Webhook

from odr import clock
from odr.cases.models import Case
from odr.db import insert_rows, write_transaction
from odr.delivery.models import OutboxMessage
from odr.delivery.services import SENDERS, Sender, notify, queue_mail
from odr.errors import NotFound
from odr.extensions import db
from odr.logs import REQUEST_ID_HEADER
from odr.queue import schedule_delivery
from odr.referrals.addresses import is_public
from odr.referrals.models import Partner
from odr.referrals.secrets import signing_secrets

EVENT_TYPES = (
    "referral.created",
    "referral.withdrawn",
    "referral.expired",
    "referral.evidence_added",
)
DEFAULT_TIMEOUT = 10.0  # seconds; DESIGN.md: a 2xx within 10 s is delivery


class WebhookFailed(Exception):
    """The partner did not take the message; the outbox tries again later."""

    final = False


class EndpointGone(WebhookFailed):
    """410 Gone: the message is dead at once and the partner's endpoint is disabled."""

    final = True


class AgencyDisabled(WebhookFailed):
    """The agency is disabled: the message is held (dead, without an alert of its own: the
    disabling was one) until the agency is enabled again, which sends it out."""

    final = True


def queue_webhook(
    partner: Partner, event_type: str, data: dict[str, Any], *, case_id: int | None
) -> str:
    """Write the webhook to the outbox (the caller commits, then calls `schedule_delivery`);
    returns its message id, the `webhook-id` of every attempt."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type}")
    message_id = f"msg_{secrets.token_hex(16)}"
    payload = {
        "type": event_type,
        "timestamp": clock.now().isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    row = {
        "kind": "webhook",
        "destination": partner.public_id,
        "payload": payload,
        "idempotency_key": message_id,
        "case_id": case_id,
    }
    insert_rows(db.session, OutboxMessage, [row])
    return message_id


def deliver_webhook(message: OutboxMessage) -> None:
    """Post one webhook; returns when the partner answered 2xx, raises `WebhookFailed` otherwise."""
    partner = _partner_of(message)
    if partner is None:
        raise WebhookFailed(f"no partner agency {message.destination}")
    if not partner.active:
        raise AgencyDisabled(f"the partner agency {partner.name} is disabled")
    keys = signing_secrets(partner)
    if not keys:
        raise WebhookFailed(f"the partner agency {partner.name} has no signing secret")
    text = json.dumps(message.payload, separators=(",", ":"))
    stamp = int(clock.now().timestamp())
    signed_at = datetime.fromtimestamp(stamp, UTC)
    signatures = [Webhook(key).sign(message.idempotency_key, signed_at, text) for key in keys]
    headers = {
        "content-type": "application/json",
        "webhook-id": message.idempotency_key,
        "webhook-timestamp": str(stamp),
        "webhook-signature": " ".join(signatures),
        "user-agent": "ODR-Webhooks/1",
    }
    if message.request_id:  # of the request that caused the message, for the partner's reports
        headers[REQUEST_ID_HEADER] = message.request_id
    status = post_webhook(partner.webhook_url, text.encode(), headers)
    if 200 <= status < 300:
        return
    if status == 410:
        raise EndpointGone(f"the endpoint answered {status}")
    raise WebhookFailed(f"the endpoint answered {status}")  # 3xx included: never followed


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST to a checked address; the status of the answer. Redirects are not followed."""
    config = current_app.config
    allow_private = bool(config.get("WEBHOOK_ALLOW_PRIVATE"))
    timeout = float(config.get("WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT))
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise WebhookFailed("the webhook address is not https")
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = checked_addresses(host, port, allow_private=allow_private)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, addresses=addresses, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:  # timeouts are OSErrors
        raise WebhookFailed(f"no answer from {host}: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    if time.monotonic() - started > timeout:  # the socket timeout counts each read, not the whole
        raise WebhookFailed(f"no answer from {host} within {timeout:g} s")
    return status


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Every address the host resolves to; refused if any of them is not public."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise WebhookFailed(f"{host} resolves to a non-public address {address}")
    return addresses


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    error: OSError = OSError("no address")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the addresses that were checked; the Host header still names the host."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with the certificate checked for the host name (sent in SNI)."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.addresses = addresses

    def connect(self) -> None:
        raw = _connect(self.addresses, self.port, self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def _partner_of(message: OutboxMessage) -> Partner | None:
    return db.session.scalar(sa.select(Partner).where(Partner.public_id == message.destination))


def webhook_dead(message: OutboxMessage, exc: Exception) -> None:
    """Called by the outbox in the transaction that makes a webhook message dead: after a 410 the
    partner is disabled; either way every active case manager gets a notice and an e-mail."""
    from odr.cases.reading import case_managers  # here: the case services send webhooks

    if isinstance(exc, AgencyDisabled):
        return
    partner = _partner_of(message)
    template = "webhook_dead"
    if isinstance(exc, EndpointGone) and partner is not None:
        template = "webhook_endpoint_gone"
        partner.active = False
        partner.disabled_reason = (
            f"the webhook endpoint answered 410 Gone ({message.idempotency_key})"
        )
    case = _case_of(message)
    event = message.payload.get("type", "")
    name = partner.name if partner is not None else message.destination
    recipients = case_managers()
    moment = message.dead_at.isoformat() if message.dead_at else ""  # a retried one may die again
    for user in recipients:
        queue_mail(
            to=user.email,
            language=user.language,
            template=template,
            key=f"{template}:{message.idempotency_key}:{moment}:{user.id}",
            case_id=message.case_id,
            partner_name=name,
            event=event,
            message_id=message.idempotency_key,
            error=message.last_error or "",
            reference=case.reference if case else None,
            dispute=case.public_id if case else None,
        )
    notify(
        user_ids=[user.id for user in recipients],
        case_id=message.case_id,
        kind=template,
        partner=name,
        event=event,
        message=message.idempotency_key,
        reference=case.reference if case else None,
        case=case.public_id if case else None,
    )


def _case_of(message: OutboxMessage) -> Case | None:
    return None if message.case_id is None else db.session.get(Case, message.case_id)


def release_held_webhooks(partner: Partner) -> int:
    """Make the webhooks held while the agency was disabled due again (the caller commits, then
    calls `schedule_delivery`); how many."""
    held = sa.update(OutboxMessage).where(
        OutboxMessage.kind == "webhook",
        OutboxMessage.destination == partner.public_id,
        OutboxMessage.dead_at.is_not(None),
        OutboxMessage.last_error.startswith(f"{AgencyDisabled.__name__}:"),
    )
    return db.session.execute(
        held.values(dead_at=None, attempts=0, next_attempt_at=clock.now())
    ).rowcount


def retry_dead_webhook(message_id: int) -> None:
    """Make a dead webhook message due again, from its first attempt (the admin page's retry)."""
    with write_transaction(db.session):
        revived = db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.kind == "webhook",
                OutboxMessage.dead_at.is_not(None),
            )
            .values(dead_at=None, attempts=0, next_attempt_at=clock.now())
        )
    if revived.rowcount != 1:
        raise NotFound(f"no dead webhook message {message_id}")
    schedule_delivery()


@dataclass(frozen=True)
class DeadWebhook:
    id: int
    agency: str  # the agency's name, or the destination if the agency is gone from the directory
    event: str | None
    webhook_id: str
    attempts: int
    last_error: str | None
    dead_at: datetime
    reference: str | None  # the dispute it reports on, if any
    dispute_id: str | None


def dead_webhooks(*, before: int | None, limit: int) -> list[DeadWebhook]:
    """Dead webhook messages, newest first, with their agency and dispute: one query a page."""
    query = (
        sa.select(
            OutboxMessage.id,
            sa.func.coalesce(Partner.name, OutboxMessage.destination),
            OutboxMessage.payload["type"].as_string(),
            OutboxMessage.idempotency_key,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.dead_at,
            Case.reference,
            Case.public_id,
        )
        .outerjoin(Partner, Partner.public_id == OutboxMessage.destination)
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.kind == "webhook", OutboxMessage.dead_at.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    return [DeadWebhook(*row) for row in db.session.execute(query)]


SENDERS["webhook"] = Sender(send=deliver_webhook, gave_up=webhook_dead)
