"""The guard registry: named conditions the workflow definition refers to.

Guards have no side effects and run no queries of their own: "what may I do now" evaluates them for
every action on every page, from the context loaded once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GUARDS: dict[str, Callable[[GuardContext], bool]] = {}


@dataclass
class GuardContext:
    case: Any
    actor: Any
    role: str
    params: dict[str, Any] = field(default_factory=dict)
    offers: list[Any] = field(default_factory=list)

    @property
    def other_party(self) -> str | None:
        return {"claimant": "respondent", "respondent": "claimant"}.get(self.role)


def guard(name: str) -> Callable:
    def register(function: Callable[[GuardContext], bool]) -> Callable[[GuardContext], bool]:
        GUARDS[name] = function
        return function

    return register


@guard("open_offer_from_other_party")
def open_offer_from_other_party(ctx: GuardContext) -> bool:
    wanted = ctx.params.get("offer")
    return any(
        offer.status == "open"
        and offer.by == ctx.other_party
        and (wanted is None or offer.id == wanted.id)
        for offer in ctx.offers
    )


@guard("both_consented")
def both_consented(ctx: GuardContext) -> bool:
    return ctx.case.claimant_arbitration_consent and ctx.case.respondent_arbitration_consent


@guard("party_not_yet_consented")
def party_not_yet_consented(ctx: GuardContext) -> bool:
    if ctx.role == "claimant":
        return not ctx.case.claimant_arbitration_consent
    if ctx.role == "respondent":
        return not ctx.case.respondent_arbitration_consent
    return False


@guard("mediator_assigned")
def mediator_assigned(ctx: GuardContext) -> bool:
    return ctx.case.mediator_id is not None


@guard("arbitrator_assigned")
def arbitrator_assigned(ctx: GuardContext) -> bool:
    return ctx.case.arbitrator_id is not None


# Mediation proposals arrive with the mediation work (issue 4); until a case can hold one, there is
# never a proposal to answer.
@guard("proposal_awaits_party")
def proposal_awaits_party(ctx: GuardContext) -> bool:
    return False


@guard("other_party_accepted_proposal")
def other_party_accepted_proposal(ctx: GuardContext) -> bool:
    return False


@guard("performance_declared")
def performance_declared(ctx: GuardContext) -> bool:
    return ctx.case.performance_declared_at is not None and ctx.case.breach_reported_at is None


@guard("performance_not_yet_declared")
def performance_not_yet_declared(ctx: GuardContext) -> bool:
    return ctx.case.performance_declared_at is None


@guard("partner_available")
def partner_available(ctx: GuardContext) -> bool:
    """The partner directory arrives with referrals (issue 7); until then there is none."""
    return False


@guard("outcome_resolved")
def outcome_resolved(ctx: GuardContext) -> bool:
    return ctx.params.get("outcome") in ("settled", "awarded")


@guard("outcome_withdrawn")
def outcome_withdrawn(ctx: GuardContext) -> bool:
    return ctx.params.get("outcome") == "withdrawn"
