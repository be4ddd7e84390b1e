"""Users, their roles and API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odr import clock
from odr.db import UTCDateTime
from odr.extensions import db

ROLES = ("consumer", "merchant", "mediator", "arbitrator", "case_manager", "platform", "partner")
STAFF_ROLES = ("mediator", "arbitrator", "case_manager")
# What an API token may do: `read` disputes (GET), `write` to them (POST), and `partner`: use the
# referral endpoints of a partner agency. A partner's token may hold `partner` and `read` (it
# reads a dispute while it is referred to the agency), any other role's `read` and `write`; a
# token made without naming any holds all its role's.
SCOPES = ("read", "write", "partner")
PARTNER_SCOPES = ("read", "partner")
OTHER_SCOPES = ("read", "write")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(sa.column("role").in_(ROLES), name="role_known"),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2))
    language: Mapped[str] = mapped_column(sa.String(20))
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A merchant's staff account acts for the merchant account named here.
    merchant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # A partner user acts for the partner agency named here.
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    caseload_ceiling: Mapped[int | None]
    # A neutral's open cases in their stage (mediation or arbitration), kept with each change.
    caseload: Mapped[int] = mapped_column(default=0, server_default="0")
    conflicts: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    # The server-side session this object was loaded for (not a column).
    session_key = None  # str | None; instance attribute, not mapped

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def principal_id(self) -> int:
        """The merchant account a staff member acts for; anyone else acts for themselves."""
        return self.merchant_id or self.id

    def get_id(self) -> str:
        # Names the server-side session, so ending that row makes the cookie useless.
        return f"{self.id}:{self.session_key}"


class UserSession(db.Model):
    """A logged-in session; the cookie names it, the server can end it."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedLink(db.Model):
    """Single-use e-mail links that have been used, by their random id."""

    __tablename__ = "used_links"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(30))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(sa.JSON)  # a subset of SCOPES, in that order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # every token expires
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the owner was told the token expires soon (once, see odr.accounts.expiry).
    expiry_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
