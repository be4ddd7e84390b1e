"""What a settlement agreement, an award and a case file state: the JSON twin attached to the
PDF, written once when the document is issued and never read back from the case again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from odr import clock
from odr.accounts.models import User
from odr.cases import performance
from odr.cases.models import Case, Event
from odr.cases.terms import award_of, settled_on
from odr.extensions import db


def _party(case: Case, party: str) -> dict[str, Any]:
    return {
        "name": getattr(case, f"{party}_name"),
        "email": getattr(case, f"{party}_email"),
        "country": getattr(case, f"{party}_country"),
        "address": getattr(case, f"{party}_address"),
        "language": getattr(case, f"{party}_language"),
        "zone": performance.party_zone(case, party),  # the version in its language is in it
    }


def _acceptances(case: Case, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """How each party agreed: the last event of theirs among `kinds`, with time and account."""
    rows = db.session.execute(
        sa.select(Event.actor_role, Event.kind, Event.at, User.name, User.email, User.timezone)
        .join(User, User.id == Event.actor_id)
        .where(Event.case_id == case.id, Event.kind.in_(kinds))
        .order_by(Event.seq)
    ).all()
    last = {row.actor_role: row for row in rows if row.actor_role in ("claimant", "respondent")}
    return [
        {
            "party": party,
            "action": last[party].kind,
            "at": last[party].at.isoformat(),
            "timezone": last[party].timezone or "UTC",
            "account": {"name": last[party].name, "email": last[party].email},
        }
        for party in ("claimant", "respondent")
        if party in last
    ]


def _common(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "dispute": case.public_id,
        "issued_at": clock.now().isoformat(),
        "provider": current_app.config["PROVIDER_NAME"],
        "governing_law": case.governing_law,
        "parties": {party: _party(case, party) for party in ("claimant", "respondent")},
        "claim": {
            "category": case.claim_category,
            "description": case.claim_description,
            "remedy": case.claim_remedy,
            "amount": _money(case.claim_amount_minor, case.claim_currency),
        },
        "order": {
            "platform": case.order_platform,
            "reference": case.order_reference,
        },
    }


def _money(amount_minor: int | None, currency: str | None) -> dict[str, Any] | None:
    if amount_minor is None or currency is None:
        return None
    return {"amount_minor": amount_minor, "currency": currency}


def settlement_content(case: Case) -> dict[str, Any]:
    agreed, mediator_id = settled_on(case)
    neutral = db.session.get(User, mediator_id) if mediator_id else None
    return _common(case) | {
        "kind": "settlement_agreement",
        "terms": {
            "amount": _money(agreed.amount_minor, agreed.currency),
            "remedy": agreed.remedy,
            "text": agreed.terms,
            "performance_due": case.performance_due.isoformat() if case.performance_due else None,
            **performance.to_api(case.performance_due, case.performance_zone),
        },
        "neutral": {"role": "mediator", "name": neutral.name} if neutral else None,
        "acceptances": _acceptances(case, ("make_offer", "accept_offer", "accept_proposal")),
    }


def award_content(case: Case) -> dict[str, Any]:
    award = award_of(case)
    arbitrator = db.session.get(User, award.arbitrator_id)
    return _common(case) | {
        "kind": "award",
        "terms": {
            "amount": _money(award.amount_minor, award.currency),
            "remedy": award.remedy,
            "text": award.reasons,
            "performance_due": award.performance_due.isoformat(),
            **performance.to_api(award.performance_due, award.performance_zone),
        },
        "neutral": {"role": "arbitrator", "name": arbitrator.name},
        "consents": {
            "claimant": bool(case.claimant_arbitration_consent),
            "respondent": bool(case.respondent_arbitration_consent),
        },
    }


def case_file_content(user: Any, case: Case) -> dict[str, Any]:
    """The whole record as this reader may see it: timeline, offers, their messages, evidence."""
    from odr.cases.casefile import event_notes
    from odr.cases.models import NOTE_FIELDS, Evidence, Message
    from odr.cases.reading import load_events, load_offers
    from odr.policy import case_role

    note_keys = [f"{name}_id" for name in NOTE_FIELDS]
    from odr.policy import visible_messages

    role = case_role(user, case)
    events = [e for e in load_events(case) if e.kind not in ("post_message", "write_note")]
    notes = event_notes(case.id, events)  # the messages are listed whole, below
    messages = db.session.scalars(
        sa.select(Message).where(visible_messages(user, role, case)).order_by(Message.id)
    )
    evidence = db.session.scalars(
        sa.select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)
    )
    return _common(case) | {
        "kind": "case_file",
        "reader": {"name": user.name, "role": role, "zone": user.timezone or "UTC"},
        "state": case.state,
        "timeline": [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "by": e.actor_role,
                "notes": [notes[e.data[key]] for key in note_keys if e.data.get(key) in notes],
                **({"progress": e.data.get("status")} if e.kind == "report_progress" else {}),
            }
            for e in events
        ],
        "offers": [
            {
                "by": o.by,
                "amount": _money(o.amount_minor, o.currency),
                "remedy": o.remedy,
                "terms": o.terms,
                "status": o.status,
                "at": o.created_at.isoformat(),
            }
            for o in load_offers(case)
        ],
        "messages": [
            {
                "at": m.created_at.isoformat(),
                "channel": m.channel,
                "by": m.author_role,
                "body": m.body,
            }
            for m in messages
        ],  # fmt: skip
        "evidence": [
            {
                "filename": e.filename,
                "caption": e.caption,
                "size": e.size,
                "sha256": e.sha256,
                "by": e.uploader_role,
                "at": e.created_at.isoformat(),
            }
            for e in evidence
        ],  # fmt: skip
    }
