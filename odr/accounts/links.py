"""Signed, expiring, single-use e-mail links: verification, invitation, reset, e-mail change.

Each link carries a purpose (the signing salt), a random id and its payload. Altered: bad
signature. Old: expired. Used: its id is in `used_links`, written in the same transaction as the
change the link makes, so a link works once even when two clicks race.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from odr import clock
from odr.accounts.models import UsedLink
from odr.errors import DomainError
from odr.extensions import db

LIFETIMES = {  # seconds
    "verify_email": 48 * 3600,
    "invitation": 30 * 24 * 3600,
    "reset_password": 3600,
    "change_email": 24 * 3600,
    "staff_welcome": 7 * 24 * 3600,
}
# Where each kind of link leads (the path before its token), so that a link too damaged to be
# read still tells what it was for.
LINK_PATHS = {
    "verify_email": "/account/verify",
    "invitation": "/invitations",
    "reset_password": "/password/reset",
    "change_email": "/account/email/confirm",
    "staff_welcome": "/password/welcome",
}


class LinkError(DomainError):
    """The link is altered, expired or already used; `reason` says which, and `purpose` (a key
    of LIFETIMES, when known) what the link was for."""

    status = 400

    def __init__(self, reason: str, purpose: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.purpose = purpose


class _ClockSigner(TimestampSigner):
    """Link ages are measured on the application's clock, so expiry can be tested and replayed."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"odr-link-{purpose}", signer=_ClockSigner
    )


def make_link_token(purpose: str, **payload: Any) -> str:
    return _serializer(purpose).dumps({**payload, "jti": secrets.token_urlsafe(16)})


def read_link_token(purpose: str, token: str) -> dict[str, Any]:
    """The payload of a valid, unexpired, unused link; LinkError otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=LIFETIMES[purpose])
    except SignatureExpired as exc:
        raise LinkError("expired", purpose) from exc
    except BadSignature as exc:
        raise LinkError("invalid", purpose) from exc
    if db.session.get(UsedLink, payload["jti"]) is not None:
        raise LinkError("used", purpose)
    return payload


def peek_link_token(purpose: str, token: str) -> dict[str, Any] | None:
    """The payload of a link signed by us, however old or used: what a dead link was about, to
    word its error page, never to act on. None when the signature is not ours."""
    try:
        return _serializer(purpose).loads(token)
    except BadSignature:
        return None


def purpose_of_path(path: str) -> str | None:
    """What a link was for, from the path it was followed at."""
    for purpose, prefix in LINK_PATHS.items():
        if path.startswith(f"{prefix}/"):
            return purpose
    return None


def spend_link(purpose: str, payload: dict[str, Any]) -> None:
    """Mark the link used; call inside the write transaction of the change it makes."""
    db.session.add(UsedLink(jti=payload["jti"], purpose=purpose))
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise LinkError("used", purpose) from exc


def link_url(endpoint_path: str, token: str) -> str:
    return f"{current_app.config['BASE_URL']}{endpoint_path}/{token}"
