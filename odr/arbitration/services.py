"""Arbitration: each party's statement, and the award."""

from __future__ import annotations

from typing import Any

from odr.arbitration.models import Award, Statement
from odr.cases.guards import GuardContext
from odr.cases.hooks import effect, parameters
from odr.cases.performance import set_case_performance, terms_performance
from odr.extensions import db
from odr.mediation.services import parse_terms
from odr.validation import FieldReader
from odr.workflow import Transition


@parameters("submit_statement")
def _check_statement(params: dict[str, Any]) -> dict[str, Any]:
    reader = FieldReader()
    body = reader.string(params, "body", "body", max_length=20000, multiline=True)
    reader.raise_if_errors()
    return {"body": body}


@effect("submit_statement")
def _record_statement(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    statement = Statement(
        case_id=ctx.case.id, party=ctx.role, author_id=ctx.actor.id, body=ctx.params["body"]
    )
    db.session.add(statement)
    db.session.flush()
    return {"statement": statement.id, "party": ctx.role}


@parameters("issue_award")
def _check_award(params: dict[str, Any]) -> dict[str, Any]:
    return parse_terms(params, text_field="reasons")


@effect("issue_award")
def _record_award(ctx: GuardContext, transition: Transition) -> dict[str, Any]:
    amount_minor, currency = ctx.params["amount"]
    due, zone = terms_performance(ctx.case, ctx.params["performance_due"], "awarded")
    award = Award(
        case_id=ctx.case.id,
        arbitrator_id=ctx.actor.id,
        amount_minor=amount_minor,
        currency=currency,
        remedy=ctx.params["remedy"],
        reasons=ctx.params["reasons"],
        performance_due=due,
        performance_zone=zone,
    )
    db.session.add(award)
    db.session.flush()
    set_case_performance(ctx.case, award.performance_due, award.performance_zone, "awarded")
    return {"award": award.public_id, "amount": amount_minor, "currency": currency}
