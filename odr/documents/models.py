"""Issued documents: settlement agreements, awards, case files, partners' outcomes.

A document is issued in the transaction of the change that calls for it (`pending`), with the
terms it states frozen in `content`; a worker renders it later (`ready`: the file is stored by its
SHA-256). Once ready it never changes: a correction is a new document, and the old one names it in
`superseded_by_id`. Both stay verifiable by their code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odr import clock
from odr.db import UTCDateTime, new_uuid
from odr.extensions import db

DOCUMENT_KINDS = ("settlement_agreement", "award", "case_file", "partner_outcome")
DOCUMENT_STATUSES = ("pending", "ready")


class Document(db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(DOCUMENT_KINDS), name="kind_known"),
        sa.CheckConstraint(sa.column("status").in_(DOCUMENT_STATUSES), name="status_known"),
        sa.Index("ix_documents_case_id_id", "case_id", "id"),
        sa.Index("ix_documents_pending", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    languages: Mapped[list[str]] = mapped_column(sa.JSON)
    # Who may read it: None for everyone on the case; a case file shows what one reader may see.
    reader_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verification_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # what it states; the JSON twin
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
