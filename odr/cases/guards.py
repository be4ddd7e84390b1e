"""The guard registry: named conditions the workflow definition refers to.

Guards have no side effects and run no queries of their own: "what may I do now" evaluates them for
every action on every page, from the context. The context loads each part (the offers, the latest
proposal, the statements) once, when a guard first asks for it, so a timeout whose guards need
none of them costs no query for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from odr.workflow import GUARDS, get_workflow, guard

__all__ = ["GUARDS", "GuardContext", "guard"]


@dataclass
class GuardContext:
    case: Any
    actor: Any
    role: str
    params: dict[str, Any] = field(default_factory=dict)
    loaders: dict[str, Callable[[], Any]] = field(default_factory=dict)
    # What an effect adds to the notices of the change it makes (a partner's summary...).
    notice: dict[str, Any] = field(default_factory=dict)
    _loaded: dict[str, Any] = field(default_factory=dict)

    def _part(self, name: str, empty: Any) -> Any:
        if name not in self._loaded:
            loader = self.loaders.get(name)
            self._loaded[name] = loader() if loader else empty
        return self._loaded[name]

    @property
    def offers(self) -> list[Any]:
        return self._part("offers", [])

    @property
    def proposal(self) -> Any:
        """The latest proposal of the mediator, if any."""
        return self._part("proposal", None)

    @property
    def statements(self) -> list[Any]:
        return self._part("statements", [])

    @property
    def other_party(self) -> str | None:
        return {"claimant": "respondent", "respondent": "claimant"}.get(self.role)


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


def _open_proposal(ctx: GuardContext) -> Any:
    proposal = ctx.proposal
    return proposal if proposal is not None and proposal.status == "open" else None


@guard("proposal_awaits_party")
def proposal_awaits_party(ctx: GuardContext) -> bool:
    proposal = _open_proposal(ctx)
    return proposal is not None and getattr(proposal, f"{ctx.role}_answer", "x") is None


@guard("other_party_accepted_proposal")
def other_party_accepted_proposal(ctx: GuardContext) -> bool:
    proposal = _open_proposal(ctx)
    other = ctx.other_party
    return (
        proposal is not None
        and other is not None
        and (getattr(proposal, f"{other}_answer") == "accepted")
    )


@guard("channel_open")
def channel_open(ctx: GuardContext) -> bool:
    """The joint channel is open to every participant; a private channel (caucus) only in
    mediation, between one party and the assigned mediator."""
    channel = ctx.params.get("channel", "joint")
    if channel == "joint":
        return True
    if channel != "private" or ctx.case.state != "mediation" or ctx.case.mediator_id is None:
        return False
    if ctx.role == "mediator":
        return ctx.params.get("party") in ("claimant", "respondent")
    return ctx.role in ("claimant", "respondent") and ctx.params.get("party") in (None, ctx.role)


@guard("statement_window_open")
def statement_window_open(ctx: GuardContext) -> bool:
    from datetime import timedelta

    from odr import clock

    case = ctx.case
    if case.arbitrator_id is None or case.neutral_assigned_at is None:
        return False
    if any(statement.party == ctx.role for statement in ctx.statements):
        return False
    days = get_workflow(case.workflow, case.workflow_version).states[case.state]["statement_days"]
    return clock.now() <= case.neutral_assigned_at + timedelta(days=days)


@guard("performance_declared")
def performance_declared(ctx: GuardContext) -> bool:
    return ctx.case.performance_declared_at is not None and ctx.case.breach_reported_at is None


@guard("performance_not_yet_declared")
def performance_not_yet_declared(ctx: GuardContext) -> bool:
    return ctx.case.performance_declared_at is None


@guard("outcome_resolved")
def outcome_resolved(ctx: GuardContext) -> bool:
    return ctx.params.get("outcome") in ("settled", "awarded")


@guard("outcome_withdrawn")
def outcome_withdrawn(ctx: GuardContext) -> bool:
    return ctx.params.get("outcome") == "withdrawn"
