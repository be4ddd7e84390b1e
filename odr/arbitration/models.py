"""Each party's statement in arbitration, and the arbitrator's award."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.cases.models import REMEDIES
from odr.db import UTCDateTime, new_uuid
from odr.extensions import db


class Statement(db.Model):
    __tablename__ = "statements"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "party", name="uq_statements_case_party"),
        sa.CheckConstraint(sa.column("party").in_(("claimant", "respondent")), name="party_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    party: Mapped[str] = mapped_column(sa.String(20))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Award(db.Model):
    __tablename__ = "awards"
    __table_args__ = (
        sa.CheckConstraint(sa.column("remedy").in_(REMEDIES), name="remedy_known"),
        sa.CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    arbitrator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    remedy: Mapped[str] = mapped_column(sa.String(30))
    reasons: Mapped[str] = mapped_column(sa.Text)
    performance_due: Mapped[date]
    performance_zone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
