"""Offers and counter-offers between the parties."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.cases.models import REMEDIES
from odr.db import UTCDateTime, new_uuid
from odr.extensions import db

OFFER_STATUSES = ("open", "accepted", "rejected", "superseded", "expired")


class Offer(db.Model):
    __tablename__ = "offers"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(OFFER_STATUSES), name="status_known"),
        sa.CheckConstraint(sa.column("by").in_(("claimant", "respondent")), name="by_party"),
        sa.CheckConstraint(sa.column("remedy").in_(REMEDIES), name="remedy_known"),
        sa.CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        sa.Index("ix_offers_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    by: Mapped[str] = mapped_column(sa.String(20))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    remedy: Mapped[str] = mapped_column(sa.String(30))
    terms: Mapped[str] = mapped_column(sa.Text)
    performance_due: Mapped[date | None]
    performance_zone: Mapped[str | None] = mapped_column(sa.String(64))  # with a date only
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
