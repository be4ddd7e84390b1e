"""The caseload workspace: a neutral's open cases, and the case managers' view over everyone's.

One query builds a page of rows with everything a row shows: the page's case ids by the index in
a subquery, then for those ids only the columns the row shows and, as correlated subqueries, what
waits on whom and the unread messages. So a page costs one query whatever its length, and pages
follow a keyset on the sort key and the id, so rows inserted meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.arbitration.models import Statement
from odr.cases.models import Case
from odr.cases.reading import OPEN_STATES
from odr.delivery.models import Notice
from odr.errors import ValidationError
from odr.extensions import db
from odr.mediation.models import Proposal
from odr.policy import visible_cases

PAGE_SIZE = 50
# sort name -> (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "deadline": (Case.deadline_at, False),
    "newest": (Case.created_at, True),
    "reference": (Case.reference, False),
}
WORKING_STATES = {"mediator": ("mediation",), "arbitrator": ("arbitration",)}


@dataclass
class Filters:
    """What a reader narrows the workspace to; every field optional."""

    state: str | None = None
    due_within_days: int | None = None
    language: str | None = None
    country: str | None = None
    text: str | None = None
    neutral_id: int | None = None
    overdue: bool = False
    sort: str = "deadline"
    cursor: str | None = None


@dataclass
class Row:
    case: sa.Row[Any]  # the columns of the case a row shows (CASE_COLUMNS), not the whole case
    waiting_on: list[str] = field(default_factory=list)  # "claimant", "respondent", "neutral"
    waiting_for: str | None = None  # "proposal", "statement", "neutral"
    unread: int = 0


@dataclass
class Page:
    rows: list[Row]
    next_cursor: str | None
    counts: dict[str, int]


def parse_filters(args: Any) -> Filters:
    """Filters from query parameters, each checked, with errors naming the parameter."""
    errors: dict[str, Any] = {}
    filters = Filters()
    state = (args.get("state") or "").strip()
    if state:
        if state not in OPEN_STATES:
            errors["state"] = _l("Choose one of: %(choices)s.", choices=", ".join(OPEN_STATES))
        filters.state = state
    for name in ("due_within_days", "neutral_id"):
        raw = (args.get(name) or "").strip()
        if raw:
            if not raw.isdigit() or int(raw) > 10_000:
                errors[name] = _l("Enter a whole number.")
            else:
                setattr(filters, name, int(raw))
    language = (args.get("language") or "").strip()
    filters.language = language or None
    country = (args.get("country") or "").strip().upper()
    if country and (len(country) != 2 or not country.isalpha()):
        errors["country"] = _l("Enter a two-letter country code, such as CN.")
    filters.country = country or None
    text = (args.get("q") or "").strip()
    filters.text = text[:100] or None
    filters.overdue = args.get("overdue") in ("1", "on", "true")
    sort = args.get("sort") or "deadline"
    if sort not in SORTS:
        errors["sort"] = _l("Choose one of: %(choices)s.", choices=", ".join(SORTS))
    filters.sort = sort
    filters.cursor = args.get("cursor") or None
    if errors:
        raise ValidationError(errors)
    return filters


def _scope(user: Any) -> sa.Select:
    """The open cases of the reader's workspace: a neutral's own cases in their stage, or for a
    case manager every open case."""
    query = visible_cases(user)
    if user.role in WORKING_STATES:
        return query.where(Case.state.in_(WORKING_STATES[user.role]))
    return query.where(Case.state.in_(OPEN_STATES))


def _filtered(query: sa.Select, filters: Filters, *, with_state: bool = True) -> sa.Select:
    if with_state and filters.state:
        query = query.where(Case.state == filters.state)
    if filters.due_within_days is not None:
        query = query.where(
            Case.deadline_at <= clock.now() + timedelta(days=filters.due_within_days)
        )
    if filters.overdue:
        query = query.where(Case.deadline_at < clock.now())
    if filters.language:
        query = query.where(
            sa.or_(
                Case.claimant_language == filters.language,
                Case.respondent_language == filters.language,
            )
        )
    if filters.country:
        query = query.where(
            sa.or_(
                Case.claimant_country == filters.country,
                Case.respondent_country == filters.country,
            )
        )
    if filters.neutral_id is not None:
        query = query.where(
            sa.or_(Case.mediator_id == filters.neutral_id, Case.arbitrator_id == filters.neutral_id)
        )
    if filters.text:
        pattern = "%" + filters.text.lower().replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(Case.reference).like(pattern, escape="\\"),
                sa.func.lower(Case.claimant_name).like(pattern, escape="\\"),
                sa.func.lower(Case.respondent_name).like(pattern, escape="\\"),
            )
        )
    return query


def _encode_cursor(value: Any, case_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        value, case_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if sort in ("deadline", "newest") and value is not None:
            value = datetime.fromisoformat(value)
        return value, int(case_id)
    except (ValueError, TypeError) as error:
        raise ValidationError({"cursor": _l("This page link is no longer valid.")}) from error


def _after(column: Any, descending: bool, value: Any, case_id: int) -> Any:
    """Rows strictly after (value, id) in the page order (open cases always have the sort key)."""
    if descending:
        return sa.or_(column < value, sa.and_(column == value, Case.id > case_id))
    return sa.tuple_(column, Case.id) > (value, case_id)


def _order(column: Any, descending: bool) -> list[Any]:
    return [column.desc() if descending else column.asc(), Case.id.asc()]


def _row_columns() -> list[Any]:
    """What each row shows beside the case, as correlated subqueries (the reader is bound as
    `reader_id`)."""
    open_proposal = (
        sa.select(
            sa.case(
                (
                    sa.and_(
                        Proposal.claimant_answer.is_(None), Proposal.respondent_answer.is_(None)
                    ),
                    "both",
                ),
                (Proposal.claimant_answer.is_(None), "claimant"),
                (Proposal.respondent_answer.is_(None), "respondent"),
                else_=None,
            )
        )
        .where(Proposal.case_id == Case.id, Proposal.status == "open")
        .order_by(Proposal.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    statements = (
        sa.select(sa.func.count())
        .where(Statement.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    claimant_statement = sa.exists().where(
        Statement.case_id == Case.id, Statement.party == "claimant"
    )
    unread = (
        sa.select(sa.func.count())
        .where(
            Notice.user_id == sa.bindparam("reader_id"),
            Notice.case_id == Case.id,
            Notice.read_at.is_(None),
            Notice.kind == "message_posted",
        )
        .correlate(Case)
        .scalar_subquery()
    )
    return [
        open_proposal.label("proposal_waits_on"),
        statements.label("statements"),
        claimant_statement.label("claimant_statement"),
        unread.label("unread"),
    ]


# What a row shows of its case; the sort keys and the neutrals are among them.
CASE_COLUMNS = (
    Case.id,
    Case.public_id,
    Case.reference,
    Case.state,
    Case.deadline_at,
    Case.created_at,
    Case.claimant_name,
    Case.respondent_name,
    Case.claimant_country,
    Case.respondent_country,
    Case.claimant_language,
    Case.respondent_language,
    Case.mediator_id,
    Case.arbitrator_id,
)
ROW_DETAILS = _row_columns()  # built once: correlated to `cases`, the reader bound as `reader_id`


def _row(found: sa.Row[Any]) -> Row:
    row = Row(found, unread=found.unread or 0)
    neutral_id = found.mediator_id if found.state == "mediation" else found.arbitrator_id
    if found.state in ("mediation", "arbitration") and neutral_id is None:
        row.waiting_for, row.waiting_on = "neutral", ["neutral"]
    elif found.state == "mediation" and found.proposal_waits_on:
        row.waiting_for = "proposal"
        row.waiting_on = (
            ["claimant", "respondent"]
            if found.proposal_waits_on == "both"
            else [found.proposal_waits_on]
        )
    elif found.state == "arbitration" and found.statements < 2:
        row.waiting_for = "statement"
        if found.statements == 0:
            row.waiting_on = ["claimant", "respondent"]
        else:
            row.waiting_on = ["respondent" if found.claimant_statement else "claimant"]
    return row


def workspace_rows(
    user: Any, filters: Filters, *, limit: int = PAGE_SIZE
) -> tuple[list[Row], str | None]:
    """A page of the reader's open cases, with the cursor of the next page (None at the end).

    One query: the page's ids by the index (a subquery with the filters, the order and the
    limit), then for those ids alone what the rows show. The subqueries of each row run for the
    rows of the page only, whatever the sort, and no case column is read that the page does not
    show."""
    column, descending = SORTS[filters.sort]
    query = _filtered(_scope(user), filters)
    if filters.cursor:
        value, case_id = _decode_cursor(filters.cursor, filters.sort)
        query = query.where(_after(column, descending, value, case_id))
    order = _order(column, descending)
    page_ids = query.with_only_columns(Case.id).order_by(*order).limit(limit + 1)
    found = db.session.execute(
        sa.select(*CASE_COLUMNS, *ROW_DETAILS)
        .where(Case.id.in_(page_ids.correlate(None).scalar_subquery()))
        .order_by(*order),
        {"reader_id": user.id},
    ).all()
    rows = [_row(case) for case in found[:limit]]
    if len(found) <= limit:
        return rows, None
    last = found[limit - 1]
    return rows, _encode_cursor(getattr(last, column.key), last.id)


def state_counts(user: Any, filters: Filters) -> dict[str, int]:
    """How many of the reader's open cases are in each state, under every filter but the state."""
    query = _filtered(_scope(user), filters, with_state=False)
    return dict(
        db.session.execute(
            query.with_only_columns(Case.state, sa.func.count()).group_by(Case.state)
        ).all()
    )


def workspace_page(user: Any, filters: Filters, *, limit: int = PAGE_SIZE) -> Page:
    rows, next_cursor = workspace_rows(user, filters, limit=limit)
    return Page(rows, next_cursor, state_counts(user, filters))


# ---- the case managers' desk --------------------------------------------------------------------


def screening_queue(limit: int = 50) -> list[Case]:
    """Filings waiting for a case manager's screening, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Case).where(Case.state == "filed").order_by(Case.id).limit(limit)
        )
    )


def overdue_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Case.state.in_(OPEN_STATES), Case.deadline_at < clock.now()
        )
    )


@dataclass
class Load:
    neutral: Any
    open_cases: int
    ceiling: int


def neutral_loads() -> list[Load]:
    """Each active neutral's open cases in their stage against their ceiling, fullest first."""
    from odr.accounts.models import User
    from odr.mediation.services import DEFAULT_CEILING

    counts = {}
    for role, state in (("mediator", "mediation"), ("arbitrator", "arbitration")):
        column = getattr(Case, f"{role}_id")
        counts.update(
            db.session.execute(
                sa.select(column, sa.func.count())
                .where(Case.state == state, column.is_not(None))
                .group_by(column)
            ).all()
        )
    neutrals = db.session.scalars(
        sa.select(User).where(User.role.in_(("mediator", "arbitrator")), User.active)
    ).all()
    loads = [Load(n, counts.get(n.id, 0), n.caseload_ceiling or DEFAULT_CEILING) for n in neutrals]
    return sorted(loads, key=lambda load: (-load.open_cases / load.ceiling, load.neutral.name))
