"""Heads of the audit chains, exported to be kept off the database host and checked later.

A chain verifies as long as it is well-formed, and two rewrites leave it well-formed: one made with
the audit key (stolen later), and cutting the last events and moving the head back (which needs
no key). An exported head catches both: each case's event count and head hash (and the security
log's) at the time of export, and later the event at that place in today's chain must still have
that hash. The document is authenticated with an HMAC under the audit key, so it cannot be edited
to match a rewrite by someone without the key; kept on another host, it holds even against
someone with the key.

    {"format": "odr-audit-heads/1", "exported_at": "<ISO 8601, UTC>",
     "cases": [{"reference": "...", "events": 5, "head": "<hex>"}, ...],
     "security": {"events": 12, "head": "<hex>"},
     "mac": "<HMAC-SHA256 of the rest, hex>"}
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.accounts.audit import LOG_NAME, SecurityEvent, security_head
from odr.audit import same, sign
from odr.cases.models import Case, Event
from odr.extensions import db

FORMAT = "odr-audit-heads/1"


class HeadsFileError(ValueError):
    """The heads file cannot be used: unreadable, of another format, or not authentic."""


def export_heads(batch: int = 1000) -> dict[str, Any]:
    """Every case's (reference, event count, head) and the security log's, with a MAC."""
    cases = []
    rows = db.session.execute(
        sa.select(Case.reference, Case.event_count, Case.event_head)
        .order_by(Case.id)
        .execution_options(yield_per=batch)
    )
    for reference, count, head in rows:
        cases.append({"reference": reference, "events": count, "head": head})
    count, head = security_head()
    document = {
        "format": FORMAT,
        "exported_at": clock.now().isoformat(),
        "cases": cases,
        "security": {"events": count, "head": head},
    }
    return {**document, "mac": sign(document)}


def read_heads(text: str) -> dict[str, Any]:
    """The exported document, once its format and its MAC are checked."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise HeadsFileError(f"not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HeadsFileError(f"not a heads file of the format {FORMAT}")
    mac = document.pop("mac", None)
    if not isinstance(mac, str) or not same(mac, sign(document)):
        raise HeadsFileError("the file is not authentic (its MAC does not match the audit key)")
    return document


def check_heads(document: dict[str, Any], batch: int = 500) -> list[tuple[str, str]]:
    """(reference, problem) for every exported head that is no longer in today's chain."""
    when = document["exported_at"]
    problems: list[tuple[str, str]] = []
    entries = document["cases"]
    for start in range(0, len(entries), batch):
        group = entries[start : start + batch]
        ids = dict(
            db.session.execute(
                sa.select(Case.reference, Case.id).where(
                    Case.reference.in_([e["reference"] for e in group])
                )
            ).all()
        )
        places = [(ids[e["reference"]], e["events"]) for e in group if e["reference"] in ids]
        found = _hashes_at(places)
        for entry in group:
            reference, count = entry["reference"], entry["events"]
            if reference not in ids:
                problems.append((reference, f"the case is gone (it had {count} events at {when})"))
                continue
            problem = _compare(found.get((ids[reference], count)), count, entry["head"], when)
            if problem:
                problems.append((reference, problem))
    security = document["security"]
    if security["events"]:
        digest = db.session.scalar(
            sa.select(SecurityEvent.hash).where(SecurityEvent.id == security["events"])
        )
        problem = _compare(digest, security["events"], security["head"], when)
        if problem:
            problems.append((LOG_NAME, problem))
    return problems


def _hashes_at(places: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The hash of the event at each (case id, seq) that exists."""
    if not places:
        return {}
    rows = db.session.execute(
        sa.select(Event.case_id, Event.seq, Event.hash).where(
            sa.tuple_(Event.case_id, Event.seq).in_(places)
        )
    )
    return {(case_id, seq): digest for case_id, seq, digest in rows}


def _compare(digest: str | None, count: int, head: str, when: str) -> str | None:
    if count == 0:
        return None
    if digest is None:
        return f"event {count} is missing (exported at {when})"
    if digest != head:
        return (
            f"event {count} is not the one exported at {when}: the events up to it were rewritten"
        )
    return None
