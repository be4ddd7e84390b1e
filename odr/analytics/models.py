"""Each merchant's compliance record, kept as counters for statistics."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr.bulk import ADD_ON_CONFLICT
from odr.extensions import db

RECORD_COUNTERS = ("disputes", "settled", "awarded", "performed", "not_performed")


class MerchantRecord(db.Model):
    """Counted per respondent e-mail address, in the transaction of the change it counts."""

    __tablename__ = "merchant_records"
    __table_args__ = {"info": {ADD_ON_CONFLICT: ("respondent_email",)}}  # rows add to counts

    respondent_email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    disputes: Mapped[int] = mapped_column(default=0)
    settled: Mapped[int] = mapped_column(default=0)
    awarded: Mapped[int] = mapped_column(default=0)
    performed: Mapped[int] = mapped_column(default=0)
    not_performed: Mapped[int] = mapped_column(default=0)
