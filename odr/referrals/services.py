"""Sending a foreign-law dispute to the partner agency of the governing law's country.

The partner is the active agency covering that country, preferring one that speaks a party's
language, then the one with the shorter backlog of open referrals. Each referral records what
personal data went to which country, when, and on which basis: the claimant's consent, with its
time and the exact wording they agreed to, beside the agency's own basis from the directory.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case
from odr.extensions import db
from odr.i18n import normalise_language
from odr.referrals.models import Partner, Referral

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
OPEN_REFERRALS = ("pending", "accepted")


def choose_partner(country: str, languages: set[str | None]) -> Partner | None:
    """The active agency for the governing law's country: one speaking a party's language first,
    then the shorter backlog, then the older entry."""
    partners = [
        partner
        for partner in db.session.scalars(sa.select(Partner).where(Partner.active))
        if country in partner.countries
    ]
    if not partners:
        return None
    backlog = dict(
        db.session.execute(
            sa.select(Referral.partner_id, sa.func.count())
            .where(
                Referral.partner_id.in_([p.id for p in partners]),
                Referral.status.in_(OPEN_REFERRALS),
            )
            .group_by(Referral.partner_id)
        ).all()
    )
    spoken = {normalise_language(language) for language in languages} - {None}

    def rank(partner: Partner) -> tuple[int, int, int]:
        speaks = bool(spoken & {normalise_language(x) for x in partner.languages})
        return (0 if speaks else 1, backlog.get(partner.id, 0), partner.id)

    return min(partners, key=rank)


def partner_for(case: Case) -> Partner | None:
    return choose_partner(case.governing_law, {case.claimant_language, case.respondent_language})


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
    """A pending referral in the caller's transaction (which holds the case for writing)."""
    referral = Referral(
        case_id=case.id, partner_id=partner.id, transfer=transfer_record(case, partner)
    )
    db.session.add(referral)
    db.session.flush()
    return referral
