"""Binding acts ask first: which acts they are, and what the confirmation step says they do.

On the web pages an act that binds someone or cannot be undone (accepting terms, withdrawing,
consenting to arbitration, confirming performance or reporting a breach, recusing, closing
mediation as failed) does not happen on the first press: the first press shows what will happen,
with the amounts, the date and its time zone, and the parties' names; only a second, explicit
press with the version the person read does it. The API is not asked: a client confirms by
calling.

`ask` checks what `fire` would check before it changes anything (who may act, the parameters,
the version, the guards) and raises the same errors, so a first press that cannot succeed is
answered like a change that failed. It reads the transition the act would take, so the summary
says what really follows (a failed mediation goes to arbitration only when both consented).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from flask_babel import gettext as _

from odr.cases import performance
from odr.cases.firing import refuse_unless_allowed
from odr.cases.hooks import PARAMETERS
from odr.cases.labels import REMEDY_LABELS
from odr.cases.models import Case
from odr.cases.reading import load_context
from odr.cases.terms import award_of, settled_on
from odr.errors import Conflict, StaleVersion
from odr.i18n import format_money
from odr.policy import case_role, decide
from odr.workflow import get_workflow

BINDING_ACTS = frozenset(
    {
        "accept_offer",
        "accept_proposal",
        "withdraw",
        "consent_to_arbitration",
        "confirm_performance",
        "report_breach",
        "recuse",
        "fail_mediation",
    }
)
CARRIED = ("reason", "note")  # what a first form may carry to the confirming one
MONEY_REMEDIES = frozenset({"refund", "partial_refund", "return_and_refund"})


def is_binding(action: str) -> bool:
    return action in BINDING_ACTS


Step = Literal["act", "ask", "back"]


def step(action: str, form: Mapping[str, str]) -> Step:
    """What a press of an action's button asks for: `act` for a harmless action or a confirmed
    binding one (the confirming form carries `confirm=yes` and the version that was read),
    `back` for "Go back" on the confirmation step, else `ask`."""
    if not is_binding(action):
        return "act"
    answer = form.get("confirm")
    if answer == "yes" and form.get("version", "").isdigit():
        return "act"
    return "back" if answer == "no" else "ask"


@dataclass(frozen=True)
class Terms:
    """What the merchant is to do, by when, where that day ends."""

    amount_minor: int
    currency: str
    remedy: str
    text: str
    due: date | None
    zone: str | None


@dataclass
class Confirmation:
    """The confirmation step of one binding act: what it does, in sentences in the reader's
    language, the terms it binds to, and what the first form carried."""

    case: Case
    action: str
    summary: list[str]
    closing: str
    terms: Terms | None = None
    carried: dict[str, str] = field(default_factory=dict)


def ask(
    case: Case,
    actor: Any,
    action: str,
    params: dict[str, Any],
    *,
    expected_version: int | None,
) -> Confirmation:
    """The confirmation step of a binding act fired by name, or the error firing it now would
    raise; changes nothing."""
    refuse_unless_allowed(case, action, actor)
    checker = PARAMETERS.get(action)
    checked = checker(params) if checker is not None else dict(params)
    if expected_version is not None and case.version != expected_version:
        raise StaleVersion("the dispute has changed since you read it")
    role = case_role(actor, case)
    ctx = load_context(case, actor, role, checked)
    decision = decide(get_workflow(case.workflow, case.workflow_version), ctx, action)
    if not decision.allowed:
        raise Conflict(decision.reason, action=action, state=case.state)
    dest = decision.transition.dest if decision.transition else None
    carried = {name: checked[name] for name in CARRIED if checked.get(name)}
    summary, closing, terms = SUMMARIES[action](case, role, ctx, dest)
    return Confirmation(case, action, summary, closing, terms, carried)


# ---- what each act says -----------------------------------------------------------------------


def _names(case: Case) -> dict[str, str]:
    return {"claimant": case.claimant_name, "respondent": case.respondent_name}


def _other(case: Case, role: str | None) -> str:
    return _names(case)["respondent" if role == "claimant" else "claimant"]


def _terms_sentence(case: Case, terms: Terms) -> str:
    """What the merchant must do, with the amount and the moment the time runs out."""
    facts = {
        "merchant": case.respondent_name,
        "amount": format_money(terms.amount_minor, terms.currency),
        "remedy": str(REMEDY_LABELS.get(terms.remedy, terms.remedy)),
        "deadline": performance.deadline_text(terms.due, terms.zone),
    }
    if terms.remedy in MONEY_REMEDIES and terms.amount_minor:
        return _("%(merchant)s pays %(amount)s by %(deadline)s.", **facts)
    if terms.amount_minor:
        return _("%(merchant)s provides: %(remedy)s (%(amount)s), by %(deadline)s.", **facts)
    return _("%(merchant)s provides: %(remedy)s, by %(deadline)s.", **facts)


def _offer_terms(case: Case, ctx: Any) -> Terms:
    """The accepted offer's terms as the settlement will state them: an offer without a date
    is due the settlement's default number of days from today, where the merchant is."""
    wanted = ctx.params["offer"]
    offer = next(offer for offer in ctx.offers if offer.id == wanted.id)
    zone = offer.performance_zone or performance.respondent_zone(case)
    due = offer.performance_due or performance.default_due(
        zone, performance.default_days(case, "settled")
    )
    return Terms(offer.amount_minor, offer.currency, offer.remedy, offer.terms, due, zone)


def _agreed_terms(case: Case) -> Terms:
    """The terms a settled or awarded case is to be performed on (those its document states)."""
    if case.state == "settled":
        agreed, _mediator = settled_on(case)
        amount, currency, text = agreed.amount_minor, agreed.currency, agreed.terms
    else:
        agreed = award_of(case)
        amount, currency, text = agreed.amount_minor, agreed.currency, agreed.reasons
    return Terms(
        amount if amount is not None and currency is not None else 0,
        currency if amount is not None and currency is not None else case.claim_currency,
        agreed.remedy,
        text,
        case.performance_due,
        case.performance_zone,
    )


Summary = tuple[list[str], str, Terms | None]


def _accept_offer(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    terms = _offer_terms(case, ctx)
    return (
        [
            _(
                "This settles the dispute %(reference)s with %(other)s on the terms of this offer:",
                reference=case.reference,
                other=_other(case, role),
            ),
            _terms_sentence(case, terms),
            _("Other open offers lapse, and the settlement agreement is issued as a PDF."),
        ],
        _("It is binding: you cannot take it back."),
        terms,
    )


def _accept_proposal(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    proposal = ctx.proposal
    terms = Terms(
        proposal.amount_minor,
        proposal.currency,
        proposal.remedy,
        proposal.terms,
        proposal.performance_due,
        proposal.performance_zone,
    )
    other = _other(case, role)
    if dest == "settled":
        lead = [
            _(
                "%(other)s has already accepted the mediator's proposal: your acceptance "
                "settles the dispute %(reference)s on its terms:",
                other=other,
                reference=case.reference,
            ),
            _terms_sentence(case, terms),
            _("The settlement agreement is issued as a PDF."),
        ]
        return lead, _("It is binding: you cannot take it back."), terms
    lead = [
        _(
            "You accept the mediator's proposal. %(other)s has not accepted it yet; once they "
            "do, the dispute %(reference)s is settled on its terms:",
            other=other,
            reference=case.reference,
        ),
        _terms_sentence(case, terms),
        _("If %(other)s declines the proposal, mediation goes on.", other=other),
    ]
    closing = _(
        "Your acceptance is binding: you cannot take it back or decline the proposal later."
    )
    return lead, closing, terms


def _withdraw(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    claim = {
        "remedy": str(REMEDY_LABELS.get(case.claim_remedy, case.claim_remedy)),
        "amount": format_money(case.claim_amount_minor, case.claim_currency),
    }
    return (
        [
            _(
                "Withdrawing ends the dispute %(reference)s against %(merchant)s for good: it is "
                "closed as withdrawn and cannot be reopened.",
                reference=case.reference,
                merchant=case.respondent_name,
            ),
            _(
                "Your claim (%(remedy)s, %(amount)s) is no longer pursued on this platform.",
                **claim,
            ),
        ],
        _("It is final: you cannot undo it."),
        None,
    )


def _consent_to_arbitration(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    other = _other(case, role)
    other_role = "respondent" if role == "claimant" else "claimant"
    if getattr(case, f"{other_role}_arbitration_consent"):
        after = _(
            "%(other)s has consented too: if mediation does not settle the dispute, it goes to "
            "arbitration.",
            other=other,
        )
    else:
        after = _(
            "%(other)s has not consented yet: arbitration needs the consent of both parties.",
            other=other,
        )
    return (
        [
            _(
                "You agree that, if mediation does not settle the dispute %(reference)s, an "
                "arbitrator decides it, and that the arbitrator's award binds you.",
                reference=case.reference,
            ),
            after,
        ],
        _("It is binding: you cannot take your consent back."),
        None,
    )


def _confirm_performance(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    terms = _agreed_terms(case)
    if case.state == "settled":
        lead = _(
            "You confirm that %(merchant)s has done what the settlement requires:",
            merchant=case.respondent_name,
        )
    else:
        lead = _(
            "You confirm that %(merchant)s has done what the award requires:",
            merchant=case.respondent_name,
        )
    return (
        [
            lead,
            _terms_sentence(case, terms),
            _(
                "The dispute %(reference)s is then closed as resolved, and you can no longer "
                "report a breach.",
                reference=case.reference,
            ),
        ],
        _("It is final: you cannot undo it."),
        terms,
    )


def _report_breach(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    terms = _agreed_terms(case)
    if dest == "arbitration":
        after = _(
            "Both parties have consented to arbitration, so the dispute %(reference)s goes to "
            "arbitration: an arbitrator decides it with an award that binds both parties.",
            reference=case.reference,
        )
    else:
        after = _(
            "The dispute %(reference)s is closed as not complied with, for good.",
            reference=case.reference,
        )
    return (
        [
            _(
                "You report that %(merchant)s has not done what was agreed:",
                merchant=case.respondent_name,
            ),
            _terms_sentence(case, terms),
            after,
        ],
        _("It is final: you cannot undo it."),
        terms,
    )


def _recuse(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    if role == "mediator":
        lead = _(
            "You step down as the mediator of the dispute %(reference)s.", reference=case.reference
        )
        after = _(
            "The dispute goes back for reassignment: another mediator is chosen by the rules, "
            "never you again, and you no longer see the dispute."
        )
    else:
        lead = _(
            "You step down as the arbitrator of the dispute %(reference)s.",
            reference=case.reference,
        )
        after = _(
            "The dispute goes back for reassignment: another arbitrator is chosen by the rules, "
            "never you again, and you no longer see the dispute."
        )
    return [lead, after], _("It is final: you cannot undo it."), None


def _fail_mediation(case: Case, role: str | None, ctx: Any, dest: str | None) -> Summary:
    lead = _(
        "Mediation of the dispute %(reference)s between %(consumer)s and %(merchant)s ends "
        "without agreement.",
        reference=case.reference,
        consumer=case.claimant_name,
        merchant=case.respondent_name,
    )
    if dest == "arbitration":
        after = _(
            "Both parties have consented to arbitration, so the dispute goes to arbitration: an "
            "arbitrator decides it with an award that binds both parties."
        )
    else:
        after = _(
            "The parties have not both consented to arbitration, so the dispute is closed as "
            "unresolved, for good."
        )
    return [lead, after], _("It is final: you cannot undo it."), None


SUMMARIES = {
    "accept_offer": _accept_offer,
    "accept_proposal": _accept_proposal,
    "withdraw": _withdraw,
    "consent_to_arbitration": _consent_to_arbitration,
    "confirm_performance": _confirm_performance,
    "report_breach": _report_breach,
    "recuse": _recuse,
    "fail_mediation": _fail_mediation,
}
