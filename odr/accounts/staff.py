"""Accounts made by someone else: the provider's neutrals and case managers (by a case
manager), a merchant's own staff (by the merchant); each chooses its password from a welcome
link."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr.accounts.audit import (
    record_security_event,
)
from odr.accounts.links import link_url, make_link_token
from odr.accounts.models import User
from odr.accounts.services import (
    check_account_fields,
    create_user,
    find_user_by_email,
    mail_account,
    password_fingerprint,
)
from odr.accounts.sessions import end_other_sessions
from odr.accounts.tokens import revoke_every_token
from odr.db import write_transaction
from odr.errors import Forbidden, NotFound, ValidationError
from odr.extensions import db
from odr.queue import schedule_delivery
from odr.validation import FieldReader

PROVIDER_STAFF_ROLES = ("mediator", "arbitrator", "case_manager")


def _welcome(user: User) -> None:
    token = make_link_token("staff_welcome", user=user.id, pwd=password_fingerprint(user))
    mail_account(
        user, "staff_welcome", f"welcome:{user.id}", link=link_url("/password/welcome", token)
    )


def invite_to_choose_password(user: User) -> None:
    """Send a new account made by someone else (staff, a merchant's staff, a partner agency's
    desk) the link that sets its password."""
    with write_transaction(db.session):
        _welcome(db.session.get(User, user.id))
    schedule_delivery()


def create_staff_account(actor: User, fields: dict[str, Any]) -> User:
    """A case manager creates a mediator, arbitrator or case manager; a welcome link sets the
    password."""
    if actor.role != "case_manager":
        raise Forbidden()
    role = fields.get("role")
    if role not in PROVIDER_STAFF_ROLES:
        raise ValidationError(
            {"role": _l("Choose one of: %(choices)s.", choices=", ".join(PROVIDER_STAFF_ROLES))}
        )
    languages = [x for x in (fields.get("languages") or []) if x]
    ceiling = fields.get("caseload_ceiling")
    if ceiling is not None and (not isinstance(ceiling, int) or not 1 <= ceiling <= 10000):
        raise ValidationError({"caseload_ceiling": _l("Must be a whole number from 1 to 10000.")})
    user = create_user(
        email=fields.get("email") or "",
        name=fields.get("name") or "",
        role=role,
        country=fields.get("country") or "",
        language=fields.get("language") or "",
        languages=languages,
        timezone=fields.get("timezone") or "UTC",
        caseload_ceiling=ceiling,
        conflicts=[x.strip().lower() for x in fields.get("conflicts") or [] if x.strip()],
        verified=False,
    )
    invite_to_choose_password(user)
    return user


def add_merchant_staff(owner: User, fields: dict[str, Any]) -> User | None:
    """A merchant adds a staff account that acts for it, with its own log-in.

    An address that already has an account gets a notice instead (and None is returned); the
    merchant gets the same answer, so the form does not tell who has an account.
    """
    if owner.role != "merchant" or owner.merchant_id is not None or not owner.email_verified:
        raise Forbidden()
    reader = FieldReader()
    values = check_account_fields(
        reader,
        {
            "email": fields.get("email") or "",
            "name": fields.get("name") or "",
            "country": owner.country,
            "language": fields.get("language") or owner.language,
            "timezone": owner.timezone,
        },
    )
    reader.raise_if_errors()
    existing = find_user_by_email(values["email"])
    if existing is not None:
        with write_transaction(db.session):
            mail_account(
                existing,
                "staff_address_taken",
                f"staff-address-taken:{existing.id}:{secrets.token_hex(8)}",
                merchant=owner.name,
            )
        schedule_delivery()
        return None
    with write_transaction(db.session):  # one transaction, like the notice: alike in time too
        user = User(**values, role="merchant", languages=[values["language"]], merchant_id=owner.id)
        db.session.add(user)
        db.session.flush()
        _welcome(user)
    schedule_delivery()
    return user


def merchant_staff(owner: User) -> list[User]:
    """The merchant's staff who have joined (followed the welcome link). Those merely invited are
    not shown: an address that already had an account never joins either, and the list must
    not tell the one from the other."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.merchant_id == owner.id, User.email_verified_at.is_not(None))
            .order_by(User.id)
        )
    )


def deactivate_user(actor: User, user_id: int) -> User:
    """Deactivate an account: its sessions and tokens stop working at once.

    Case managers may deactivate anyone but themselves; a merchant, its own staff.
    """
    with write_transaction(db.session):
        user = db.session.get(User, user_id)
        allowed = actor.role == "case_manager" or (
            user is not None and user.merchant_id == actor.id
        )
        if user is None or not allowed:
            raise NotFound()
        if user.id == actor.id:
            raise ValidationError({"user": _l("You cannot deactivate your own account.")})
        user.active = False
        end_other_sessions(user.id)
        record_security_event("account_deactivated", user_id=user.id, by=actor.id)
        revoke_every_token(user.id)
    return user


def list_users(*, after_id: int | None = None, limit: int = 50) -> list[User]:
    query = sa.select(User).order_by(User.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(User.id < after_id)
    return list(db.session.scalars(query))
