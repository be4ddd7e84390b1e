"""Invitations: the merchant named in a new dispute gets a link, and joins the dispute with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from odr import clock
from odr.accounts.links import LinkError, link_url, make_link_token, read_link_token, spend_link
from odr.accounts.models import User
from odr.accounts.sessions import end_other_sessions
from odr.accounts.tokens import revoke_every_token
from odr.cases.events import append_event
from odr.cases.firing import lock_case
from odr.cases.hooks import on_lodged
from odr.cases.models import Case, RespondentLink
from odr.db import write_transaction
from odr.delivery.notices import tell_parties
from odr.errors import Forbidden
from odr.extensions import db
from odr.policy import partner_name, require_confirmed_email
from odr.queue import schedule_delivery


def invitation_link(case: Any) -> str:
    token = make_link_token("invitation", case=case.public_id, email=case.respondent_email)
    return link_url("/invitations", token)


def read_invitation(token: str) -> dict[str, Any]:
    return read_link_token("invitation", token)


@dataclass(frozen=True)
class Invitation:
    """What an invitation link would do, shown before anyone confirms it."""

    email: str  # the address the link was sent to
    reference: str
    claimant_name: str
    order_reference: str
    order_platform: str


def invitation_for(token: str) -> Invitation:
    """The dispute an invitation link names; reading it changes nothing."""
    payload = read_invitation(token)
    case = db.session.scalar(sa.select(Case).where(Case.public_id == payload["case"]))
    if case is None:
        raise LinkError("invalid")
    return Invitation(
        email=payload["email"],
        reference=case.reference,
        claimant_name=case.claimant_name,
        order_reference=case.order_reference,
        order_platform=case.order_platform,
    )


def accept_invitation(user: User, token: str) -> Any:
    """Join the dispute named by the invitation to the merchant's account, once the merchant
    has seen what it is and confirmed.

    Following the link proves control of the address it was sent to: an account with that same
    address becomes verified, and whatever was opened on it before (other sessions, API tokens)
    ends, as after a password reset. Any other merchant account must have a confirmed address
    of its own, and is linked to the dispute.
    """
    if user.role != "merchant":
        raise Forbidden()
    payload = read_invitation(token)
    proves_address = user.email == payload["email"] and not user.email_verified
    if not proves_address:
        require_confirmed_email(user)
    with write_transaction(db.session):
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == payload["case"]))
        if case_id is None:
            raise LinkError("invalid")
        case = lock_case(case_id)
        spend_link("invitation", payload)
        account = db.session.get(User, user.id)
        if proves_address and account.email_verified_at is None:
            account.email_verified_at = clock.now()
            end_other_sessions(account.id, keep=user.session_key)
            revoke_every_token(account.id)
        principal = account.merchant_id or account.id
        linked = db.session.scalar(
            sa.select(RespondentLink.id).where(
                RespondentLink.case_id == case.id, RespondentLink.merchant_id == principal
            )
        )
        if linked is None:
            first = db.session.scalar(
                sa.select(RespondentLink.id).where(RespondentLink.case_id == case.id).limit(1)
            )
            if first is None:  # the claimant hears once that the merchant is on the dispute
                tell_parties(case, parties=("claimant",), kind="respondent_joined", actor=account)
            db.session.add(RespondentLink(case_id=case.id, merchant_id=principal))
        append_event(case, kind="respondent_joined", actor=account, role="respondent", data={})
    schedule_delivery()
    return case


@on_lodged
def _invite_the_merchant(case: Case, lodged: dict[str, Any]) -> None:
    """The merchant hears of the new dispute, with the link to join it."""
    tell_parties(
        case,
        parties=("respondent",),
        kind="dispute_lodged",
        actor=db.session.get(User, case.filed_by_user_id),
        invitation=invitation_link(case),
        partner=partner_name(case, lodged),
    )
