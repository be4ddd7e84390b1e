"""Telling people about a case: a mail in their language and a notice for each account.

The case core announces; this module listens (`on_fired`: a state entered, a message posted;
`on_reminder`; `on_lodged`: the claimant's receipt) and offers `tell_parties` and `tell_user` to the
capabilities that tell people of their own acts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from odr.accounts.models import User
from odr.cases.firing import next_deadline
from odr.cases.guards import GuardContext
from odr.cases.hooks import on_fired, on_lodged, on_reminder
from odr.cases.models import Case
from odr.cases.performance import party_zone
from odr.cases.reading import case_managers, party_account_ids
from odr.delivery.services import fields_read, notify, queue_mail
from odr.extensions import db
from odr.policy import agency_users, partner_name
from odr.workflow import get_workflow

# The mail the parties get when a case enters a state, when it is not `state_changed`: a template,
# or False when another mail tells them (a settlement agreement or an award, with its PDF).
ENTRY_MAILS: dict[str, str | bool] = {
    "negotiation": "negotiation_started",  # with the date by which to answer
    **dict.fromkeys(
        ("resolved", "unresolved", "non_compliant", "withdrawn", "rejected"), "dispute_closed"
    ),
}


def _notice_params(case: Case) -> dict[str, Any]:
    return {"reference": case.reference, "state": case.state, "case": case.public_id}


def tell_user(case: Case, user: Any, *, kind: str, **context: Any) -> None:
    """E-mail one person (an account, or what assignment read of one: id, e-mail, language)
    about the case, in their language, and leave them a notice."""
    queue_mail(
        to=user.email,
        language=user.language,
        template=kind,
        key=f"{kind}:{case.public_id}:{case.event_count + 1}:{user.id}",
        case_id=case.id,
        case=case,
        **context,
    )
    notify(user_ids=[user.id], case_id=case.id, kind=kind, **_notice_params(case))


def dated_context(case: Case, template: str, zone: Callable[[], str]) -> dict[str, Any]:
    """What a mail that gives dates reads beyond what its caller passed, each only when its
    template reads it: the reader's time zone (`zone`), and the case's next deadline as the change
    being made sets it (`deadline`: an answer in negotiation moves it before `fire` stores it)."""
    read = fields_read(template)
    context: dict[str, Any] = {}
    if "zone" in read:
        context["zone"] = zone()
    if "deadline" in read:
        workflow = get_workflow(case.workflow, case.workflow_version)
        context["deadline"] = next_deadline(case, workflow.states[case.state])
    return context


def tell_parties(
    case: Case,
    *,
    parties: tuple[str, ...],
    kind: str,
    actor: User | None,
    shown: dict[str, str] | None = None,
    mail: str | bool = True,
    **context: Any,
) -> None:
    """E-mail each party at the address named in the case, in its language, and leave a notice
    for each of its accounts; the party the actor acts for is not told of its own doing.
    `shown` holds plain values both the e-mail and the notice show (a partner's summary).
    `mail` names the mail's template when it is not the notice's kind; False sends none. The
    template reads the party it goes to as `recipient`, and may read `zone` and `deadline`
    (`dated_context`)."""
    shown = shown or {}
    accounts = party_account_ids(case)
    template = kind if mail is True else mail
    for party in parties:
        email, language = getattr(case, f"{party}_email"), getattr(case, f"{party}_language")
        if actor is not None and (actor.email == email or actor.id in accounts[party]):
            continue
        if template:
            queue_mail(
                to=email,
                language=language,
                template=template,
                key=f"{template}:{case.public_id}:{case.event_count + 1}:{party}",
                case_id=case.id,
                case=case,
                recipient=party,
                **dated_context(case, template, partial(party_zone, case, party)),
                **context,
                **shown,
            )
        notify(
            user_ids=accounts[party], case_id=case.id, kind=kind, **_notice_params(case), **shown
        )


def _tell_neutral_of_the_stage_left(case: Case, stage: str, actor: User | None) -> None:
    """A mediator or arbitrator hears when the case leaves their hands (settled, escalated...)."""
    role = get_workflow(case.workflow, case.workflow_version).states[stage].get("neutral")
    neutral_id = getattr(case, f"{role}_id") if role else None
    if neutral_id is not None and (actor is None or actor.id != neutral_id):
        tell_user(case, db.session.get(User, neutral_id), kind="state_changed")


@on_fired()
def _tell_of_the_state_entered(ctx: GuardContext, action: str, before: str, data: dict) -> None:
    """Both parties hear of a new state (in the words of the action's notice, if it has one),
    and the neutral whose stage it left."""
    case = ctx.case
    if case.state == before:
        return
    notice = get_workflow(case.workflow, case.workflow_version).actions[action].get("notice")
    tell_parties(
        case,
        parties=("claimant", "respondent"),
        kind=notice or "state_changed",
        mail=notice or ENTRY_MAILS.get(case.state, True),
        actor=ctx.actor,
        shown=ctx.notice,
        reason=ctx.params.get("reason"),
    )
    _tell_neutral_of_the_stage_left(case, before, ctx.actor)


@on_reminder
def _remind(case: Case, roles: list[str]) -> None:
    recipients: list[User] = []
    if "case_manager" in roles:
        recipients += case_managers()
    for role in ("mediator", "arbitrator"):
        if role in roles and getattr(case, f"{role}_id"):
            recipients.append(db.session.get(User, getattr(case, f"{role}_id")))
    if "partner" in roles:
        recipients += agency_users(case)
    for user in recipients:
        queue_mail(
            to=user.email,
            language=user.language,
            template="deadline_reminder",
            key=f"reminder:{case.public_id}:{case.event_count + 1}:{user.id}",
            case_id=case.id,
            case=case,
        )
    notify(
        user_ids=[user.id for user in recipients],
        case_id=case.id,
        kind="deadline_reminder",
        **_notice_params(case),
    )


@on_lodged
def _send_receipt(case: Case, lodged: dict[str, Any]) -> None:
    """The claimant's receipt: the reference, what happens next and by when. A mail only: the
    claimant has just lodged, a notice would tell them what they did."""
    queue_mail(
        to=case.claimant_email,
        language=case.claimant_language,
        template="dispute_received",
        key=f"dispute_received:{case.public_id}",
        case_id=case.id,
        case=case,
        partner=partner_name(case, lodged),
        **dated_context(case, "dispute_received", partial(party_zone, case, "claimant")),
    )


@on_fired("post_message")
def _tell_message(ctx: GuardContext, action: str, before: str, data: dict[str, Any]) -> None:
    """Everyone who may read the message, but its author, hears of it (notes stay silent)."""
    channel, party = data["channel"], data["party"]
    neutral_id = ctx.case.mediator_id if ctx.case.state == "mediation" else ctx.case.arbitrator_id
    if channel == "joint":
        parties = tuple(p for p in ("claimant", "respondent") if p != ctx.role)
        tell_parties(ctx.case, parties=parties, kind="message_posted", actor=ctx.actor)
    elif ctx.role == "mediator":
        tell_parties(ctx.case, parties=(party,), kind="message_posted", actor=ctx.actor)
    if neutral_id and neutral_id != ctx.actor.id:
        tell_user(ctx.case, db.session.get(User, neutral_id), kind="message_posted")
