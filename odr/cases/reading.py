"""Reading cases for a page or the API: what a user sees, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from odr.accounts.models import User
from odr.cases.batch import current_batch, read_once
from odr.cases.guards import GuardContext
from odr.cases.models import Case, CaseNote, Event, Evidence, Message, RespondentLink
from odr.errors import NotFound
from odr.extensions import db
from odr.policy import (
    available_actions,
    case_role,
    latest_referral,
    visible_cases,
    visible_events,
    visible_messages,
)
from odr.workflow import get_workflow

OPEN_STATES = ("filed", "negotiation", "mediation", "arbitration", "referred", "with_partner")


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
    query = sa.select(User).where(User.id.in_(wanted)).execution_options(populate_existing=True)
    return {u.id: u for u in db.session.scalars(query)}


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


def view_lodged_case(user: Any, case: Case) -> CaseView:
    """What `view_case` reads, for the filer of a case just lodged, from what lodging holds: no
    offer, proposal or statement exists yet and no neutral is assigned; the referral is read only
    when the case was referred. Saves the answer to a lodging from reading the case again."""
    role = case_role(user, case)
    if role is None:
        raise NotFound()
    ctx = GuardContext(case=case, actor=user, role=role)
    actions = available_actions(get_workflow(case.workflow, case.workflow_version), ctx)
    view = CaseView(case, role, [], actions, load_users({case.mediator_id, case.arbitrator_id}))
    if case.state == "referred":
        view.referral = latest_referral(case.id)
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


def case_managers() -> list[User]:
    """The active case managers; read once for a group of changes."""
    return read_once(
        "case_managers",  # the query built only when read: building it costs as much as a fire
        lambda: list(
            db.session.scalars(sa.select(User).where(User.role == "case_manager", User.active))
        ),
    )


def _among_cases(column: Any, form: str) -> Any:
    """`column` among the cases bound as parameters, in one of three forms: "one" case bound as
    `case_id`; on PostgreSQL, the ids bound as one "array" `case_ids` (the same text whatever
    their number); elsewhere, a "list" `case_ids` expanded into the statement."""
    if form == "one":
        return column == sa.bindparam("case_id")
    if form == "array":
        return column == sa.any_(sa.bindparam("case_ids", type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam("case_ids", expanding=True))


def _party_accounts_query(form: str) -> sa.CompoundSelect:
    """(case id, party, account id, time zone, named) for the cases bound as `case_ids`, or in
    the "new" form for a case about to be written, bound by its columns (`NEW_CASE`); each
    branch is a plain indexed join (an OR inside a join would make the database scan the accounts
    for each case). `named` is set only on the merchant accounts that answer for a case: true for
    the one the dispute names by its address, false for one that joined it."""
    cases = NEW_CASE if form == "new" else Case.__table__
    among = sa.true() if form == "new" else _among_cases(Case.id, form)
    merchant = aliased(User)
    is_principal = sa.and_(
        merchant.role == "merchant",
        merchant.merchant_id.is_(None),
        merchant.email_verified_at.is_not(None),
    )
    named_by_address = (
        sa.select(
            cases.c.id.label("case_id"), merchant.id.label("principal"), sa.true().label("named")
        )
        .join(merchant, merchant.email == cases.c.respondent_email)
        .where(among, is_principal)
    )
    joined = (  # a new case has nobody who joined it yet
        sa.select(RespondentLink.case_id, merchant.id, sa.false())
        .join(merchant, merchant.id == RespondentLink.merchant_id)
        .where(_among_cases(RespondentLink.case_id, form), is_principal)
    )
    principals = (  # the merchant accounts that answer for each case
        named_by_address if form == "new" else sa.union_all(named_by_address, joined)
    ).cte("principals")
    account = aliased(User)
    usable = sa.and_(account.active, account.email_verified_at.is_not(None))
    unnamed = sa.cast(sa.null(), sa.Boolean)
    branches = [
        sa.select(cases.c.id, sa.literal("claimant"), account.id, account.timezone, unnamed)
        .join(account, account.id == column)
        .where(among, account.active)
        for column in (cases.c.claimant_user_id, cases.c.filed_by_user_id)
    ] + [
        sa.select(
            principals.c.case_id, sa.literal("respondent"), account.id, account.timezone, named
        )
        .join(account, column == principals.c.principal)
        .where(usable)
        for column, named in (  # the merchant, then its staff
            (account.id, principals.c.named),
            (account.merchant_id, unnamed),
        )
    ]
    return sa.union_all(*branches)


# A case about to be written, as the party query reads it: its columns bound as parameters.
NEW_CASE = sa.select(
    sa.literal(0, sa.Integer).label("id"),
    sa.bindparam("respondent_email", type_=sa.String).label("respondent_email"),
    sa.bindparam("claimant_user_id", type_=sa.Integer).label("claimant_user_id"),
    sa.bindparam("filed_by_user_id", type_=sa.Integer).label("filed_by_user_id"),
).cte("new_case")

# Built once: it runs on every change of state. One case has a form of its own: PostgreSQL plans
# a statement with an array parameter afresh at each run (its generic plan, made for an array of
# unknown length, looks dearer), and planning this one took 0.9 ms, several times its execution.
PARTY_ACCOUNTS = {form: _party_accounts_query(form) for form in ("one", "array", "list", "new")}


def party_accounts(case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The active accounts that act as each party of each case (a merchant's staff included),
    as sets of ids under "claimant" and "respondent"; under "principals", the merchant accounts
    that answer for the case as (not named by the dispute, id, time zone), for the zone its
    dates are stated in (`odr.cases.performance.respondent_zone`)."""
    if len(case_ids) == 1:
        query, params = PARTY_ACCOUNTS["one"], {"case_id": case_ids[0]}
    else:
        form = "array" if db.session.get_bind().dialect.name == "postgresql" else "list"
        query, params = PARTY_ACCOUNTS[form], {"case_ids": case_ids}
    return _accounts_by_case(case_ids, db.session.connection().execute(query, params))


def _accounts_by_case(case_ids: list[int], rows: Any) -> dict[int, dict[str, Any]]:
    accounts: dict[int, dict[str, Any]] = {
        case_id: {"claimant": set(), "respondent": set(), "principals": []} for case_id in case_ids
    }
    for case_id, party, user_id, timezone, named in rows:
        accounts[case_id][party].add(user_id)
        if named is not None:
            accounts[case_id]["principals"].append((not named, user_id, timezone))
    return accounts


def new_case_accounts() -> Any:
    """`party_accounts` of a case about to be written (bound as `respondent_email`,
    `claimant_user_id`, `filed_by_user_id`), as one JSON value: a column that a lodging reads
    with its number, one round trip fewer (`remember_new_case_accounts`)."""
    rows = PARTY_ACCOUNTS["new"].subquery()
    pairs = sa.func.json_build_array(*list(rows.c)[1:])
    return sa.select(sa.func.json_agg(pairs)).scalar_subquery()


def remember_new_case_accounts(case: Case, rows: list[list[Any]] | None) -> None:
    """What `new_case_accounts` read, as the case's `party_accounts` for the rest of the
    transaction (`party_account_ids`)."""
    accounts = _accounts_by_case([case.id], ([case.id, *row] for row in rows or ()))
    db.session.info.setdefault(PARTIES_READ, {})[case.id] = accounts[case.id]


PARTIES_READ = "party_accounts"


def party_account_ids(case: Case) -> dict[str, Any]:
    """`party_accounts` of one case, read once a transaction (or once for a group of changes):
    the mails and notices of one change, and the zone their dates are given in, ask alike."""
    batch = current_batch()
    if batch is not None and case.id in batch.accounts:
        return batch.accounts[case.id]
    read = db.session.info.setdefault(PARTIES_READ, {})
    if case.id not in read:
        read[case.id] = party_accounts([case.id])[case.id]
    return read[case.id]


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_parties_read(session: Session, transaction: Any) -> None:
    session.info.pop(PARTIES_READ, None)
