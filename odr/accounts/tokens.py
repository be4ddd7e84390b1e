"""API tokens: stored hashed, shown once, scoped by the account's role, expiring."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.audit import (
    record_security_event,
)
from odr.accounts.models import OTHER_SCOPES, PARTNER_SCOPES, SCOPES, ApiToken, User
from odr.db import write_transaction
from odr.errors import NotFound
from odr.extensions import db
from odr.validation import FieldReader

TOKEN_PREFIX = "odr_"  # noqa: S105 (a prefix, not a secret)


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_DAYS = 90  # a token's life when none is asked for
TOKEN_MAX_DAYS = 366


def token_scopes_allowed(role: str) -> tuple[str, ...]:
    """The scopes a token of an account of this role may hold, and holds when none are named."""
    return PARTNER_SCOPES if role == "partner" else OTHER_SCOPES


def create_token(
    user: User,
    *,
    name: str = "default",
    scopes: Iterable[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new API token; the plain token is returned once and never stored.

    Only an account whose address is confirmed may have one. Without `scopes` it holds all its
    role may hold; without `expires_at` it lasts 90 days, and never more than a year.
    """
    from odr.policy import require_confirmed_email

    require_confirmed_email(user)
    reader = FieldReader()
    if not name or len(name) > 100:
        reader.fail("name", _l("Give the token a name of at most 100 characters."))
    allowed = token_scopes_allowed(user.role)
    wanted = set(scopes or ()) or set(allowed)
    if not wanted <= set(allowed):
        reader.fail("scopes", _l("Choose one or more of: %(choices)s.", choices=", ".join(allowed)))
    now = clock.now()
    expires_at = expires_at or now + timedelta(days=TOKEN_DAYS)
    if expires_at <= now:
        reader.fail("expires_at", _l("Choose a time in the future."))
    elif expires_at > now + timedelta(days=TOKEN_MAX_DAYS):
        reader.fail("expires_at", _l("An API token may last at most a year."))
    reader.raise_if_errors()
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(db.session):
        token = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_token_hash(plain),
            scopes=[scope for scope in SCOPES if scope in wanted],
            expires_at=expires_at,
        )
        db.session.add(token)
        db.session.flush()
        record_security_event("token_created", user_id=user.id, token_id=token.id)
    return token, plain


# Built once: every API request asks.
BY_HASH = sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("token_hash"))


def token_in_use(plain: str) -> ApiToken | None:
    """The token, with its active user, or None when unknown, expired or revoked."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = db.session.scalar(BY_HASH, {"token_hash": _token_hash(plain)})
    now = clock.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    last = token.last_used_at
    if last is None or (now - last).total_seconds() > 60:
        with write_transaction(db.session):
            db.session.execute(
                sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
    return token


def revoke_every_token(user_id: int) -> None:
    """Every live API token of the account stops working; call inside a write transaction."""
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> None:
    with write_transaction(db.session):
        token = db.session.get(ApiToken, token_id)
        if token is None or token.user_id != user.id:
            raise NotFound()
        token.revoked_at = clock.now()
        record_security_event("token_revoked", user_id=user.id, token_id=token.id)
