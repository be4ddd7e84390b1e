"""The Case aggregate: parties, order, claim, consents, state, and its append-only event log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odr import clock
from odr.accounts.models import User
from odr.db import UTCDateTime, new_uuid
from odr.extensions import db

STATES = (
    "filed",
    "negotiation",
    "mediation",
    "arbitration",
    "settled",
    "awarded",
    "referred",
    "with_partner",
    "resolved",
    "unresolved",
    "non_compliant",
    "withdrawn",
    "rejected",
)
CATEGORIES = (
    "not_received",
    "not_as_described",
    "defective",
    "refund_not_paid",
    "unauthorized_charge",
    "counterfeit",
    "other",
)
REMEDIES = ("refund", "partial_refund", "replacement", "repair", "return_and_refund", "other")


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        sa.CheckConstraint(sa.column("state").in_(STATES), name="state_known"),
        sa.CheckConstraint(sa.column("claim_category").in_(CATEGORIES), name="category_known"),
        sa.CheckConstraint(sa.column("claim_remedy").in_(REMEDIES), name="remedy_known"),
        sa.CheckConstraint("order_total_minor > 0", name="order_total_positive"),
        sa.CheckConstraint("claim_amount_minor > 0", name="claim_amount_positive"),
        sa.Index("ix_cases_claimant_user_id_id", "claimant_user_id", "id"),
        sa.Index("ix_cases_respondent_email_id", "respondent_email", "id"),
        sa.Index("ix_cases_state_deadline_at", "state", "deadline_at"),
        sa.Index("ix_cases_deadline_at_id", "deadline_at", "id"),  # the sweep's walk
        # a neutral's workspace in deadline order, and their caseload counts
        sa.Index("ix_cases_mediator_workspace", "mediator_id", "state", "deadline_at", "id"),
        sa.Index("ix_cases_arbitrator_workspace", "arbitrator_id", "state", "deadline_at", "id"),
        sa.Index("ix_cases_order", "respondent_email", "order_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    workflow: Mapped[str] = mapped_column(sa.String(40))
    workflow_version: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(20))
    version: Mapped[int] = mapped_column(default=1)
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the current neutral was assigned: the mediation deadline runs from it.
    neutral_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The deadline whose 48-hour reminder was sent (`odr.delivery.reminders`): one per deadline.
    reminded_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    respondent_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    governing_law: Mapped[str] = mapped_column(sa.String(2))
    governing_law_rule: Mapped[str] = mapped_column(sa.String(60))
    consumer_chose_merchant_law: Mapped[bool] = mapped_column(default=False)
    merchant_targets_consumer_country: Mapped[bool] = mapped_column(default=True)
    screening_flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    claimant_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filed_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    claimant_name: Mapped[str] = mapped_column(sa.String(200))
    claimant_email: Mapped[str] = mapped_column(sa.String(254))
    claimant_country: Mapped[str] = mapped_column(sa.String(2))
    claimant_language: Mapped[str] = mapped_column(sa.String(20))
    claimant_address: Mapped[str | None] = mapped_column(sa.String(500))

    respondent_name: Mapped[str] = mapped_column(sa.String(200))
    respondent_email: Mapped[str] = mapped_column(sa.String(254))
    respondent_country: Mapped[str] = mapped_column(sa.String(2))
    respondent_language: Mapped[str] = mapped_column(sa.String(20))
    respondent_address: Mapped[str | None] = mapped_column(sa.String(500))
    respondent_website: Mapped[str | None] = mapped_column(sa.String(500))

    order_platform: Mapped[str] = mapped_column(sa.String(200))
    order_reference: Mapped[str] = mapped_column(sa.String(100))
    ordered_on: Mapped[date]
    delivered_on: Mapped[date | None]
    order_total_minor: Mapped[int] = mapped_column(sa.BigInteger)
    order_currency: Mapped[str] = mapped_column(sa.String(3))
    order_items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    claim_category: Mapped[str] = mapped_column(sa.String(30))
    claim_description: Mapped[str] = mapped_column(sa.Text)
    claim_remedy: Mapped[str] = mapped_column(sa.String(30))
    claim_amount_minor: Mapped[int] = mapped_column(sa.BigInteger)
    claim_currency: Mapped[str] = mapped_column(sa.String(3))

    claimant_arbitration_consent: Mapped[bool] = mapped_column(default=False)
    respondent_arbitration_consent: Mapped[bool] = mapped_column(default=False)
    transfer_consent: Mapped[bool] = mapped_column(default=False)
    transfer_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    performance_due: Mapped[date | None]
    # The zone whose end of `performance_due` is the deadline (odr.cases.performance).
    performance_zone: Mapped[str | None] = mapped_column(sa.String(64))
    performance_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breach_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    mediator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    arbitrator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    event_count: Mapped[int] = mapped_column(default=0)
    event_head: Mapped[str] = mapped_column(sa.String(64), default="0" * 64)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    mediator: Mapped[User | None] = relationship(foreign_keys=[mediator_id], lazy="raise")
    arbitrator: Mapped[User | None] = relationship(foreign_keys=[arbitrator_id], lazy="raise")


class Event(db.Model):
    """One entry of a case's append-only, hash-chained log. Data holds ids and amounts only."""

    __tablename__ = "events"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_events_case_id_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="RESTRICT"))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(40))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


CHANNELS = ("joint", "private", "notes")


class Message(db.Model):
    """A message on a case: the joint channel, a party's private channel with the mediator
    (`party` names which), or the mediator's own notes."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.CheckConstraint(sa.column("channel").in_(CHANNELS), name="channel_known"),
        sa.Index("ix_messages_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(10))
    party: Mapped[str | None] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RespondentLink(db.Model):
    """A merchant account that proved control of the respondent's address through the invitation."""

    __tablename__ = "respondent_links"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "merchant_id", name="uq_respondent_links_case_merchant"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


# The fields of an action whose free text is kept as a CaseNote; the event holds `<field>_id`.
NOTE_FIELDS = ("reason", "note", "summary")


class CaseNote(db.Model):
    """Free text given with an action (a reason, a note, a summary), kept out of the event chain."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ReferenceCounter(db.Model):
    """The last reference number handed out per year, on SQLite (incremented by upsert in the
    lodging's transaction); PostgreSQL numbers from a sequence a year (`odr.cases.numbering`)."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(default=0)


EVIDENCE_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "image/heic",
    "video/mp4",
    "video/quicktime",
)


class Evidence(db.Model):
    """A file a party added to the case. The bytes live in storage under their SHA-256; the
    type was decided from the content, the file name is only for display."""

    __tablename__ = "evidence"
    __table_args__ = (
        sa.CheckConstraint(sa.column("media_type").in_(EVIDENCE_TYPES), name="media_type_known"),
        sa.CheckConstraint("size > 0", name="size_positive"),
        sa.UniqueConstraint("case_id", "sha256", name="uq_evidence_case_id_sha256"),
        sa.Index("ix_evidence_case_id_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploader_role: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str] = mapped_column(sa.String(200))
    media_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    caption: Mapped[str | None] = mapped_column(sa.String(200))
    # A photo's thumbnail (WebP), stored by its SHA-256 beside the file; None for the rest.
    thumbnail_sha256: Mapped[str | None] = mapped_column(sa.String(64))
