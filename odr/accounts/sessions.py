"""Server-side sessions: log-in starts one, log-out ends it, a password change ends the others.

The cookie (and the remember cookie) carry `<user id>:<session key>`; the server keeps only the
key's SHA-256. A session ends when it is ended, when it has been idle too long, or when it is too
old, whatever the cookie says.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from odr import clock
from odr.accounts.audit import record_security_event
from odr.accounts.models import User, UserSession
from odr.db import write_transaction
from odr.extensions import db

TOUCH_EVERY = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(user: User, *, remember: bool = False) -> str:
    key = secrets.token_urlsafe(32)
    with write_transaction(db.session):
        db.session.add(UserSession(user_id=user.id, key_hash=_hash(key), remember=remember))
        record_security_event("login", user_id=user.id, remember=remember)
    user.session_key = key
    return key


def end_session(key: str | None) -> None:
    if not key:
        return
    with write_transaction(db.session):
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.key_hash == _hash(key), UserSession.ended_at.is_(None))
            .values(ended_at=clock.now())
        )


def end_other_sessions(user_id: int, keep: str | None = None) -> None:
    """End every session of the user but `keep`; call inside a write transaction."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.key_hash != _hash(keep))
    db.session.execute(query.values(ended_at=clock.now()))


def _limits(remember: bool) -> tuple[timedelta, timedelta]:
    config = current_app.config
    if remember:
        days = timedelta(days=config["REMEMBER_DAYS"])
        return days, days
    return (
        timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]),
    )


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: the user of a live session, or None."""
    user_id, _, key = session_id.partition(":")
    if not user_id.isdigit() or not key:
        return None
    row = db.session.execute(
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.key_hash == _hash(key), UserSession.user_id == int(user_id))
    ).one_or_none()
    if row is None:
        return None
    session, user = row
    now = clock.now()
    idle, absolute = _limits(session.remember)
    if (
        session.ended_at is not None
        or not user.active
        or now - session.last_seen_at > idle
        or now - session.created_at > absolute
    ):
        return None
    if now - session.last_seen_at > TOUCH_EVERY:
        with write_transaction(db.session):
            db.session.execute(
                sa.update(UserSession).where(UserSession.id == session.id).values(last_seen_at=now)
            )
        user = db.session.get(User, int(user_id))
    user.session_key = key
    return user
