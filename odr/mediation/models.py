"""The mediator's proposals of settlement terms, with each party's answer."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.cases.models import REMEDIES
from odr.db import UTCDateTime, new_uuid
from odr.extensions import db

PROPOSAL_STATUSES = ("open", "accepted", "declined", "superseded")
ANSWERS = ("accepted", "declined")


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(PROPOSAL_STATUSES), name="status_known"),
        sa.CheckConstraint(sa.column("remedy").in_(REMEDIES), name="remedy_known"),
        sa.CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        sa.Index("ix_proposals_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    mediator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    remedy: Mapped[str] = mapped_column(sa.String(30))
    terms: Mapped[str] = mapped_column(sa.Text)
    performance_due: Mapped[date | None]
    performance_zone: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    claimant_answer: Mapped[str | None] = mapped_column(sa.String(10))
    respondent_answer: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
