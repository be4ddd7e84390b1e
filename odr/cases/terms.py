"""What a settled or awarded case is to be performed on: the agreement it was settled on, or the
award. Read by the confirmation step, the documents and the pages alike."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from odr.arbitration.models import Award
from odr.cases.models import Case
from odr.extensions import db
from odr.mediation.models import Proposal
from odr.negotiation.models import Offer


def settled_on(case: Case) -> tuple[Any, int | None]:
    """The accepted offer or the mediator's accepted proposal, whichever came later, and the
    mediator who proposed it (None for an offer)."""
    offer = db.session.scalar(
        sa.select(Offer)
        .where(Offer.case_id == case.id, Offer.status == "accepted")
        .order_by(Offer.id.desc())
    )
    proposal = db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.case_id == case.id, Proposal.status == "accepted")
        .order_by(Proposal.id.desc())
    )
    if proposal is not None and (offer is None or proposal.created_at > offer.created_at):
        return proposal, proposal.mediator_id
    return offer, None


def award_of(case: Case) -> Award | None:
    return db.session.scalar(sa.select(Award).where(Award.case_id == case.id))
