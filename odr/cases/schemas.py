"""The lodging body of DESIGN.md, read into case columns; and cases written back as API shapes."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from odr.cases import performance
from odr.cases.models import CATEGORIES, REMEDIES, Case
from odr.money import to_api
from odr.validation import FieldReader

LODGING_FIELDS = {
    "claimant",
    "respondent",
    "order",
    "claim",
    "law",
    "language",
    "arbitration_consent",
    "transfer_consent",
}
PARTY_FIELDS = {"name", "email", "country", "language", "address"}
MAX_ITEMS = 50


def _party(reader: FieldReader, body: dict, key: str, *, website: bool) -> dict[str, Any]:
    allowed = PARTY_FIELDS | ({"website"} if website else set())
    party = reader.obj(body.get(key), key, allowed)
    values = {
        "name": reader.string(party, "name", f"{key}.name"),
        "email": reader.email(party, "email", f"{key}.email"),
        "country": reader.country(party, "country", f"{key}.country"),
        "language": reader.language(party, "language", f"{key}.language"),
        "address": reader.string(
            party, "address", f"{key}.address", max_length=500, required=False, multiline=True
        ),
    }
    if website:
        values["website"] = reader.string(
            party, "website", f"{key}.website", max_length=500, required=False
        )
        if values["website"] and not values["website"].startswith(("https://", "http://")):
            reader.fail(f"{key}.website", _l("Enter a web address starting with https://."))
    return values


def parse_lodging(body: Any, *, filer: Any) -> dict[str, Any]:
    """Validate a lodging body; return the case columns it sets, or raise `ValidationError`."""
    reader = FieldReader()
    body = reader.obj(body, "", LODGING_FIELDS) or {}
    columns: dict[str, Any] = {}

    if filer.role == "platform":
        claimant = _party(reader, body, "claimant", website=False)
    else:
        if "claimant" in body:
            reader.fail("claimant", _l("Only a platform files for someone else."))
        language = reader.language(body, "language", "language") or filer.language
        claimant = {
            "name": filer.name,
            "email": filer.email,
            "country": filer.country,
            "language": language,
            "address": None,
        }
    respondent = _party(reader, body, "respondent", website=True)
    for prefix, party in (("claimant", claimant), ("respondent", respondent)):
        for field, value in party.items():
            columns[f"{prefix}_{field}"] = value

    order = reader.obj(
        body.get("order"),
        "order",
        {"platform", "reference", "ordered_on", "delivered_on", "total", "items"},
    )
    columns["order_platform"] = reader.string(order, "platform", "order.platform")
    columns["order_reference"] = reader.string(
        order, "reference", "order.reference", max_length=100
    )
    ordered_on = reader.date(order, "ordered_on", "order.ordered_on")
    delivered_on = reader.date(order, "delivered_on", "order.delivered_on", required=False)
    if ordered_on and delivered_on and delivered_on < ordered_on:
        reader.fail("order.delivered_on", _l("Cannot be before the order date."))
    columns["ordered_on"], columns["delivered_on"] = ordered_on, delivered_on
    total = reader.money(order, "total", "order.total")
    if total:
        columns["order_total_minor"], columns["order_currency"] = total
    columns["order_items"] = _items(reader, order)

    claim = reader.obj(body.get("claim"), "claim", {"category", "description", "remedy", "amount"})
    columns["claim_category"] = reader.choice(claim, "category", "claim.category", CATEGORIES)
    columns["claim_description"] = reader.string(
        claim, "description", "claim.description", max_length=5000, multiline=True
    )
    columns["claim_remedy"] = reader.choice(claim, "remedy", "claim.remedy", REMEDIES)
    amount = reader.money(claim, "amount", "claim.amount")
    if amount:
        columns["claim_amount_minor"], columns["claim_currency"] = amount

    law = reader.obj(
        body.get("law"),
        "law",
        {"consumer_chose_merchant_law", "merchant_targets_consumer_country"},
        required=False,
    )
    columns["consumer_chose_merchant_law"] = reader.boolean(
        law, "consumer_chose_merchant_law", "law.consumer_chose_merchant_law"
    )
    columns["merchant_targets_consumer_country"] = reader.boolean(
        law, "merchant_targets_consumer_country", "law.merchant_targets_consumer_country", True
    )
    columns["claimant_arbitration_consent"] = reader.boolean(
        body, "arbitration_consent", "arbitration_consent"
    )
    columns["transfer_consent"] = reader.boolean(body, "transfer_consent", "transfer_consent")
    if claimant.get("email") and claimant.get("email") == respondent.get("email"):
        reader.fail("respondent.email", _l("The merchant's e-mail cannot be your own."))
    reader.raise_if_errors()
    return columns


def _items(reader: FieldReader, order: dict | None) -> list[dict[str, Any]]:
    raw = order.get("items", []) if order else []
    if not isinstance(raw, list):
        reader.fail("order.items", _l("Must be a list."))
        return []
    if len(raw) > MAX_ITEMS:
        reader.fail("order.items", _l("At most %(count)d items.", count=MAX_ITEMS))
        return []
    items = []
    for index, entry in enumerate(raw):
        path = f"order.items.{index}"
        item = reader.obj(entry, path, {"description", "quantity"})
        description = reader.string(item, "description", f"{path}.description", max_length=500)
        quantity = item.get("quantity", 1) if item else 1
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity < 10**6:
            reader.fail(f"{path}.quantity", _l("Must be a whole number from 1 to 999999."))
        elif description:
            items.append({"description": description, "quantity": quantity})
    return items


def party_to_api(case: Case, prefix: str) -> dict[str, Any]:
    party = {
        field: getattr(case, f"{prefix}_{field}")
        for field in ("name", "email", "country", "language", "address")
    }
    if prefix == "respondent":
        party["website"] = case.respondent_website
    return party


def offer_to_api(offer: Any) -> dict[str, Any]:
    return {
        "id": offer.public_id,
        "by": offer.by,
        "amount": to_api(offer.amount_minor, offer.currency),
        "remedy": offer.remedy,
        "terms": offer.terms,
        "performance_due": offer.performance_due.isoformat() if offer.performance_due else None,
        **performance.to_api(offer.performance_due, offer.performance_zone),
        "status": offer.status,
        "created_at": offer.created_at.isoformat(),
    }


def neutral_to_api(user: Any) -> dict[str, Any] | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def proposal_to_api(proposal: Any) -> dict[str, Any] | None:
    if proposal is None:
        return None
    return {
        "id": proposal.public_id,
        "amount": to_api(proposal.amount_minor, proposal.currency),
        "remedy": proposal.remedy,
        "terms": proposal.terms,
        "performance_due": proposal.performance_due.isoformat()
        if proposal.performance_due
        else None,
        **performance.to_api(proposal.performance_due, proposal.performance_zone),
        "status": proposal.status,
        "answers": {"claimant": proposal.claimant_answer, "respondent": proposal.respondent_answer},
        "created_at": proposal.created_at.isoformat(),
    }


def message_to_api(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "party": message.party,
        "author": message.author_role,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }


def referral_to_api(row: tuple[Any, Any] | None) -> dict[str, Any] | None:
    """What a party sees of the case's referral: the agency, where it stands, its outcome."""
    if row is None:
        return None
    referral, partner = row
    return {
        "id": referral.public_id,
        "status": referral.status,
        "partner": {"id": partner.public_id, "name": partner.name},
        "partner_reference": referral.partner_reference,
        "outcome": referral.outcome,
        "created_at": referral.created_at.isoformat(),
        "closed_at": referral.closed_at.isoformat() if referral.closed_at else None,
    }


def case_to_api(
    case: Case,
    *,
    offers: list[Any],
    actions: list[str],
    neutrals: dict[int, Any],
    proposal: Any = None,
    referral: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": case.public_id,
        "reference": case.reference,
        "state": case.state,
        "version": case.version,
        "deadline_at": case.deadline_at.isoformat() if case.deadline_at else None,
        "governing_law": case.governing_law,
        "governing_law_rule": case.governing_law_rule,
        "claimant": party_to_api(case, "claimant"),
        "respondent": party_to_api(case, "respondent"),
        "order": {
            "platform": case.order_platform,
            "reference": case.order_reference,
            "ordered_on": case.ordered_on.isoformat(),
            "delivered_on": case.delivered_on.isoformat() if case.delivered_on else None,
            "total": to_api(case.order_total_minor, case.order_currency),
            "items": case.order_items,
        },
        "claim": {
            "category": case.claim_category,
            "description": case.claim_description,
            "remedy": case.claim_remedy,
            "amount": to_api(case.claim_amount_minor, case.claim_currency),
        },
        "arbitration_consent": {
            "claimant": case.claimant_arbitration_consent,
            "respondent": case.respondent_arbitration_consent,
        },
        "transfer_consent": case.transfer_consent,
        "screening_flags": case.screening_flags,
        "mediator": neutral_to_api(neutrals.get(case.mediator_id)),
        "arbitrator": neutral_to_api(neutrals.get(case.arbitrator_id)),
        "offers": [offer_to_api(offer) for offer in offers],
        "proposal": proposal_to_api(proposal),
        # What was agreed (settled) or awarded: the date, its last second on time, the zone.
        "performance_due": case.performance_due.isoformat() if case.performance_due else None,
        **performance.to_api(case.performance_due, case.performance_zone),
        "actions": actions,
        "referral": referral_to_api(referral),
        "created_at": case.created_at.isoformat(),
    }


def event_to_api(event: Any) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor_role,
        "kind": event.kind,
        "data": event.data,
        "hash": event.hash,
    }
