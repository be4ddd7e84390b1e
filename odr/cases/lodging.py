"""Lodging a dispute: validated, screened, numbered and recorded as one transaction.

Where it goes first (negotiation, screening, a partner agency abroad) is decided by the listeners
`on_lodging` (routing by the governing law); who is told, and what is counted, by `on_lodged`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from odr import clock
from odr.accounts.models import User
from odr.audit import GENESIS
from odr.cases.events import append_event
from odr.cases.firing import next_deadline
from odr.cases.hooks import ON_LODGED, ON_LODGING
from odr.cases.law import LawFacts, governing_law
from odr.cases.models import Case
from odr.cases.numbering import number_and_check
from odr.cases.reading import remember_new_case_accounts
from odr.cases.schemas import parse_lodging
from odr.db import inserts_together, new_uuid, write_transaction
from odr.errors import Forbidden
from odr.extensions import db
from odr.policy import require_confirmed_email
from odr.queue import schedule_delivery
from odr.workflow import get_workflow


def _screening_flags(columns: dict[str, Any], duplicate: bool) -> list[str]:
    flags = ["possible_duplicate"] if duplicate else []
    ceilings = current_app.config["CLAIM_CEILINGS"]
    ceiling = ceilings.get(columns["claim_currency"])
    if ceiling is not None and columns["claim_amount_minor"] > ceiling:
        flags.append("claim_above_ceiling")
    if (
        columns["claim_currency"] == columns["order_currency"]
        and columns["claim_amount_minor"] > columns["order_total_minor"]
    ):
        flags.append("claim_above_order_total")
    return flags


def lodge_dispute(*, filer: User, body: Any) -> Case:
    """Validate, screen and record a new dispute; its listeners route it and tell the parties."""
    if filer.role not in ("consumer", "platform"):
        raise Forbidden("only consumers and platforms lodge disputes")
    require_confirmed_email(filer)
    columns = parse_lodging(body, filer=filer)
    workflow = get_workflow("dispute")
    now = clock.now()
    law, rule = governing_law(
        LawFacts(
            consumer_country=columns["claimant_country"],
            merchant_country=columns["respondent_country"],
            consumer_chose_merchant_law=columns["consumer_chose_merchant_law"],
            merchant_targets_consumer_country=columns["merchant_targets_consumer_country"],
        )
    )
    # The filer is only named from here on, so it is not read again (`reread`); the case is
    # written once, with its first event (`append_event`), unless a listener needs its id sooner.
    with (
        write_transaction(db.session, keep_loaded=True, reread=False),
        inserts_together(db.session),
    ):
        columns |= {
            "claimant_user_id": filer.id if filer.role == "consumer" else None,
            "filed_by_user_id": filer.id,
        }
        numbered = number_and_check(now.year, columns)
        flags = _screening_flags(columns, numbered.duplicate)
        case = Case(
            **columns,
            public_id=new_uuid(),
            event_count=0,
            event_head=GENESIS,
            reference=numbered.reference,
            workflow=workflow.name,
            workflow_version=workflow.version,
            state="filed" if flags else "negotiation",
            state_entered_at=now,
            governing_law=law,
            governing_law_rule=rule,
            screening_flags=flags,
            transfer_consent_at=now if columns["transfer_consent"] else None,
            created_at=now,
        )
        db.session.add(case)
        routed: dict[str, Any] = {"foreign_law_note": None, "referral": None}
        for hook in ON_LODGING:
            routed |= hook(case)
        case.deadline_at = next_deadline(case, workflow.states[case.state])
        data = {
            "state": case.state,
            "governing_law": law,
            "governing_law_rule": rule,
            "screening_flags": flags,
            **routed,
            "claim_amount": case.claim_amount_minor,
            "currency": case.claim_currency,
        }
        append_event(case, kind="lodged", actor=filer, role="claimant", data=data)
        if numbered.accounts is not None:
            remember_new_case_accounts(case, numbered.accounts)
        for listener in ON_LODGED:
            listener(case, data)
    schedule_delivery()
    return case
