"""What a person who followed a dead e-mail link can do next.

A link that is altered, expired or used says so and offers the step that fits what it was for: a
new verification mail, the way into the dispute an invitation named, a new password link, the
address change asked for again. What the page may say of a link comes only from a signature of
ours (the payload of a token is readable by whoever holds it, so naming the dispute it carries
tells its holder nothing new) or from the account logged in: nothing tells whether an address
has an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from odr.accounts.links import LIFETIMES, LinkError, peek_link_token, purpose_of_path
from odr.extensions import db


@dataclass(frozen=True)
class LinkHelp:
    """The next step offered on a dead link's page."""

    purpose: str | None  # a key of LIFETIMES; None when neither the error nor the path tells
    reason: str  # "expired", "used" or "invalid"
    already_confirmed: bool = False  # the viewer's own verification link: nothing to do
    reference: str | None = None  # the dispute an invitation named
    platform: str | None = None  # where its order was placed
    dispute_id: str | None = None  # its public id, only when the viewer may already see it

    @property
    def lifetime(self) -> timedelta | None:
        """How long such a link works once sent."""
        return timedelta(seconds=LIFETIMES[self.purpose]) if self.purpose else None


def link_help(error: LinkError, path: str, token: str | None, user: Any) -> LinkHelp:
    purpose = error.purpose or purpose_of_path(path)
    payload = peek_link_token(purpose, token) if purpose and token else None
    if purpose == "verify_email":
        return _verification_help(error.reason, payload, user)
    if purpose == "invitation":
        return _invitation_help(error.reason, payload, user)
    return LinkHelp(purpose, error.reason)


def _logged_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _verification_help(reason: str, payload: dict[str, Any] | None, user: Any) -> LinkHelp:
    mine = (
        payload is not None
        and _logged_in(user)
        and user.email_verified
        and payload.get("user") == user.id
    )
    return LinkHelp("verify_email", reason, already_confirmed=mine)


def _invitation_help(reason: str, payload: dict[str, Any] | None, user: Any) -> LinkHelp:
    from odr.cases.models import Case
    from odr.policy import visible_cases

    if payload is None:
        return LinkHelp("invitation", reason)
    case = db.session.scalar(sa.select(Case).where(Case.public_id == payload.get("case")))
    if case is None:
        return LinkHelp("invitation", reason)
    seen = None
    if _logged_in(user):
        seen = db.session.scalar(
            visible_cases(user).with_only_columns(Case.public_id).where(Case.id == case.id)
        )
    return LinkHelp(
        "invitation",
        reason,
        reference=case.reference,
        platform=case.order_platform,
        dispute_id=seen,
    )
