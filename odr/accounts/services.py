"""Accounts: creating users, checking passwords, and API tokens (stored hashed, shown once)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.models import ROLES, ApiToken, User
from odr.db import write_transaction
from odr.errors import ValidationError
from odr.extensions import db
from odr.validation import FieldReader

_hasher = PasswordHasher()
# Tests set ARGON2_CHEAP: still Argon2id, at the cheapest parameters, so fixtures stay fast.
_cheap_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
TOKEN_PREFIX = "odr_"  # noqa: S105 (a prefix, not a secret)
MIN_PASSWORD_LENGTH = 12
# Verifying against this keeps the time of a log-in for an unknown e-mail like a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _password_hasher() -> PasswordHasher:
    return _cheap_hasher if current_app.config.get("ARGON2_CHEAP") else _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    *,
    email: str,
    name: str,
    role: str,
    country: str,
    language: str,
    password: str | None = None,
    languages: list[str] | None = None,
    timezone: str = "UTC",
    verified: bool = True,
) -> User:
    """Create an account. Accounts made by staff or the command line count as verified."""
    reader = FieldReader()
    fields = {"email": email, "name": name, "country": country, "language": language}
    email = reader.email(fields, "email", "email")
    name = reader.string(fields, "name", "name")
    country = reader.country(fields, "country", "country")
    language = reader.language(fields, "language", "language")
    if role not in ROLES:
        reader.fail("role", _l("Choose one of: %(choices)s.", choices=", ".join(ROLES)))
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        reader.fail("password", _l("At least %(count)d characters.", count=MIN_PASSWORD_LENGTH))
    if email and find_user_by_email(email):
        reader.fail("email", _l("An account with this e-mail address already exists."))
    reader.raise_if_errors()
    with write_transaction(db.session):
        user = User(
            email=email,
            name=name,
            role=role,
            country=country,
            language=language,
            languages=languages or [language],
            timezone=timezone,
            password_hash=hash_password(password) if password else None,
            email_verified_at=clock.now() if verified else None,
        )
        db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email or "")
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or not user.password_hash:
        return None
    if _password_hasher().check_needs_rehash(stored):
        with write_transaction(db.session):
            user.password_hash = hash_password(password)
    return user


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    user: User, *, name: str = "default", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new API token; the plain token is returned once and never stored."""
    if not name or len(name) > 100:
        raise ValidationError({"name": _l("Give the token a name of at most 100 characters.")})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(db.session):
        token = ApiToken(
            user_id=user.id, name=name, token_hash=_token_hash(plain), expires_at=expires_at
        )
        db.session.add(token)
    return token, plain


def user_for_token(plain: str) -> User | None:
    """The active user a bearer token belongs to, or None when unknown, expired or revoked."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(plain)))
    now = clock.now()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    last = token.last_used_at
    if last is None or (now - last).total_seconds() > 60:
        with write_transaction(db.session):
            db.session.execute(
                sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
    return token.user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: `<id>:<session version>`; an old version is refused."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def set_language(user: User, language: str) -> None:
    with write_transaction(db.session):
        user.language = language
