"""The rules of a case: lodging, the single `fire` service, deadlines, and reading cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from odr import clock
from odr.accounts.models import User
from odr.cases.batch import current_batch, read_once
from odr.cases.events import append_event
from odr.cases.guards import GuardContext
from odr.cases.models import (
    NOTE_FIELDS,
    Case,
    CaseNote,
    Event,
    Evidence,
    Message,
    ReferenceCounter,
    RespondentLink,
)
from odr.cases.performance import day_ends_at, party_zone
from odr.cases.schemas import parse_lodging
from odr.db import write_transaction
from odr.delivery.queue import schedule_delivery, schedule_rendering
from odr.delivery.services import fields_read, notify, queue_mail
from odr.errors import Conflict, Forbidden, NotFound, StaleVersion
from odr.extensions import db
from odr.policy import (
    available_actions,
    case_role,
    decide,
    refusal_before_guards,
    require_confirmed_email,
    visible_cases,
    visible_events,
    visible_messages,
)
from odr.referrals.law import LawFacts, governing_law
from odr.referrals.services import agency_users, choose_partner, latest_referral, open_referral
from odr.workflow import Transition, get_workflow

OPEN_STATES = ("filed", "negotiation", "mediation", "arbitration", "referred", "with_partner")

# What an action does beyond the state change, inside the same transaction: action -> effect.
# An effect returns the event data to record (ids and amounts only).
Effect = Callable[[GuardContext, Transition], dict[str, Any]]
EFFECTS: dict[str, Effect] = {}
# What happens on entering a state, inside the same transaction: state -> hooks(case, from).
ON_ENTER: dict[str, list[Callable[[Case, str], None]]] = {}
ON_LEAVE: dict[str, list[Callable[[Case, str], None]]] = {}
AFTER: dict[str, list[Callable[[GuardContext, dict[str, Any]], None]]] = {}
# Checks of an action's parameters before anything is written: action -> checker.
PARAMETERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
# The mail the parties get when a case enters a state, when it is not `state_changed`: a template,
# or False when another mail tells them (a settlement agreement or an award, with its PDF).
ENTRY_MAILS: dict[str, str | bool] = {
    "negotiation": "negotiation_started",  # with the date by which to answer
    **dict.fromkeys(
        ("resolved", "unresolved", "non_compliant", "withdrawn", "rejected"), "dispute_closed"
    ),
}


def effect(action: str) -> Callable[[Effect], Effect]:
    def register(function: Effect) -> Effect:
        EFFECTS[action] = function
        return function

    return register


def after(action: str) -> Callable:
    """Register what follows an action, recorded after it (such as a new assignment); it reads
    the context and the data recorded with the action."""

    def register(function: Callable[[GuardContext, dict[str, Any]], None]) -> Callable:
        AFTER.setdefault(action, []).append(function)
        return function

    return register


def on_enter(state: str) -> Callable:
    """Register what happens when a case enters a state, after the transition is recorded."""

    def register(function: Callable[[Case, str], None]) -> Callable:
        ON_ENTER.setdefault(state, []).append(function)
        return function

    return register


def on_leave(state: str) -> Callable:
    """Register what happens when a case leaves a state (hooks(case, to)), before entering the
    next."""

    def register(function: Callable[[Case, str], None]) -> Callable:
        ON_LEAVE.setdefault(state, []).append(function)
        return function

    return register


def parameters(action: str) -> Callable:
    def register(function: Callable) -> Callable:
        PARAMETERS[action] = function
        return function

    return register


# ---- reading ---------------------------------------------------------------------------------


def is_visible(user: Any, public_id: str) -> bool:
    """Whether the user still sees the case (a neutral who recused no longer does)."""
    query = visible_cases(user).with_only_columns(Case.id).where(Case.public_id == public_id)
    return db.session.scalar(query) is not None


def find_case(user: Any, public_id: str) -> Case:
    """The case, if the user may see it; otherwise NotFound, never a hint that it exists."""
    case = db.session.scalar(visible_cases(user).where(Case.public_id == public_id))
    if case is None:
        raise NotFound()
    return case


def load_offers(case: Case) -> list[Any]:
    from odr.negotiation.models import Offer

    return list(
        db.session.scalars(sa.select(Offer).where(Offer.case_id == case.id).order_by(Offer.id))
    )


def load_events(case: Case) -> list[Event]:
    return list(
        db.session.scalars(sa.select(Event).where(Event.case_id == case.id).order_by(Event.seq))
    )


def load_users(ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))}


def load_context(
    case: Case, actor: Any, role: str | None, params: dict | None = None
) -> GuardContext:
    """What the guards read, each part loaded once when first asked for: the offers, the latest
    proposal, the statements."""
    from odr.arbitration.models import Statement
    from odr.mediation.models import Proposal

    def latest_proposal() -> Any:
        return db.session.scalars(
            sa.select(Proposal)
            .where(Proposal.case_id == case.id)
            .order_by(Proposal.id.desc())
            .limit(1)
        ).first()

    def statements() -> list[Any]:
        return list(
            db.session.scalars(
                sa.select(Statement).where(Statement.case_id == case.id).order_by(Statement.id)
            )
        )

    return GuardContext(
        case=case,
        actor=actor,
        role=role,
        params=params or {},
        loaders={
            "offers": lambda: load_offers(case),
            "proposal": latest_proposal,
            "statements": statements,
        },
    )


@dataclass
class CaseView:
    """Everything a page or an API answer shows of one case, loaded in a fixed number of queries."""

    case: Case
    role: str
    offers: list[Any]
    actions: list[str]
    users: dict[int, User]
    proposal: Any = None
    events: list[Event] | None = None
    notes: dict[int, str] | None = None
    messages: list[Message] | None = None
    statements: list[Any] | None = None
    award: Any = None
    evidence: list[Evidence] | None = None
    documents: list[Any] | None = None
    referral: tuple[Any, Any] | None = None  # the newest referral and its agency


def view_case(user: Any, public_id: str, *, with_events: bool = False) -> CaseView:
    from odr.arbitration.models import Award

    case = find_case(user, public_id)
    role = case_role(user, case)
    ctx = load_context(case, user, role)
    actions = available_actions(get_workflow(case.workflow, case.workflow_version), ctx)
    view = CaseView(case, role, ctx.offers, actions, {}, ctx.proposal)
    view.referral = latest_referral(case.id)
    ids = {case.mediator_id, case.arbitrator_id}
    if with_events:
        view.events = list(
            db.session.scalars(
                sa.select(Event).where(visible_events(user, role, case)).order_by(Event.seq)
            )
        )
        rows = db.session.execute(
            sa.select(CaseNote.id, CaseNote.body).where(CaseNote.case_id == case.id)
        )
        view.notes = {note_id: body for note_id, body in rows}
        view.messages = list(
            db.session.scalars(
                sa.select(Message).where(visible_messages(user, role, case)).order_by(Message.id)
            )
        )
        view.statements = ctx.statements
        view.award = db.session.scalar(sa.select(Award).where(Award.case_id == case.id))
        view.evidence = list(
            db.session.scalars(
                sa.select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)
            )
        )
        ids |= {event.actor_id for event in view.events}
        ids |= {message.author_id for message in view.messages}
        ids |= {item.uploader_id for item in view.evidence}
    view.users = load_users(ids)
    return view


def list_events(user: Any, public_id: str, *, limit: int, after_seq: int = 0) -> list[Event]:
    case = find_case(user, public_id)
    visible = visible_events(user, case_role(user, case), case)
    return list(
        db.session.scalars(
            sa.select(Event).where(visible, Event.seq > after_seq).order_by(Event.seq).limit(limit)
        )
    )


# Offers, messages and evidence have their own endpoints; the actions endpoint does not take them.
ACTIONS_WITH_OWN_ENDPOINT = (
    "make_offer",
    "accept_offer",
    "reject_offer",
    "post_message",
    "add_evidence",
)


def action_spec(case: Case, action: str) -> dict[str, Any]:
    """The declared parameters of an action fired by name; unknown actions are NotFound."""
    workflow = get_workflow(case.workflow, case.workflow_version)
    spec = workflow.actions.get(action)
    if spec is None or action in ACTIONS_WITH_OWN_ENDPOINT:
        raise NotFound("unknown action")
    return spec


def list_cases(user: Any, *, limit: int = 50, after_id: int | None = None) -> list[Case]:
    """Newest first, by keyset on the id."""
    query = visible_cases(user).order_by(Case.id.desc()).limit(limit)
    if after_id is not None:
        query = query.where(Case.id < after_id)
    return list(db.session.scalars(query))


# ---- writing ---------------------------------------------------------------------------------


def lock_case(case_id: int) -> Case:
    """Take the case row for writing: FOR UPDATE on PostgreSQL; SQLite already holds the lock."""
    return db.session.execute(
        sa.select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def next_reference(year: int) -> str:
    """`ODR-YYYY-NNNNNN`, from a counter incremented atomically by an upsert."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = (
        insert(ReferenceCounter)
        .values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.year],
            set_={"last_value": ReferenceCounter.last_value + 1},
        )
        .returning(ReferenceCounter.last_value)
    )
    number = db.session.execute(statement).scalar_one()
    return f"ODR-{year}-{number:06d}"


def _screening_flags(columns: dict[str, Any]) -> list[str]:
    flags = []
    duplicate = db.session.scalar(
        sa.select(Case.id)
        .where(
            Case.respondent_email == columns["respondent_email"],
            Case.order_reference == columns["order_reference"],
            Case.state.in_(OPEN_STATES),
        )
        .limit(1)
    )
    if duplicate is not None:
        flags.append("possible_duplicate")
    ceilings = current_app.config["CLAIM_CEILINGS"]
    ceiling = ceilings.get(columns["claim_currency"])
    if ceiling is not None and columns["claim_amount_minor"] > ceiling:
        flags.append("claim_above_ceiling")
    if (
        columns["claim_currency"] == columns["order_currency"]
        and columns["claim_amount_minor"] > columns["order_total_minor"]
    ):
        flags.append("claim_above_order_total")
    return flags


def lodge_dispute(*, filer: User, body: Any) -> Case:
    """Validate, screen and record a new dispute; notify the respondent after commit."""
    if filer.role not in ("consumer", "platform"):
        raise Forbidden("only consumers and platforms lodge disputes")
    require_confirmed_email(filer)
    columns = parse_lodging(body, filer=filer)
    workflow = get_workflow("dispute")
    now = clock.now()
    law, rule = governing_law(
        LawFacts(
            consumer_country=columns["claimant_country"],
            merchant_country=columns["respondent_country"],
            consumer_chose_merchant_law=columns["consumer_chose_merchant_law"],
            merchant_targets_consumer_country=columns["merchant_targets_consumer_country"],
        )
    )
    with write_transaction(db.session):
        flags = _screening_flags(columns)
        foreign = law != current_app.config["HOME_COUNTRY"]
        partner = None
        if foreign and columns["transfer_consent"] and not flags:
            partner = choose_partner(
                law, {columns["claimant_language"], columns["respondent_language"]}
            )
        state = "filed" if flags else ("referred" if partner else "negotiation")
        case = Case(
            **columns,
            reference=next_reference(now.year),
            workflow=workflow.name,
            workflow_version=workflow.version,
            state=state,
            state_entered_at=now,
            governing_law=law,
            governing_law_rule=rule,
            screening_flags=flags,
            claimant_user_id=filer.id if filer.role == "consumer" else None,
            filed_by_user_id=filer.id,
            transfer_consent_at=now if columns["transfer_consent"] else None,
            created_at=now,
        )
        case.deadline_at = next_deadline(case, workflow.states[state])
        db.session.add(case)
        db.session.flush()
        from odr.analytics.services import count_for_merchant

        count_for_merchant(case.respondent_email, "disputes")
        note = referral = None
        if partner is not None:
            referral = open_referral(case, partner)
            note = "referred_to_partner"
        elif foreign:
            note = (
                "no_partner_handled_at_home"
                if columns["transfer_consent"]
                else "no_transfer_consent"
            )
        append_event(
            case,
            kind="lodged",
            actor=filer,
            role="claimant",
            data={
                "state": state,
                "governing_law": law,
                "governing_law_rule": rule,
                "screening_flags": flags,
                "foreign_law_note": note,
                "referral": referral.public_id if referral else None,
                "claim_amount": case.claim_amount_minor,
                "currency": case.claim_currency,
            },
        )
        from odr.accounts.services import invitation_link

        partner_name = partner.name if partner is not None else None
        tell_parties(
            case,
            parties=("respondent",),
            kind="dispute_lodged",
            actor=filer,
            invitation=invitation_link(case),
            partner=partner_name,
        )
        _send_receipt(case, partner_name)
    schedule_delivery()
    return case


def _send_receipt(case: Case, partner: str | None) -> None:
    """The claimant's receipt: the reference, what happens next and by when. A mail only: the
    claimant has just lodged, a notice would tell them what they did."""
    queue_mail(
        to=case.claimant_email,
        language=case.claimant_language,
        template="dispute_received",
        key=f"dispute_received:{case.public_id}",
        case_id=case.id,
        case=case,
        partner=partner,
        **dated_context(case, "dispute_received", partial(party_zone, case, "claimant")),
    )


def deadline_rule(case: Case, state: dict[str, Any]) -> dict[str, Any] | None:
    """The deadline rule in force: while a state waits for its neutral, the waiting rule."""
    deadline = state.get("deadline")
    if deadline and state.get("neutral") and getattr(case, f"{state['neutral']}_id") is None:
        return deadline.get("waiting")
    return deadline


def next_deadline(case: Case, state: dict[str, Any]) -> datetime | None:
    """When the next timer of a case fires, from the deadline rules of its state."""
    rule = deadline_rule(case, state)
    if not rule:
        return None
    if rule.get("performance_due") and case.performance_due is not None:
        return day_ends_at(case.performance_due, case.performance_zone)
    days = rule["days"]
    if rule.get("answered_days") and case.respondent_answered_at is not None:
        days = rule["answered_days"]
    if state.get("neutral") and rule is state["deadline"]:
        start = case.neutral_assigned_at or case.state_entered_at
        return start + timedelta(days=days)  # runs from the assignment
    if "waiting" in (state.get("deadline") or {}):
        return clock.now() + timedelta(days=days)
    return case.state_entered_at + timedelta(days=days)


def fire(
    case: Case,
    action: str,
    actor: User | None,
    *,
    expected_version: int | None = None,
    **params: Any,
) -> Case:
    """The only way a case changes state. Checks, fires, records and commits as one transaction."""
    refuse_unless_allowed(case, action, actor)
    checker = PARAMETERS.get(action)
    if checker is not None:
        params = checker(params)
    with write_transaction(db.session):
        case = lock_case(case.id)
        if expected_version is not None and case.version != expected_version:
            if case_role(actor, case) is None:
                raise NotFound()
            raise StaleVersion("the dispute has changed since you read it")
        _fire_locked(case, action, actor, params)
    schedule_delivery()
    if db.session.info.pop("documents_to_render", None):
        schedule_rendering()
    return case


def refuse_unless_allowed(case: Case, action: str, actor: User | None) -> None:
    """Who may not act at all (unknown action, not their case, wrong role or stage) is told so
    before being told what is wrong with the input."""
    require_confirmed_email(actor)
    workflow = get_workflow(case.workflow, case.workflow_version)
    if action not in workflow.actions:
        raise NotFound("unknown action")
    refusal = refusal_before_guards(workflow, case_role(actor, case), action, case.state)
    _raise_refusal(refusal, action=action, state=case.state)


def _fire_locked(case: Case, action: str, actor: User | None, params: dict[str, Any]) -> None:
    workflow = get_workflow(case.workflow, case.workflow_version)
    role = case_role(actor, case)
    ctx = load_context(case, actor, role, params)
    decision = decide(workflow, ctx, action)
    _raise_refusal(decision.reason, action=action, state=case.state)
    before = case.state
    if not workflow.machine.events[action].trigger(case, ctx=ctx):
        raise Conflict("guard", action=action, state=case.state)
    data = {"from": before, "to": case.state}
    data |= EFFECTS[action](ctx, decision.transition) if action in EFFECTS else {}
    data |= _record_notes(case, actor, params)
    entered = case.state != before
    if entered:
        case.state_entered_at = clock.now()
        notice = workflow.actions[action].get("notice")
        tell_parties(
            case,
            parties=("claimant", "respondent"),
            kind=notice or "state_changed",
            mail=notice or ENTRY_MAILS.get(case.state, True),
            actor=actor,
            shown=ctx.notice,
            reason=params.get("reason"),
        )
        _tell_neutral_of_the_stage_left(case, before, actor)
    case.deadline_at = next_deadline(case, workflow.states[case.state])
    case.version += 1
    append_event(case, kind=action, actor=actor, role=role, data=data)
    for hook in AFTER.get(action, ()):
        hook(ctx, data)
    if entered:
        for hook in ON_LEAVE.get(before, ()):
            hook(case, case.state)
        for hook in ON_ENTER.get(case.state, ()):
            hook(case, before)


def _tell_neutral_of_the_stage_left(case: Case, stage: str, actor: User | None) -> None:
    """A mediator or arbitrator hears when the case leaves their hands (settled, escalated...)."""
    role = get_workflow(case.workflow, case.workflow_version).states[stage].get("neutral")
    neutral_id = getattr(case, f"{role}_id") if role else None
    if neutral_id is not None and (actor is None or actor.id != neutral_id):
        tell_user(case, db.session.get(User, neutral_id), kind="state_changed")


def _raise_refusal(reason: str | None, **detail: Any) -> None:
    if reason == "not_visible":
        raise NotFound()
    if reason == "forbidden":
        raise Forbidden(detail.get("action"))
    if reason:
        raise Conflict(reason, **detail)


def fire_timeout(case: Case) -> int:
    """Act on one case's passed deadline as the `system` actor, inside the caller's write
    transaction that holds the row; 1 when it acted, 0 when the deadline is not due (any more)."""
    if case.deadline_at is None or case.deadline_at > clock.now():
        return 0
    workflow = get_workflow(case.workflow, case.workflow_version)
    deadline = deadline_rule(case, workflow.states[case.state])
    if deadline.get("timeout"):
        _fire_locked(case, deadline["timeout"], None, {})
    else:
        _remind(case, deadline["remind"])
        case.deadline_at = clock.now() + timedelta(days=deadline["days"])
        case.version += 1
        append_event(
            case, kind="reminder", actor=None, role="system", data={"to": deadline["remind"]}
        )
    return 1


def case_managers() -> list[User]:
    """The active case managers; read once for a group of changes."""
    query = sa.select(User).where(User.role == "case_manager", User.active)
    return read_once("case_managers", lambda: list(db.session.scalars(query)))


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


def _party_accounts_query() -> sa.CompoundSelect:
    """(case id, party, account id) for the cases bound as `case_ids`; each branch is a plain
    indexed join (an OR inside a join would make the database scan the accounts for each case)."""
    cases = Case.id.in_(sa.bindparam("case_ids", expanding=True))
    merchant = aliased(User)
    is_principal = sa.and_(
        merchant.role == "merchant",
        merchant.merchant_id.is_(None),
        merchant.email_verified_at.is_not(None),
    )
    principals = sa.union_all(  # the merchant accounts that answer for each case
        sa.select(Case.id.label("case_id"), merchant.id.label("principal"))
        .join(merchant, merchant.email == Case.respondent_email)
        .where(cases, is_principal),
        sa.select(RespondentLink.case_id, merchant.id)
        .join(merchant, merchant.id == RespondentLink.merchant_id)
        .where(RespondentLink.case_id.in_(sa.bindparam("case_ids", expanding=True)), is_principal),
    ).cte("principals")
    account = aliased(User)
    usable = sa.and_(account.active, account.email_verified_at.is_not(None))
    branches = [
        sa.select(Case.id, sa.literal("claimant"), account.id)
        .join(account, account.id == column)
        .where(cases, account.active)
        for column in (Case.claimant_user_id, Case.filed_by_user_id)
    ] + [
        sa.select(principals.c.case_id, sa.literal("respondent"), account.id)
        .join(account, column == principals.c.principal)
        .where(usable)
        for column in (account.id, account.merchant_id)  # the merchant, then its staff
    ]
    return sa.union_all(*branches)


PARTY_ACCOUNTS = _party_accounts_query()  # built once: it runs on every change of state


def party_accounts(case_ids: list[int]) -> dict[int, dict[str, set[int]]]:
    """The active accounts that act as each party of each case (a merchant's staff included)."""
    accounts = {case_id: {"claimant": set(), "respondent": set()} for case_id in case_ids}
    for case_id, party, user_id in db.session.execute(PARTY_ACCOUNTS, {"case_ids": case_ids}):
        accounts[case_id][party].add(user_id)
    return accounts


def party_account_ids(case: Case) -> dict[str, set[int]]:
    batch = current_batch()
    if batch is not None and case.id in batch.accounts:
        return batch.accounts[case.id]
    return party_accounts([case.id])[case.id]


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


def validate_reason(params: dict[str, Any], field: str = "reason", required: bool = False) -> dict:
    from odr.validation import FieldReader

    reader = FieldReader()
    value = reader.string(params, field, field, max_length=2000, required=required, multiline=True)
    reader.raise_if_errors()
    return {**params, field: value}


for _action in ("reject",):
    parameters(_action)(lambda p: validate_reason(p, required=True))
for _action in ("escalate", "withdraw"):
    parameters(_action)(validate_reason)
for _action in ("fail_mediation", "declare_performance", "report_breach"):
    parameters(_action)(lambda p: validate_reason(p, "note"))


@effect("consent_to_arbitration")
def _record_consent(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    setattr(ctx.case, f"{ctx.role}_arbitration_consent", True)
    return {"party": ctx.role}


@on_enter("settled")
@on_enter("awarded")
def _start_compliance(case: Case, came_from: str) -> None:
    """A settlement breached into arbitration ends in an award whose performance starts afresh."""
    case.performance_declared_at = None
    case.breach_reported_at = None


@effect("declare_performance")
def _record_performance(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    ctx.case.performance_declared_at = clock.now()
    return {}


@effect("report_breach")
def _record_breach(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    ctx.case.breach_reported_at = clock.now()
    return {}


def _record_notes(case: Case, actor: User | None, params: dict[str, Any]) -> dict[str, int]:
    ids = {}
    for field in NOTE_FIELDS:
        if params.get(field):
            note = CaseNote(
                case_id=case.id, author_id=actor.id if actor else None, body=params[field]
            )
            db.session.add(note)
            db.session.flush()
            ids[f"{field}_id"] = note.id
    return ids


# ---- messages, notes ----------------------------------------------------------------------------


def message_channel(params: dict[str, Any]) -> str:
    """The channel a message is meant for: the one named, else a mediator's caucus with the
    party named, else the joint channel."""
    return params.get("channel") or ("private" if params.get("party") else "joint")


def _check_message(params: dict[str, Any]) -> dict[str, Any]:
    from flask_babel import lazy_gettext as _l

    from odr.validation import FieldReader

    reader = FieldReader()
    body = reader.string(params, "body", "body", max_length=10000, multiline=True)
    channel = message_channel(params)
    if channel not in ("joint", "private"):
        reader.fail("channel", _l("Choose one of: %(choices)s.", choices="joint, private"))
    party = params.get("party") or None
    if party not in (None, "claimant", "respondent"):
        reader.fail("party", _l("Choose one of: %(choices)s.", choices="claimant, respondent"))
    reader.raise_if_errors()
    return {"body": body, "channel": channel, "party": party}


parameters("post_message")(_check_message)
parameters("write_note")(lambda p: {**_check_message({"body": p.get("body")}), "channel": "notes"})


def _record_message(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    channel = ctx.params["channel"]
    party = None
    if channel == "private":
        party = ctx.params.get("party") if ctx.role == "mediator" else ctx.role
    message = Message(
        case_id=ctx.case.id,
        author_id=ctx.actor.id,
        author_role=ctx.role,
        channel=channel,
        party=party,
        body=ctx.params["body"],
    )
    db.session.add(message)
    db.session.flush()
    if ctx.role == "respondent" and ctx.case.respondent_answered_at is None:
        ctx.case.respondent_answered_at = clock.now()
    _tell_message(ctx, channel, party)
    return {"message": message.id, "channel": channel, "party": party}


def _tell_message(ctx: GuardContext, channel: str, party: str | None) -> None:
    """Everyone who may read the message, but its author, hears of it; notes stay silent."""
    if channel == "notes":
        return
    neutral_id = ctx.case.mediator_id if ctx.case.state == "mediation" else ctx.case.arbitrator_id
    if channel == "joint":
        parties = tuple(p for p in ("claimant", "respondent") if p != ctx.role)
        tell_parties(ctx.case, parties=parties, kind="message_posted", actor=ctx.actor)
    elif ctx.role == "mediator":
        tell_parties(ctx.case, parties=(party,), kind="message_posted", actor=ctx.actor)
    if neutral_id and neutral_id != ctx.actor.id:
        tell_user(ctx.case, db.session.get(User, neutral_id), kind="message_posted")


effect("post_message")(_record_message)
effect("write_note")(_record_message)
