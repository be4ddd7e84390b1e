"""Accounts: creating users, signing up, checking passwords, verifying and changing addresses.

API tokens are in `odr.accounts.tokens`, accounts made by someone else in `odr.accounts.staff`.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.audit import (
    email_fingerprint,
    record_security_event,
    record_security_event_now,
)
from odr.accounts.links import LinkError, link_url, make_link_token, read_link_token, spend_link
from odr.accounts.models import ROLES, User
from odr.accounts.passwords import password_problem
from odr.accounts.sessions import end_other_sessions
from odr.accounts.tokens import revoke_every_token
from odr.db import write_transaction
from odr.delivery.services import queue_mail
from odr.errors import ValidationError
from odr.extensions import db
from odr.queue import schedule_delivery
from odr.validation import FieldReader

_hasher = PasswordHasher()
# Tests set ARGON2_CHEAP: still Argon2id, at the cheapest parameters, so fixtures stay fast.
_cheap_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
# Verifying against this keeps the time of a log-in for an unknown e-mail like a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _password_hasher() -> PasswordHasher:
    return _cheap_hasher if current_app.config.get("ARGON2_CHEAP") else _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


@cache
def _timezones() -> frozenset[str]:
    # Read once: listing them walks the time-zone files (about 10 ms a call, measured here).
    return frozenset(available_timezones())


def check_account_fields(reader: FieldReader, fields: dict[str, Any]) -> dict[str, Any]:
    values = {
        "email": reader.email(fields, "email", "email"),
        "name": reader.string(fields, "name", "name"),
        "country": reader.country(fields, "country", "country"),
        "language": reader.language(fields, "language", "language"),
    }
    timezone = fields.get("timezone") or "UTC"
    if timezone not in _timezones():
        reader.fail("timezone", _l("Choose a time zone from the list, such as Asia/Shanghai."))
    values["timezone"] = timezone
    return values


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
    merchant_id: int | None = None,
    partner_id: int | None = None,
    caseload_ceiling: int | None = None,
    conflicts: list[str] | None = None,
) -> User:
    """Create an account. Accounts made by staff or the command line count as verified."""
    reader = FieldReader()
    fields = {"email": email, "name": name, "country": country, "language": language}
    values = check_account_fields(reader, {**fields, "timezone": timezone})
    if role not in ROLES:
        reader.fail("role", _l("Choose one of: %(choices)s.", choices=", ".join(ROLES)))
    if password is not None:
        problem = password_problem(password, email=values["email"] or "", name=name or "")
        if problem:
            reader.fail("password", problem)
    if values["email"] and find_user_by_email(values["email"]):
        reader.fail("email", _l("An account with this e-mail address already exists."))
    reader.raise_if_errors()
    with write_transaction(db.session):
        user = User(
            **values,
            role=role,
            languages=languages or [values["language"]],
            password_hash=hash_password(password) if password else None,
            email_verified_at=clock.now() if verified else None,
            merchant_id=merchant_id,
            partner_id=partner_id,
            caseload_ceiling=caseload_ceiling,
            conflicts=conflicts or [],
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


def warn_of_guessing(email: str) -> None:
    """Tell the owner of the address that someone keeps entering wrong passwords for it.

    The log-in throttle (`odr.accounts.throttle`) decides when: once a day at most.
    """
    user = find_user_by_email(email or "")
    if user is None or not user.active:
        return
    with write_transaction(db.session):
        key = f"password-guessing:{user.id}:{secrets.token_hex(8)}"
        mail_account(user, "password_guessing", key)
    schedule_delivery()


def set_language(user: User, language: str) -> None:
    with write_transaction(db.session):
        user.language = language


# ---- API tokens on the account page -----------------------------------------------------------
def mail_account(
    user: User, template: str, key: str, *, to: str | None = None, **context: Any
) -> None:
    """Queue an account e-mail (not about a dispute) in the user's language; the caller commits."""
    queue_mail(
        to=to or user.email,
        language=user.language,
        template=template,
        key=key,
        case_id=None,
        user=user,
        **context,
    )


# ---- sign-up and e-mail verification ------------------------------------------------------------

SIGNUP_ROLES = ("consumer", "merchant")


def sign_up(fields: dict[str, Any], *, proven_email: str | None = None) -> User | None:
    """A new consumer or merchant account, unverified until its e-mail link is followed.

    Signing up with an address that has an account sends that address a notice instead and
    answers the same, so the form does not tell who has an account. `proven_email` is an address
    whose control was already shown by following an invitation link sent to it.
    """
    reader = FieldReader()
    values = check_account_fields(reader, fields)
    role = fields.get("role")
    if role not in SIGNUP_ROLES:
        reader.fail("role", _l("Choose one of: %(choices)s.", choices=", ".join(SIGNUP_ROLES)))
    password = fields.get("password") or ""
    problem = password_problem(password, email=values["email"] or "", name=values["name"] or "")
    if problem:
        reader.fail("password", problem)
    if not fields.get("terms"):
        reader.fail("terms", _l("Please accept the terms of use to continue."))
    reader.raise_if_errors()
    # Hashed either way: the time of the answer must not tell who has an account either.
    password_hash = hash_password(password)
    existing = find_user_by_email(values["email"])
    if existing is not None:
        with write_transaction(db.session):
            mail_account(
                existing, "account_exists", f"account-exists:{existing.id}:{secrets.token_hex(8)}"
            )
        schedule_delivery()
        return None
    proven = proven_email is not None and proven_email == values["email"]
    with write_transaction(db.session):
        user = User(
            **values,
            role=role,
            languages=[values["language"]],
            password_hash=password_hash,
            terms_accepted_at=clock.now(),
            email_verified_at=clock.now() if proven else None,
        )
        db.session.add(user)
        db.session.flush()
        if not proven:
            _queue_verification(user)
    schedule_delivery()
    return user


def _queue_verification(user: User) -> None:
    token = make_link_token("verify_email", user=user.id, email=user.email)
    mail_account(
        user,
        "verify_email",
        f"verify:{user.id}:{token[-16:]}",
        link=link_url("/account/verify", token),
    )


def resend_verification(user: User) -> None:
    if user.email_verified:
        return
    with write_transaction(db.session):
        _queue_verification(user)
    schedule_delivery()


def account_to_verify(token: str) -> User:
    """The account a verification link names, if the link is good; reading it changes nothing."""
    payload = read_link_token("verify_email", token)
    user = db.session.get(User, payload["user"])
    if user is None or user.email != payload["email"]:
        raise LinkError("invalid")
    return user


def verify_email(token: str, *, actor: Any = None, password: str = "") -> User:
    """Confirm the address of the account the link names, for the person who signed up only.

    The link proves the mailbox; `actor` logged in as that account, or its `password`, proves
    the person who chose the password. Anyone could have signed up with someone else's address:
    the owner of the mailbox, who has the link but not that password, takes the account by a
    password reset instead, which ends whatever the other person opened.
    """
    payload = read_link_token("verify_email", token)
    account = account_to_verify(token)
    if getattr(actor, "id", None) != account.id and not _password_matches(account, password):
        raise ValidationError({"password": _l("This is not the password of this account.")})
    with write_transaction(db.session):
        user = db.session.get(User, payload["user"])
        if user is None or user.email != payload["email"]:
            raise LinkError("invalid")
        spend_link("verify_email", payload)
        if user.email_verified_at is None:
            user.email_verified_at = clock.now()
            record_security_event("email_verified", user_id=user.id)
    return user


# ---- passwords --------------------------------------------------------------------------------


def password_fingerprint(user: User) -> str:
    # A reset link names the password it replaces: once that changes, the link is dead.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def request_password_reset(email: str, *, language: str | None = None) -> None:
    """Send a reset link if the address has an active account, and a notice that no account uses
    it otherwise: the same work and the same answer either way, so that neither the page nor its
    time tells who has an account. `language` words the notice (there is no account to ask)."""
    user = find_user_by_email(email or "")
    if user is None or not user.active:
        _tell_no_account_uses(email, language)
        return
    token = make_link_token("reset_password", user=user.id, pwd=password_fingerprint(user))
    with write_transaction(db.session):
        mail_account(
            user,
            "reset_password",
            f"reset:{user.id}:{token[-16:]}",
            link=link_url("/password/reset", token),
        )
    schedule_delivery()


def _tell_no_account_uses(email: str, language: str | None) -> None:
    reader = FieldReader()
    address = reader.email({"email": email}, "email", "email")
    if address is None:
        return  # not an address at all: nobody to tell, and nothing to learn from the time
    token = make_link_token("reset_password", user=0, pwd="")  # the work a real link costs
    with write_transaction(db.session):
        queue_mail(
            to=address,
            language=language,
            template="reset_no_account",
            key=f"reset-no-account:{token[-16:]}",
            case_id=None,
        )
    schedule_delivery()


def check_reset_link(token: str, purpose: str = "reset_password") -> User:
    payload = read_link_token(purpose, token)
    user = db.session.get(User, payload["user"])
    if user is None or not user.active or payload["pwd"] != password_fingerprint(user):
        raise LinkError("used")
    return user


def reset_password(token: str, new_password: str, purpose: str = "reset_password") -> User:
    """Set a new password from an e-mail link; every session of the account ends, and a reset
    revokes every API token too. (A welcome link sets the first password of an account made by
    someone else: a partner agency's token, made with the account, goes on working.)"""
    user = check_reset_link(token, purpose)
    payload = read_link_token(purpose, token)
    _refuse_weak(new_password, user)
    with write_transaction(db.session):
        spend_link(purpose, payload)
        user = db.session.get(User, user.id)
        user.password_hash = hash_password(new_password)
        if user.email_verified_at is None:
            user.email_verified_at = clock.now()  # the link reached this address
        end_other_sessions(user.id)
        if purpose == "reset_password":
            revoke_every_token(user.id)
        record_security_event("password_reset", user_id=user.id, link=purpose)
    return user


def _refuse_weak(password: str, user: User) -> None:
    problem = password_problem(password, email=user.email, name=user.name)
    if problem:
        raise ValidationError({"new_password": problem})


def _password_matches(user: User, password: str) -> bool:
    found = authenticate(user.email, password) if password else None
    return found is not None and found.id == user.id


def _require_password(user: User, password: str) -> None:
    if authenticate(user.email, password) is None:
        raise ValidationError({"password": _l("This is not your current password.")})


def change_password(user: User, current: str, new_password: str) -> None:
    """Change the password; every other session of the account ends, every API token too."""
    _require_password(user, current)
    _refuse_weak(new_password, user)
    with write_transaction(db.session):
        db.session.get(User, user.id).password_hash = hash_password(new_password)
        end_other_sessions(user.id, keep=user.session_key)
        revoke_every_token(user.id)
        record_security_event("password_changed", user_id=user.id)


# ---- e-mail change ------------------------------------------------------------------------------


def request_email_change(user: User, password: str, new_email: str) -> None:
    """Send a confirmation link to the new address and a notice to the old one."""
    _require_password(user, password)
    reader = FieldReader()
    email = reader.email({"new_email": new_email}, "new_email", "new_email")
    reader.raise_if_errors()
    if find_user_by_email(email) is not None:
        raise ValidationError({"new_email": _l("This e-mail address cannot be used.")})
    token = make_link_token("change_email", user=user.id, email=email)
    with write_transaction(db.session):
        mail_account(
            user,
            "confirm_email_change",
            f"change-email:{user.id}:{token[-16:]}",
            to=email,
            link=link_url("/account/email/confirm", token),
        )
        mail_account(
            user,
            "email_change_requested",
            f"change-email-notice:{user.id}:{token[-16:]}",
            new_email=email,
        )
        record_security_event(
            "email_change_requested", user_id=user.id, new_email_hash=email_fingerprint(email)
        )
    schedule_delivery()


def confirm_email_change(token: str) -> User:
    payload = read_link_token("change_email", token)
    with write_transaction(db.session):
        user = db.session.get(User, payload["user"])
        if user is None or not user.active:
            raise LinkError("invalid")
        if find_user_by_email(payload["email"]) is not None:
            raise ValidationError({"new_email": _l("This e-mail address cannot be used.")})
        spend_link("change_email", payload)
        old = user.email
        user.email = payload["email"]
        user.email_verified_at = clock.now()
        record_security_event(
            "email_changed",
            user_id=user.id,
            old_email_hash=email_fingerprint(old),
            new_email_hash=email_fingerprint(user.email),
        )
        mail_account(
            user,
            "email_changed",
            f"email-changed:{user.id}:{payload['jti']}",
            to=old,
            old_email=old,
        )
    schedule_delivery()
    return user


def record_failed_login(email: str) -> None:
    """A failed log-in: the account's id when the address has one, else its fingerprint."""
    user = find_user_by_email(email or "")
    if user is not None:
        record_security_event_now("login_failed", user_id=user.id)
    else:
        record_security_event_now("login_failed", user_id=None, email_hash=email_fingerprint(email))
