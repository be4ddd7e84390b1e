"""The append-only event log of a case, chained by HMAC-SHA256 under the audit key (`odr.audit`).

Each event's hash covers the previous hash and the canonical JSON of the event; the case row keeps
the count and the head hash, so an altered, inserted or removed event breaks the chain, and without
the key it cannot be recomputed. Event data holds ids and amounts, never names or addresses, so
personal data can be pseudonymised later without touching the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.audit import GENESIS, chain_hash
from odr.cases.models import Case, Event
from odr.db import insert_rows
from odr.extensions import db
from odr.jsontext import json_copy


def event_hash(case: Case, event: Any) -> str:
    body = {
        "case": case.public_id,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "kind": event.kind,
        "data": event.data,
    }
    return chain_hash(event.prev_hash, body)


def append_event(
    case: Case, *, kind: str, actor: Any, role: str, data: dict[str, Any] | None = None
) -> None:
    """Append to the chain. The caller holds the case row for writing (`fire`, `lock_case`).
    A case not written yet (a lodging) is written with its first event's head in one INSERT."""
    event = SimpleNamespace(
        case_id=case.id,
        seq=case.event_count + 1,
        at=clock.now(),
        actor_id=actor.id if actor is not None else None,
        actor_role=role,
        kind=kind,
        data=json_copy(data or {}),
        prev_hash=case.event_head,
    )
    event.hash = event_hash(case, event)
    case.event_count = event.seq
    case.event_head = event.hash
    if event.case_id is None:
        db.session.flush()
        event.case_id = case.id
    insert_rows(db.session, Event, [vars(event)])


def first_broken_event(case: Case, events: Iterable[Event]) -> str | None:
    """A sentence naming the first broken link of the chain, or None when it holds."""
    previous, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq:
            return f"event {expected_seq} is missing"
        if event.prev_hash != previous:
            return f"event {event.seq} does not follow event {event.seq - 1}"
        if event_hash(case, event) != event.hash:
            return f"event {event.seq} was altered"
        previous, expected_seq = event.hash, expected_seq + 1
    if expected_seq - 1 != case.event_count or previous != case.event_head:
        return f"events after {expected_seq - 1} are missing (the case records {case.event_count})"
    return None


def verify_all_chains(batch: int = 500) -> list[tuple[str, str]]:
    """(reference, problem) for every case whose chain is broken."""
    broken: list[tuple[str, str]] = []
    last_id = 0
    while True:
        cases = db.session.scalars(
            sa.select(Case).where(Case.id > last_id).order_by(Case.id).limit(batch)
        ).all()
        if not cases:
            return broken
        by_case: dict[int, list[Event]] = {case.id: [] for case in cases}
        events = db.session.scalars(
            sa.select(Event).where(Event.case_id.in_(by_case)).order_by(Event.case_id, Event.seq)
        )
        for event in events:
            by_case[event.case_id].append(event)
        for case in cases:
            problem = first_broken_event(case, by_case[case.id])
            if problem:
                broken.append((case.reference, problem))
        last_id = cases[-1].id
        db.session.expunge_all()
