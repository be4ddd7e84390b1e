"""What referral actions do to the referral: a case manager's `refer`, the 5-day expiry."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.cases.firing import fire
from odr.cases.guards import GuardContext, guard
from odr.cases.hooks import after, effect, on_lodging, parameters
from odr.cases.law import OVERRIDE
from odr.cases.models import Case
from odr.errors import Conflict, NotFound, ValidationError
from odr.extensions import db
from odr.referrals.models import OPEN_REFERRALS, Partner, Referral
from odr.referrals.reports import report_outcome, same_outcome_reported
from odr.referrals.services import (
    choose_partner,
    find_referral,
    open_referral,
    open_referral_of,
    partner_for,
    referral_event,
)
from odr.referrals.webhooks import queue_webhook
from odr.workflow import Transition


def _named_partner(ctx: GuardContext, exclude: frozenset[int] = frozenset()) -> Partner | None:
    named = ctx.params.get("partner_id")
    if not named:
        return partner_for(ctx.case, exclude)
    partner = db.session.scalar(sa.select(Partner).where(Partner.public_id == named))
    if partner is None or not partner.active or ctx.case.governing_law not in partner.countries:
        return None
    return None if partner.id in exclude else partner


def _pending_referral(case_id: int) -> Referral | None:
    return db.session.scalar(
        sa.select(Referral)
        .where(Referral.case_id == case_id, Referral.status == "pending")
        .order_by(Referral.id.desc())
    )


@guard("partner_available")
def partner_available(ctx: GuardContext) -> bool:
    """The claimant agreed to a transfer, and an active agency covers the governing law."""
    return bool(ctx.case.transfer_consent) and _named_partner(ctx) is not None


@guard("other_partner_available")
def other_partner_available(ctx: GuardContext) -> bool:
    """Another active agency than the one holding the pending referral covers the law."""
    current = _pending_referral(ctx.case.id)
    exclude = frozenset({current.partner_id}) if current else frozenset()
    return bool(ctx.case.transfer_consent) and _named_partner(ctx, exclude) is not None


def _partner_id_param(params: dict[str, Any]) -> str | None:
    named = params.get("partner_id")
    if named is not None and not isinstance(named, str):
        raise ValidationError({"partner_id": _l("Choose a partner agency from the directory.")})
    return named or None


@parameters("refer")
def _check_refer(params: dict[str, Any]) -> dict[str, Any]:
    return {"partner_id": _partner_id_param(params)}


@parameters("reroute")
def _check_reroute(params: dict[str, Any]) -> dict[str, Any]:
    from odr.cases.actions import validate_reason

    return validate_reason({**params, "partner_id": _partner_id_param(params)}, required=True)


@effect("refer")
def _refer(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    partner = _named_partner(ctx)
    referral = open_referral(ctx.case, partner)
    return {"referral": referral.public_id, "partner": partner.public_id}


@effect("reroute")
def _reroute(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    """The pending referral is withdrawn from its agency and sent to another, whose 5 days to
    answer start now."""
    previous = _pending_referral(ctx.case.id)
    previous.status, previous.decided_at = "withdrawn", clock.now()
    old_partner = db.session.get(Partner, previous.partner_id)
    event = referral_event(previous, ctx.case)
    queue_webhook(old_partner, "referral.withdrawn", event, case_id=ctx.case.id)
    partner = _named_partner(ctx, frozenset({previous.partner_id}))
    referral = open_referral(ctx.case, partner)
    ctx.case.state_entered_at = clock.now()
    return {
        "referral": referral.public_id,
        "partner": partner.public_id,
        "previous": previous.public_id,
    }


@effect("expire_referral")
def _expire(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    referral = _pending_referral(ctx.case.id)
    if referral is None:
        return {}
    referral.status, referral.decided_at = "expired", clock.now()
    partner = db.session.get(Partner, referral.partner_id)
    event = referral_event(referral, ctx.case)
    queue_webhook(partner, "referral.expired", event, case_id=ctx.case.id)
    return {"referral": referral.public_id, "foreign_law_note": "referral_expired"}


@parameters("accept_referral")
def _check_accept(params: dict[str, Any]) -> dict[str, Any]:
    from odr.validation import FieldReader

    reader = FieldReader()
    reference = reader.string(params, "partner_reference", "partner_reference", max_length=200)
    reader.raise_if_errors()
    return {"partner_reference": reference}


@parameters("decline_referral")
def _check_decline(params: dict[str, Any]) -> dict[str, Any]:
    from odr.cases.actions import validate_reason

    return validate_reason(params, required=True)


@effect("accept_referral")
def _accept(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    referral = open_referral_of(ctx.case, ctx.actor.partner_id)
    referral.status, referral.decided_at = "accepted", clock.now()
    referral.partner_reference = ctx.params["partner_reference"]
    return {"referral": referral.public_id}


@effect("decline_referral")
def _decline(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    referral = open_referral_of(ctx.case, ctx.actor.partner_id)
    referral.status, referral.decided_at = "declined", clock.now()
    return {"referral": referral.public_id, "foreign_law_note": "referral_declined"}


@parameters("set_governing_law")
def _check_governing_law(params: dict[str, Any]) -> dict[str, Any]:
    from odr.validation import FieldReader

    reader = FieldReader()
    country = reader.country(params, "country", "country")
    reason = reader.string(params, "reason", "reason", max_length=2000, multiline=True)
    reader.raise_if_errors()
    return {"country": country, "reason": reason}


@effect("set_governing_law")
def _set_governing_law(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    """A case manager's decision on the law that governs, with the reason in the timeline."""
    previous = (ctx.case.governing_law, ctx.case.governing_law_rule)
    ctx.case.governing_law, ctx.case.governing_law_rule = ctx.params["country"], OVERRIDE
    return {"governing_law": ctx.params["country"], "previous": list(previous)}


def act_on_referral(
    user: Any,
    referral_id: str,
    action: str,
    body: dict[str, Any],
    upload: tuple[str | None, bytes] | None = None,
) -> Referral:
    """An agency's action on one of its referrals, from the API or the portal. A call that lost
    a race, or came after the referral was decided, is a Conflict, unless it repeats the outcome
    already recorded: then it is answered as the first was, with no second effect."""
    referral, case = find_referral(user, referral_id)
    seen = referral.status
    try:
        if action == "report_outcome":
            report_outcome(case, user, body, upload)
        else:
            fire(case, action, user, **body)
    except (NotFound, Conflict):
        db.session.expire_all()  # the winner's commit is newer than what this session holds
        current, _case = find_referral(user, referral_id)
        if action == "report_outcome" and same_outcome_reported(current, body, upload):
            return current
        if current.status != seen or current.status not in OPEN_REFERRALS:
            raise Conflict("state", referral=current.status) from None
        raise
    return referral


@after("withdraw")
def _withdraw_referral(ctx: GuardContext, data: dict[str, Any]) -> None:
    """The claimant withdrew while the dispute was with an agency: tell the agency."""
    referral = open_referral_of(ctx.case)
    if referral is None:
        return
    referral.status, referral.decided_at = "withdrawn", clock.now()
    partner = db.session.get(Partner, referral.partner_id)
    event = referral_event(referral, ctx.case)
    queue_webhook(partner, "referral.withdrawn", event, case_id=ctx.case.id)


@on_lodging
def _refer_abroad(case: Case) -> dict[str, Any]:
    """A dispute under foreign law goes to a partner agency of that country when the claimant
    agreed to the transfer and screening found nothing; otherwise it is handled here, and the
    timeline says why."""
    if case.governing_law == current_app.config["HOME_COUNTRY"]:
        return {}
    if not case.transfer_consent:
        return {"foreign_law_note": "no_transfer_consent"}
    languages = {case.claimant_language, case.respondent_language}
    partner = None if case.screening_flags else choose_partner(case.governing_law, languages)
    if partner is None:
        return {"foreign_law_note": "no_partner_handled_at_home"}
    case.state = "referred"
    referral = open_referral(case, partner)
    return {"foreign_law_note": "referred_to_partner", "referral": referral.public_id}
