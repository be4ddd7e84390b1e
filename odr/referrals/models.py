"""Partner ODR agencies abroad, their signing secrets, and the referrals sent to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.db import UTCDateTime, new_uuid
from odr.extensions import db

REFERRAL_STATUSES = ("pending", "accepted", "declined", "expired", "withdrawn", "closed")
OPEN_REFERRALS = ("pending", "accepted")


class Partner(db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    countries: Mapped[list[str]] = mapped_column(sa.JSON)
    languages: Mapped[list[str]] = mapped_column(sa.JSON)
    webhook_url: Mapped[str] = mapped_column(sa.String(500))
    # The agency's basis for receiving personal data from abroad, as recorded in the directory.
    legal_basis: Mapped[str] = mapped_column(sa.String(1000))
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class PartnerSecret(db.Model):
    """A webhook signing secret, encrypted at rest (it must be read back to sign). During a
    rotation the old one keeps signing beside the new until `retires_at`."""

    __tablename__ = "partner_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    encrypted: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    retires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Referral(db.Model):
    __tablename__ = "referrals"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(REFERRAL_STATUSES), name="status_known"),
        sa.Index("ix_referrals_partner_id_id", "partner_id", "id"),
        sa.Index("ix_referrals_partner_id_status", "partner_id", "status"),  # backlogs
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    partner_reference: Mapped[str | None] = mapped_column(sa.String(200))
    # What personal data went to which country, when, and on which legal basis.
    transfer: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The agency's final report: its outcome, and a digest of the whole report so that the same
    # report sent again is recognised (and answered) rather than refused.
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    outcome_digest: Mapped[str | None] = mapped_column(sa.String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
