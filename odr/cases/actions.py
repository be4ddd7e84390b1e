"""The core's own actions: their parameters and effects (consent, performance, breach,
messages and notes). Each capability registers its own actions the same way."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from odr import clock
from odr.cases.guards import GuardContext
from odr.cases.hooks import effect, on_enter, parameters
from odr.cases.models import Case, Message
from odr.extensions import db
from odr.validation import FieldReader
from odr.workflow import Transition


def validate_reason(params: dict[str, Any], field: str = "reason", required: bool = False) -> dict:
    reader = FieldReader()
    value = reader.string(params, field, field, max_length=2000, required=required, multiline=True)
    reader.raise_if_errors()
    return {**params, field: value}


@parameters("reject")
def _required_reason(params: dict[str, Any]) -> dict[str, Any]:
    return validate_reason(params, required=True)


parameters("escalate")(validate_reason)
parameters("withdraw")(validate_reason)


@parameters("fail_mediation")
@parameters("declare_performance")
@parameters("report_breach")
def _optional_note(params: dict[str, Any]) -> dict[str, Any]:
    return validate_reason(params, "note")


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


def message_channel(params: dict[str, Any]) -> str:
    """The channel a message is meant for: the one named, else a mediator's caucus with the
    party named, else the joint channel."""
    return params.get("channel") or ("private" if params.get("party") else "joint")


@parameters("post_message")
def _check_message(params: dict[str, Any]) -> dict[str, Any]:
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


@parameters("write_note")
def _check_note(params: dict[str, Any]) -> dict[str, Any]:
    return {**_check_message({"body": params.get("body")}), "channel": "notes"}


@effect("post_message")
@effect("write_note")
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
    return {"message": message.id, "channel": channel, "party": party}
