"""The case file on the dispute page: the latest page of the timeline and of each message channel,
with keyset cursors back to earlier pages, read in a fixed number of queries whatever the size of
the case.

A message is shown once, in its channel; the events that record messages stay out of the
timeline (the event log keeps them, and the API serves them). Each list pages on its own key: the
timeline on the event's `seq`, a channel on the message id; a page holds the entries strictly
before the cursor, so entries added meanwhile never shift or repeat one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from odr.accounts.models import User
from odr.cases.models import CHANNELS, NOTE_FIELDS, CaseNote, Event, Evidence, Message
from odr.cases.reading import CaseView, view_case
from odr.extensions import db
from odr.policy import visible_messages

PAGE_SIZE = 50
MESSAGE_KINDS = ("post_message", "write_note")  # their messages are shown in the channels
LISTS = ("timeline", *CHANNELS)


@dataclass
class CaseFile:
    """One page of the case file: the view of the case, the timeline newest first, each channel
    oldest first, and per list the cursor it was read from and the cursor of its earlier page
    (None: the latest page; no earlier page)."""

    view: CaseView
    timeline: list[Event]
    channels: dict[str, list[Message]]
    before: dict[str, int] = field(default_factory=dict)
    earlier: dict[str, int | None] = field(default_factory=dict)

    def has_messages(self) -> bool:
        """Whether the page shows a channel: one with messages, or one paged back past them."""
        return any(self.channels.values()) or any(name in self.before for name in CHANNELS)

    def earlier_args(self, name: str) -> dict[str, int]:
        """The query arguments of the page where list `name` shows its earlier entries and the
        other lists stay where they are."""
        return cursor_args({**self.before, name: self.earlier[name]})

    def latest_args(self, name: str) -> dict[str, int]:
        """The query arguments of the page where list `name` is back at its latest entries."""
        return cursor_args({k: v for k, v in self.before.items() if k != name})


def cursor_args(before: Mapping[str, int | None]) -> dict[str, int]:
    return {f"{name}_before": value for name, value in before.items() if value is not None}


def cursors_from(args: Mapping[str, str]) -> dict[str, int]:
    """The cursors named in query arguments (`timeline_before=<seq>`, `joint_before=<id>`...);
    anything else, or a value that is not a positive whole number, means the latest page."""
    before = {}
    for name in LISTS:
        value = args.get(f"{name}_before", "")
        if value.isdigit() and 0 < int(value) < 2**63:
            before[name] = int(value)
    return before


def read_case_file(
    user: Any, public_id: str, before: Mapping[str, int] | None = None, *, size: int = PAGE_SIZE
) -> CaseFile:
    """The case as the reader may see it, with one page of each list, before the given cursors."""
    before = dict(before or {})
    view = view_case(user, public_id)
    events, earlier = _timeline(view.case.id, before.get("timeline"), size, view.users)
    channels, earlier_messages = _channels(user, view, before, size)
    view.events = events
    view.notes = event_notes(view.case.id, events)
    view.messages = [message for shown in channels.values() for message in shown]
    _add_the_rest(view)
    view.documents = _documents(user, view.case.id)
    return CaseFile(view, events, channels, before, {"timeline": earlier, **earlier_messages})


def _add_the_rest(view: CaseView) -> None:
    """What the page shows whole: statements, the award, evidence (with the uploaders)."""
    from odr.arbitration.models import Award, Statement

    case_id = view.case.id
    view.statements = list(
        db.session.scalars(
            sa.select(Statement).where(Statement.case_id == case_id).order_by(Statement.id)
        )
    )
    view.award = db.session.scalar(sa.select(Award).where(Award.case_id == case_id))
    view.evidence = []
    for item, uploader in db.session.execute(
        sa.select(Evidence, User)
        .join(User, User.id == Evidence.uploader_id)
        .where(Evidence.case_id == case_id)
        .order_by(Evidence.id)
    ):
        view.evidence.append(item)
        view.users[uploader.id] = uploader


def _documents(user: Any, case_id: int) -> list[Any]:
    """The case's documents this reader may open, with the code of any that replaces one."""
    from odr.documents.models import Document

    newer = aliased(Document)
    rows = db.session.execute(
        sa.select(Document, newer.verification_code)
        .outerjoin(newer, newer.id == Document.superseded_by_id)
        .where(
            Document.case_id == case_id,
            sa.or_(Document.reader_id.is_(None), Document.reader_id == user.id),
        )
        .order_by(Document.id)
    )
    documents = []
    for document, replaced_by in rows:
        document.replaced_by = replaced_by
        documents.append(document)
    return documents


def _timeline(
    case_id: int, before: int | None, size: int, users: dict[int, User]
) -> tuple[list[Event], int | None]:
    """Up to `size` events before the seq `before`, newest first, with their actors added to
    `users`; and the cursor of the earlier page."""
    query = (
        sa.select(Event, User)
        .outerjoin(User, User.id == Event.actor_id)
        .where(Event.case_id == case_id, Event.kind.not_in(MESSAGE_KINDS))
        .order_by(Event.seq.desc())
        .limit(size + 1)
    )
    if before is not None:
        query = query.where(Event.seq < before)
    events = []
    for event, actor in db.session.execute(query):
        events.append(event)
        if actor is not None:
            users[actor.id] = actor
    shown = events[:size]
    return shown, shown[-1].seq if len(events) > size else None


def _channels(
    user: Any, view: CaseView, before: Mapping[str, int], size: int
) -> tuple[dict[str, list[Message]], dict[str, int | None]]:
    """The latest page of each channel the reader may read (one query for all), oldest first
    within each, with the authors added to the view's users; and each channel's earlier cursor."""
    seen = visible_messages(user, view.role, view.case)
    pages = []
    for channel in CHANNELS:
        query = sa.select(Message.id).where(seen, Message.channel == channel)
        if channel in before:
            query = query.where(Message.id < before[channel])
        page = query.order_by(Message.id.desc()).limit(size + 1).subquery()
        pages.append(sa.select(page.c.id))
    rows = db.session.execute(
        sa.select(Message, User)
        .join(User, User.id == Message.author_id)
        .where(Message.id.in_(sa.union_all(*pages)))
        .order_by(Message.id.desc())
    )
    found: dict[str, list[Message]] = {channel: [] for channel in CHANNELS}
    for message, author in rows:
        found[message.channel].append(message)
        view.users[author.id] = author
    channels, earlier = {}, {}
    for channel, newest_first in found.items():
        shown = newest_first[:size]
        earlier[channel] = shown[-1].id if len(newest_first) > size else None
        channels[channel] = shown[::-1]
    return channels, earlier


def event_notes(case_id: int, events: list[Event]) -> dict[int, str]:
    """The notes (reasons, notes given with an action) the events of the page refer to, by id."""
    ids = [
        event.data[key]
        for event in events
        for key in (f"{name}_id" for name in NOTE_FIELDS)
        if isinstance(event.data.get(key), int)
    ]
    rows = db.session.execute(
        sa.select(CaseNote.id, CaseNote.body).where(
            CaseNote.case_id == case_id, CaseNote.id.in_(ids)
        )
    )
    return {note_id: body for note_id, body in rows}
