"""The agencies' webhook signing secrets, encrypted at rest under a key derived from the app's."""

from __future__ import annotations

import base64

import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from odr import clock
from odr.extensions import db
from odr.referrals.models import Partner, PartnerSecret


def secret_box() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"odr partner webhook secrets"
    ).derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def signing_secrets(partner: Partner) -> list[str]:
    """Every secret that signs now: the newest first, then those still in their grace period."""
    rows = db.session.scalars(
        sa.select(PartnerSecret)
        .where(
            PartnerSecret.partner_id == partner.id,
            sa.or_(PartnerSecret.retires_at.is_(None), PartnerSecret.retires_at > clock.now()),
        )
        .order_by(PartnerSecret.id.desc())
    )
    return [secret_box().decrypt(row.encrypted.encode()).decode() for row in rows]
