"""Sending a foreign-law dispute to the partner agency of the governing law's country.

The partner is the active agency covering that country, preferring one that speaks a party's
language, then the one with the shorter backlog of open referrals. Each referral records what
personal data went to which country, when, and on which basis: the claimant's consent, with its
time and the exact wording they agreed to, beside the agency's own basis from the directory.
"""

from __future__ import annotations

from typing import IO, Any

import sqlalchemy as sa
from flask import current_app

from odr import clock
from odr.cases.models import Case
from odr.extensions import db
from odr.i18n import normalise_language
from odr.referrals.models import OPEN_REFERRALS, Partner, Referral

# The wording of the question the claimant answered when lodging (templates/cases/lodge.html and
# the API's `transfer_consent`); kept with each transfer as the basis it relied on.
TRANSFER_CONSENT_WORDING = (
    "If foreign law governs, my dispute and my personal data may go to a partner ODR agency in "
    "that country."
)
TRANSFERRED_DATA = (
    "claimant: name, e-mail address, country, language, postal address if given",
    "respondent: name, e-mail address, country, website",
    "order and claim as lodged",
    "offers so far",
    "evidence files (with their SHA-256)",
)


def choose_partner(
    country: str, languages: set[str | None], exclude: frozenset[int] = frozenset()
) -> Partner | None:
    """The active agency for the governing law's country: one speaking a party's language first,
    then the shorter backlog, then the older entry (never one in `exclude`)."""
    partners = [
        partner
        for partner in db.session.scalars(sa.select(Partner).where(Partner.active))
        if country in partner.countries and partner.id not in exclude
    ]
    if not partners:
        return None
    backlog = backlogs([p.id for p in partners])
    spoken = {normalise_language(language) for language in languages} - {None}

    def rank(partner: Partner) -> tuple[int, int, int]:
        speaks = bool(spoken & {normalise_language(x) for x in partner.languages})
        return (0 if speaks else 1, backlog.get(partner.id, 0), partner.id)

    return min(partners, key=rank)


def backlogs(partner_ids: list[int] | None = None) -> dict[int, int]:
    """The open (pending or accepted) referrals of each agency (of these, or of all)."""
    query = sa.select(Referral.partner_id, sa.func.count()).where(
        Referral.status.in_(OPEN_REFERRALS)
    )
    if partner_ids is not None:
        query = query.where(Referral.partner_id.in_(partner_ids))
    return dict(db.session.execute(query.group_by(Referral.partner_id)).all())


def partner_for(case: Case, exclude: frozenset[int] = frozenset()) -> Partner | None:
    languages = {case.claimant_language, case.respondent_language}
    return choose_partner(case.governing_law, languages, exclude)


def transfer_record(case: Case, partner: Partner) -> dict[str, Any]:
    return {
        "country": case.governing_law,
        "partner": partner.name,
        "at": clock.now().isoformat(),
        "data": list(TRANSFERRED_DATA),
        "basis": {
            "kind": "consent",
            "given_at": case.transfer_consent_at.isoformat() if case.transfer_consent_at else None,
            "wording": TRANSFER_CONSENT_WORDING,
        },
        "partner_basis": partner.legal_basis,
    }


def open_referral(case: Case, partner: Partner) -> Referral:
    """A pending referral in the caller's transaction (which holds the case for writing, or is
    lodging it: a case not written yet is written first, since the referral names it by id)."""
    from odr.referrals.webhooks import queue_webhook

    if case.id is None:
        db.session.flush()
    referral = Referral(
        case_id=case.id, partner_id=partner.id, transfer=transfer_record(case, partner)
    )
    db.session.add(referral)
    db.session.flush()
    queue_webhook(partner, "referral.created", referral_event(referral, case), case_id=case.id)
    return referral


def open_referral_of(case: Case, partner_id: int | None = None) -> Referral | None:
    """The case's open (pending or accepted) referral, held for writing; with `partner_id`, only
    if that agency holds it. The caller is in the write transaction that holds the case."""
    query = sa.select(Referral).where(
        Referral.case_id == case.id, Referral.status.in_(OPEN_REFERRALS)
    )
    if partner_id is not None:
        query = query.where(Referral.partner_id == partner_id)
    return db.session.scalar(query.with_for_update())


def referral_event(referral: Referral, case: Case) -> dict[str, Any]:
    """What a webhook says of a referral: enough to fetch the package with the API."""
    return {
        "referral": referral.public_id,
        "reference": case.reference,
        "status": referral.status,
        "url": referral_url(referral.public_id),
    }


def referral_url(referral_id: str, *rest: str) -> str:
    """The absolute API address of a referral (or of something under it), for webhooks."""
    return "/".join((current_app.config["BASE_URL"], "api/v1/referrals", referral_id, *rest))


def _require_partner(user: Any) -> None:
    from odr.errors import Forbidden

    if user.role != "partner" or user.partner_id is None:
        raise Forbidden("only partner agencies read referrals")


def partner_referrals(
    user: Any,
    *,
    limit: int = 50,
    after_id: int | None = None,
    statuses: tuple[str, ...] | None = None,
) -> list[tuple[Referral, Case]]:
    """The referrals sent to the user's agency (of these statuses), oldest first, a keyset page
    at a time."""
    _require_partner(user)
    query = (
        sa.select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.partner_id == user.partner_id)
    )
    if statuses is not None:
        query = query.where(Referral.status.in_(statuses))
    if after_id is not None:
        query = query.where(Referral.id > after_id)
    return [tuple(row) for row in db.session.execute(query.order_by(Referral.id).limit(limit))]


def find_referral(user: Any, public_id: str) -> tuple[Referral, Case]:
    """One of the agency's referrals; another agency's is unknown (404), never forbidden."""
    from odr.errors import NotFound

    _require_partner(user)
    row = db.session.execute(
        sa.select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.public_id == public_id, Referral.partner_id == user.partner_id)
    ).first()
    if row is None:
        raise NotFound()
    return tuple(row)


def referral_evidence(user: Any, referral_id: str, evidence_id: str) -> tuple[Any, IO[bytes]]:
    """An evidence file of one of the agency's referrals, and a checked copy of its bytes."""
    from odr.evidence.services import read_evidence

    _referral, case = find_referral(user, referral_id)
    return read_evidence(user, case.public_id, evidence_id)


def package_parts(case_ids: list[int]) -> dict[int, tuple[list[Any], list[Any]]]:
    """The offers and the evidence of these cases, in two queries whatever their number."""
    from odr.cases.models import Evidence
    from odr.negotiation.models import Offer

    parts: dict[int, tuple[list[Any], list[Any]]] = {case_id: ([], []) for case_id in case_ids}
    if not case_ids:
        return parts
    for index, model in enumerate((Offer, Evidence)):
        rows = db.session.scalars(
            sa.select(model).where(model.case_id.in_(case_ids)).order_by(model.id)
        )
        for row in rows:
            parts[row.case_id][index].append(row)
    return parts


def referral_to_api(
    referral: Referral,
    case: Case,
    evidence_url: Any,
    parts: dict[int, tuple[list[Any], list[Any]]] | None = None,
) -> dict[str, Any]:
    """The referral and its package: what the agency needs to take the dispute on. Once the
    referral is no longer open (declined, expired, withdrawn, closed) the agency keeps its record
    of it (status, references, the transfer record) but no longer reads the parties' data or how
    the dispute goes on at home. A page of referrals passes the `package_parts` of its cases."""
    from odr.money import to_api

    def money(amount_minor: int | None, currency: str | None) -> dict[str, str] | None:
        return to_api(amount_minor, currency) if amount_minor is not None and currency else None

    deadline = (
        case.deadline_at if referral.status == "pending" and case.state == "referred" else None
    )
    record = {
        "id": referral.public_id,
        "status": referral.status,
        "partner_reference": referral.partner_reference,
        "outcome": referral.outcome,
        "created_at": referral.created_at.isoformat(),
        "closed_at": referral.closed_at.isoformat() if referral.closed_at else None,
        "accept_by": deadline.isoformat() if deadline else None,
        "transfer": referral.transfer,
    }
    if referral.status not in OPEN_REFERRALS:
        return record | {"dispute": {"reference": case.reference}}
    offers, evidence = (parts if parts is not None else package_parts([case.id]))[case.id]
    return record | {
        "dispute": {
            "reference": case.reference,
            "state": case.state,
            "governing_law": case.governing_law,
            "governing_law_rule": case.governing_law_rule,
            "claimant": {
                "name": case.claimant_name,
                "email": case.claimant_email,
                "country": case.claimant_country,
                "language": case.claimant_language,
                "address": case.claimant_address,
            },
            "respondent": {
                "name": case.respondent_name,
                "email": case.respondent_email,
                "country": case.respondent_country,
                "website": case.respondent_website,
            },
            "order": {
                "platform": case.order_platform,
                "reference": case.order_reference,
                "ordered_on": case.ordered_on.isoformat() if case.ordered_on else None,
                "total": money(case.order_total_minor, case.order_currency),
            },
            "claim": {
                "category": case.claim_category,
                "description": case.claim_description,
                "remedy": case.claim_remedy,
                "amount": money(case.claim_amount_minor, case.claim_currency),
            },
            "offers": [
                {"by": o.by, "amount": money(o.amount_minor, o.currency), "status": o.status}
                for o in offers
            ],
            "evidence": [
                {
                    "id": e.public_id,
                    "filename": e.filename,
                    "size": e.size,
                    "sha256": e.sha256,
                    "media_type": e.media_type,
                    "url": evidence_url(referral, e),
                }
                for e in evidence
            ],
        },
    }
