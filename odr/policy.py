"""Who may see a case and who may do what to it: role × action × state, decided here only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from odr.accounts.models import User
from odr.cases.guards import GUARDS, GuardContext
from odr.cases.models import Case, RespondentLink
from odr.errors import EmailNotConfirmed
from odr.extensions import db
from odr.referrals.models import OPEN_REFERRALS, Partner, Referral
from odr.workflow import Transition, Workflow


def require_confirmed_email(user: Any) -> None:
    """An account acts only once its e-mail address is confirmed: it lodges, fires actions, makes
    and answers offers, writes messages, adds evidence, joins a dispute and makes API tokens
    only then. Until then anyone could have typed that address, so the account is nobody's yet.
    (It sees nothing either: `visible_cases` and `case_role` give it no case.)"""
    if user is not None and not user.email_verified:
        raise EmailNotConfirmed()


def case_role(user: Any, case: Case) -> str | None:
    """The part the user plays in this case, or None when the user may not see it."""
    if user is None:
        return "system"
    if not user.active or not user.email_verified:
        return None
    if user.role == "case_manager":
        return "case_manager"
    if case.claimant_user_id == user.id or case.filed_by_user_id == user.id:
        return "claimant"
    if user.role == "merchant":
        visible = db.session.scalar(
            visible_cases(user).with_only_columns(Case.id).where(Case.id == case.id)
        )
        return "respondent" if visible is not None else None
    if user.role == "mediator" and case.mediator_id == user.id:
        return "mediator"
    if user.role == "arbitrator" and case.arbitrator_id == user.id:
        return "arbitrator"
    if user.role == "partner" and user.partner_id is not None:
        visible = db.session.scalar(
            visible_cases(user).with_only_columns(Case.id).where(Case.id == case.id)
        )
        return "partner" if visible is not None else None
    return None


def visible_cases(user: Any) -> sa.Select:
    """The one scoping query of cases per role. Every list and lookup of cases starts here.

    Nobody sees a dispute before their e-mail address is verified. A merchant, and each staff
    account acting for it, sees the disputes naming the merchant account's verified address and
    those it joined through an invitation link. A partner agency's users see the disputes
    referred to their agency while the referral is open (pending or accepted).
    """
    query = sa.select(Case)
    if user is None or not user.active or not user.email_verified:
        return query.where(sa.false())
    if user.role == "case_manager":
        return query
    if user.role in ("consumer", "platform"):
        return query.where(
            sa.or_(Case.claimant_user_id == user.id, Case.filed_by_user_id == user.id)
        )
    if user.role == "merchant":
        principal = user.merchant_id or user.id
        named = (
            sa.select(User.email)
            .where(User.id == principal, User.email_verified_at.is_not(None), User.active)
            .scalar_subquery()
        )
        joined = sa.select(RespondentLink.case_id).where(RespondentLink.merchant_id == principal)
        return query.where(sa.or_(Case.respondent_email == named, Case.id.in_(joined)))
    if user.role == "mediator":
        return query.where(Case.mediator_id == user.id)
    if user.role == "arbitrator":
        return query.where(Case.arbitrator_id == user.id)
    if user.role == "partner" and user.partner_id is not None:
        referred = sa.select(Referral.case_id).where(
            Referral.partner_id == user.partner_id, Referral.status.in_(("pending", "accepted"))
        )
        return query.where(Case.id.in_(referred))
    return query.where(sa.false())


@dataclass(frozen=True)
class Decision:
    """The answer to "may this actor fire this action now?" and, when not, why not."""

    allowed: bool
    reason: str = ""  # "unknown_action", "not_visible", "forbidden", "state", "guard"
    transition: Transition | None = None


def refusal_before_guards(
    workflow: Workflow, role: str | None, action: str, state: str
) -> str | None:
    """Why the role may not fire the action in the state whatever the guards say, or None."""
    if role is None:
        return "not_visible"
    if role not in workflow.roles_by_action.get(action, frozenset()):
        return "forbidden"
    if not any(role in t.roles for t in workflow.transitions_for(action, state)):
        return "state"
    return None


def decide(workflow: Workflow, ctx: GuardContext, action: str) -> Decision:
    if action not in workflow.actions:
        return Decision(False, "unknown_action")
    refusal = refusal_before_guards(workflow, ctx.role, action, ctx.case.state)
    if refusal:
        return Decision(False, refusal)
    candidates = [
        t for t in workflow.transitions_for(action, ctx.case.state) if ctx.role in t.roles
    ]
    for transition in candidates:
        if all(GUARDS[name](ctx) for name in transition.conditions):
            return Decision(True, transition=transition)
    return Decision(False, "guard")


def available_actions(workflow: Workflow, ctx: GuardContext) -> list[str]:
    """Every action the actor may fire now, in the order of the definition; never system ones."""
    return [
        action
        for action, spec in workflow.actions.items()
        if not spec.get("system") and decide(workflow, ctx, action).allowed
    ]


def visible_events(user: Any, role: str | None, case: Case) -> Any:
    """Which events of the case's log the reader sees: a SQL condition on `Event`.

    Every step of the case, but a message only to those who may read it (`visible_messages`):
    who wrote in a caucus, and when, is as confidential as what they wrote; a note is its
    author's alone. The hidden events leave gaps in `seq`, which the chain needs.
    """
    from odr.cases.models import Event

    channel = Event.data["channel"].as_string()
    party = Event.data["party"].as_string()
    message = Event.kind == "post_message"
    seen = [Event.kind.not_in(("post_message", "write_note"))]
    seen.append(sa.and_(message, channel == "joint"))
    if role in ("claimant", "respondent"):
        seen.append(sa.and_(message, channel == "private", party == role))
    if role == "mediator":
        seen.append(sa.and_(message, channel == "private"))
    seen.append(sa.and_(Event.kind == "write_note", Event.actor_id == getattr(user, "id", None)))
    return sa.and_(Event.case_id == case.id, sa.or_(*seen))


def visible_messages(user: Any, role: str | None, case: Case) -> Any:
    """Which messages of the case the reader sees: a SQL condition on `Message`.

    The joint channel: every participant. A party's private channel (caucus): that party and the
    mediator. Notes: their author only. Case managers oversee the joint channel, not the caucus.
    """
    from odr.cases.models import Message

    if role is None or role in ("system", "partner"):
        return sa.false()
    seen = [Message.channel == "joint"]
    if role in ("claimant", "respondent"):
        seen.append(sa.and_(Message.channel == "private", Message.party == role))
    if role == "mediator":
        seen.append(Message.channel == "private")
        seen.append(sa.and_(Message.channel == "notes", Message.author_id == user.id))
    return sa.and_(Message.case_id == case.id, sa.or_(*seen))


# ---- who holds a referred case -----------------------------------------------------------------


def latest_referral(case_id: int) -> tuple[Referral, Partner] | None:
    """The case's newest referral and its agency, if it was ever referred."""
    row = db.session.execute(
        sa.select(Referral, Partner)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.case_id == case_id)
        .order_by(Referral.id.desc())
        .limit(1)
    ).first()
    return tuple(row) if row else None


def partner_name(case: Case, lodged: dict[str, Any]) -> str | None:
    """The agency a case was referred to when it was lodged (from its `lodged` event data)."""
    if not lodged.get("referral"):
        return None
    return latest_referral(case.id)[1].name


def agency_users(case: Case) -> list[User]:
    """The active accounts of the agency that holds the case's open referral."""
    query = (
        sa.select(User)
        .join(Referral, Referral.partner_id == User.partner_id)
        .where(
            Referral.case_id == case.id,
            Referral.status.in_(OPEN_REFERRALS),
            User.role == "partner",
            User.active,
        )
        .order_by(User.id)
    )
    return list(db.session.scalars(query))
