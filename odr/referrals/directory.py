"""The partner directory: agencies abroad, their users and tokens, their signing secrets.

A webhook signing secret must be read back to sign, so it cannot be stored hashed like a token:
it is stored encrypted (Fernet, with a key derived from the app's SECRET_KEY) and shown once when
made. Rotating keeps the old secret signing beside the new one for a grace period, so an agency
can switch without losing a delivery.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.audit import record_security_event
from odr.accounts.models import ApiToken, User
from odr.accounts.services import create_user, find_user_by_email
from odr.accounts.staff import invite_to_choose_password
from odr.accounts.tokens import create_token
from odr.db import write_transaction
from odr.errors import NotFound
from odr.extensions import db
from odr.i18n import canonical_language
from odr.referrals.addresses import is_public, literal_address
from odr.referrals.models import Partner, PartnerSecret
from odr.referrals.secrets import secret_box
from odr.referrals.services import backlogs
from odr.validation import COUNTRIES, FieldReader

ROTATION_GRACE = timedelta(hours=24)


def new_signing_secret() -> str:
    """`whsec_` and 32 random bytes in base 64, as Standard Webhooks expects."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_webhook_url(reader: FieldReader, url: str | None, path: str) -> None:
    """Public `https` only, unless ODR_WEBHOOK_ALLOW_PRIVATE (development and tests)."""
    if url is None:
        return
    parts = urlsplit(url)
    allow_private = current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        reader.fail(path, _l("Use an https:// address."))
        return
    host = (parts.hostname or "").lower()
    if not host:
        reader.fail(path, _l("The address needs a host name."))
        return
    if allow_private:
        return
    address = literal_address(host)
    if address is None:
        local = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
    else:
        local = not is_public(address)
    if local:
        reader.fail(path, _l("The address must be reachable from the internet."))


def add_partner(
    *,
    name: str,
    countries: list[str],
    languages: list[str],
    webhook_url: str,
    legal_basis: str,
    user_email: str,
) -> tuple[Partner, User, str, str]:
    """The agency, a partner user with an API token, and a signing secret (both shown once)."""
    reader = FieldReader()
    data = {"name": name, "webhook_url": webhook_url, "legal_basis": legal_basis}
    name = reader.string(data, "name", "name", max_length=200)
    url = reader.string(data, "webhook_url", "webhook_url", max_length=500)
    basis = reader.string(data, "legal_basis", "legal_basis", max_length=1000)
    check_webhook_url(reader, url, "webhook_url")
    codes = [c.strip().upper() for c in countries if c.strip()]
    if not codes or any(code not in COUNTRIES for code in codes):
        reader.fail("countries", _l("Give ISO 3166 country codes, such as DE,AT."))
    spoken = [canonical_language(x.strip()) for x in languages if x.strip()]
    if not spoken or None in spoken:
        reader.fail("languages", _l("Give language codes, such as de,en."))
    if name and db.session.scalar(sa.select(Partner.id).where(Partner.name == name)):
        reader.fail("name", _l("A partner agency with this name exists already."))
    email = reader.email({"email": user_email}, "email", "email")
    if email and find_user_by_email(email):
        reader.fail("email", _l("An account with this e-mail address already exists."))
    reader.raise_if_errors()
    secret = new_signing_secret()
    with write_transaction(db.session):
        partner = Partner(
            name=name, countries=codes, languages=spoken, webhook_url=url, legal_basis=basis
        )
        db.session.add(partner)
        db.session.flush()
        db.session.add(
            PartnerSecret(
                partner_id=partner.id, encrypted=secret_box().encrypt(secret.encode()).decode()
            )
        )
    user = create_user(
        email=email,
        name=name,
        role="partner",
        country=codes[0],
        language=spoken[0],
        partner_id=partner.id,
    )
    _token, plain = create_token(user, name=f"partner {name}"[:100])
    invite_to_choose_password(user)  # for the portal; the API needs only the token
    return partner, user, plain, secret


def find_partner(partner_id: str) -> Partner:
    """By number or public id."""
    column = Partner.id if partner_id.isdigit() else Partner.public_id
    value: Any = int(partner_id) if partner_id.isdigit() else partner_id
    partner = db.session.scalar(sa.select(Partner).where(column == value))
    if partner is None:
        raise NotFound(f"no partner agency {partner_id}")
    return partner


def list_partners() -> list[Partner]:
    return list(db.session.scalars(sa.select(Partner).order_by(Partner.id)))


def disable_partner(partner: Partner, reason: str) -> None:
    with write_transaction(db.session):
        partner = db.session.merge(partner)
        partner.active, partner.disabled_reason = False, reason[:500]


def enable_partner(partner: Partner, webhook_url: str | None = None) -> None:
    """Take a disabled agency back, at its old webhook address or a new one. The webhooks held
    while it was disabled go out; those that died before (the 410 itself, say) wait for a case
    manager's retry."""
    from odr.queue import schedule_delivery
    from odr.referrals.webhooks import release_held_webhooks

    url = None
    if webhook_url:
        reader = FieldReader()
        url = reader.string(
            {"webhook_url": webhook_url}, "webhook_url", "webhook_url", max_length=500
        )
        check_webhook_url(reader, url, "webhook_url")
        reader.raise_if_errors()
    with write_transaction(db.session):
        partner = db.session.merge(partner)
        partner.active, partner.disabled_reason = True, None
        if url:
            partner.webhook_url = url
        release_held_webhooks(partner)
    schedule_delivery()


def rotate_secret(partner: Partner, grace: timedelta = ROTATION_GRACE) -> str:
    """A new signing secret; the ones before it keep signing until the grace period ends."""
    secret = new_signing_secret()
    with write_transaction(db.session):
        db.session.execute(
            sa.update(PartnerSecret)
            .where(PartnerSecret.partner_id == partner.id, PartnerSecret.retires_at.is_(None))
            .values(retires_at=clock.now() + grace)
        )
        db.session.add(
            PartnerSecret(
                partner_id=partner.id, encrypted=secret_box().encrypt(secret.encode()).decode()
            )
        )
    return secret


@dataclass(frozen=True)
class DirectoryEntry:
    partner: Partner
    open_referrals: int
    signing_secrets: int  # the secrets that sign now
    grace_until: datetime | None  # a rotation is running: the previous secret signs until then
    api_tokens: int  # the tokens of the agency's accounts that work now


def partner_directory() -> list[DirectoryEntry]:
    """Every agency with its backlog, its signing secrets and its API tokens, in four queries."""
    partners = list_partners()
    backlog = backlogs()
    now = clock.now()
    secrets = {
        partner_id: (count, until)
        for partner_id, count, until in db.session.execute(
            sa.select(
                PartnerSecret.partner_id, sa.func.count(), sa.func.max(PartnerSecret.retires_at)
            )
            .where(sa.or_(PartnerSecret.retires_at.is_(None), PartnerSecret.retires_at > now))
            .group_by(PartnerSecret.partner_id)
        )
    }
    tokens = dict(
        db.session.execute(
            sa.select(User.partner_id, sa.func.count())
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(User.partner_id.is_not(None), _working_token(now))
            .group_by(User.partner_id)
        ).all()
    )
    return [
        DirectoryEntry(p, backlog.get(p.id, 0), *secrets.get(p.id, (0, None)), tokens.get(p.id, 0))
        for p in partners
    ]


def _working_token(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def replace_api_token(partner: Partner) -> tuple[User, str]:
    """A new API token for the agency's first account, shown once; every earlier token of the
    agency's accounts stops working (a lost token may be in anyone's hands)."""
    user = db.session.scalar(
        sa.select(User).where(User.partner_id == partner.id).order_by(User.id).limit(1)
    )
    if user is None:
        raise NotFound(f"the partner agency {partner.name} has no account")
    token, plain = create_token(user, name=f"partner {partner.name}"[:100])
    accounts = sa.select(User.id).where(User.partner_id == partner.id)
    with write_transaction(db.session):
        revoked = db.session.execute(
            sa.update(ApiToken)
            .where(
                ApiToken.user_id.in_(accounts),
                ApiToken.id != token.id,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=clock.now())
            .returning(ApiToken.id, ApiToken.user_id)
        ).all()
        for token_id, owner in revoked:
            record_security_event("token_revoked", user_id=owner, token_id=token_id)
    return user, plain


def grace_until(partner_id: int) -> datetime | None:
    """Until when the secrets before the newest keep signing, if a rotation is running."""
    return db.session.scalar(
        sa.select(sa.func.max(PartnerSecret.retires_at)).where(
            PartnerSecret.partner_id == partner_id, PartnerSecret.retires_at > clock.now()
        )
    )
