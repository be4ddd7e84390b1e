"""Offers and counter-offers. Each goes through `fire`, so the case row is held while it changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.cases.firing import fire
from odr.cases.guards import GuardContext
from odr.cases.hooks import effect, parameters
from odr.cases.models import REMEDIES, Case
from odr.cases.performance import check_not_over, respondent_zone, set_case_performance
from odr.delivery.notices import tell_parties
from odr.errors import NotFound
from odr.extensions import db
from odr.negotiation.models import Offer
from odr.validation import FieldReader
from odr.workflow import Transition

OFFER_FIELDS = {"amount", "remedy", "terms", "performance_due"}
MAX_PERFORMANCE_DAYS = 365


def parse_offer(body: Any) -> dict[str, Any]:
    reader = FieldReader()
    body = reader.obj(body, "", OFFER_FIELDS) or {}
    amount = reader.money(body, "amount", "amount", allow_zero=True)
    remedy = reader.choice(body, "remedy", "remedy", REMEDIES)
    terms = reader.string(body, "terms", "terms", max_length=5000, multiline=True)
    due = reader.date(body, "performance_due", "performance_due", required=False, past=False)
    if due and due > clock.today() + timedelta(days=MAX_PERFORMANCE_DAYS):
        reader.fail("performance_due", _l("At most a year ahead."))
    reader.raise_if_errors()
    return {"amount": amount, "remedy": remedy, "terms": terms, "performance_due": due}


@parameters("make_offer")
def _check_offer(params: dict[str, Any]) -> dict[str, Any]:
    return {"offer_body": parse_offer(params.get("body"))}


def make_offer(case: Case, actor: Any, body: Any, **kwargs: Any) -> Offer:
    fire(case, "make_offer", actor, body=body, **kwargs)
    return db.session.scalars(
        sa.select(Offer).where(Offer.case_id == case.id).order_by(Offer.id.desc()).limit(1)
    ).one()


def find_offer(case: Case, offer_public_id: str) -> Offer:
    offer = db.session.scalar(
        sa.select(Offer).where(Offer.case_id == case.id, Offer.public_id == offer_public_id)
    )
    if offer is None:
        raise NotFound()
    return offer


def accept_offer(case: Case, actor: Any, offer_public_id: str, **kwargs: Any) -> Case:
    offer = find_offer(case, offer_public_id)
    return fire(case, "accept_offer", actor, offer=offer, **kwargs)


def reject_offer(case: Case, actor: Any, offer_public_id: str, **kwargs: Any) -> Case:
    offer = find_offer(case, offer_public_id)
    return fire(case, "reject_offer", actor, offer=offer, **kwargs)


@effect("make_offer")
def _record_offer(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    body = ctx.params["offer_body"]
    now = clock.now()
    for earlier in ctx.offers:
        if earlier.by == ctx.role and earlier.status == "open":
            earlier.status, earlier.decided_at = "superseded", now
    amount_minor, currency = body["amount"]
    due = body["performance_due"]
    zone = respondent_zone(ctx.case) if due else None  # the date is fixed with its zone
    check_not_over(due, zone)
    offer = Offer(
        case_id=ctx.case.id,
        by=ctx.role,
        author_id=ctx.actor.id,
        amount_minor=amount_minor,
        currency=currency,
        remedy=body["remedy"],
        terms=body["terms"],
        performance_due=due,
        performance_zone=zone,
        created_at=now,
    )
    db.session.add(offer)
    db.session.flush()
    if ctx.role == "respondent" and ctx.case.respondent_answered_at is None:
        ctx.case.respondent_answered_at = now
    tell_parties(
        ctx.case, parties=(ctx.other_party,), kind="offer_made", actor=ctx.actor, offer=offer
    )
    return {"offer": offer.public_id, "amount": amount_minor, "currency": currency}


def _the_offer(ctx: GuardContext) -> Offer:
    wanted = ctx.params["offer"]
    return next(offer for offer in ctx.offers if offer.id == wanted.id)


@effect("accept_offer")
def _settle_on_offer(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    offer, now = _the_offer(ctx), clock.now()
    offer.status, offer.decided_at = "accepted", now
    for other in ctx.offers:
        if other.status == "open" and other.id != offer.id:
            other.status, other.decided_at = "superseded", now
    # An offer without a date gets the settlement's default: 14 days from its acceptance.
    set_case_performance(ctx.case, offer.performance_due, offer.performance_zone, "settled")
    return {"offer": offer.public_id, "amount": offer.amount_minor, "currency": offer.currency}


@effect("reject_offer")
def _record_rejection(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    offer = _the_offer(ctx)
    offer.status, offer.decided_at = "rejected", clock.now()
    return {"offer": offer.public_id}
