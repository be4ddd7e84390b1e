"""The stage bar of the dispute page: lodged → negotiation → mediation → arbitration →
settled/awarded → performed, or the partner agency's route.

Drawn from the case's state and what the page has already loaded (the offers, the latest
proposal, the award, the newest referral, the page of the timeline); no query of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr.cases.labels import OUTCOME_LABELS
from odr.workflow import Workflow, get_workflow


@dataclass(frozen=True)
class Stage:
    """One step of the bar. `status`: done, current, skipped, upcoming, or ended (the step where
    a closed dispute stopped, named by its outcome)."""

    key: str
    label: str
    status: str
    note: str = ""

    @property
    def is_current(self) -> bool:
        return self.status in ("current", "ended")


@dataclass(frozen=True)
class Facts:
    """What the dispute page has loaded that the progress reads."""

    offers: Sequence[Any] = ()
    proposal: Any = None
    award: Any = None
    statements: Sequence[Any] = ()
    referral: Any = None
    agency: Any = None
    users: Mapping[int, Any] = field(default_factory=dict)
    events: Sequence[Any] = ()  # the page of the timeline shown, newest first

    @classmethod
    def of(cls, view: Any, events: Sequence[Any] = ()) -> Facts:
        referral, agency = view.referral or (None, None)
        return cls(
            offers=view.offers or (),
            proposal=view.proposal,
            award=view.award,
            statements=view.statements or (),
            referral=referral,
            agency=agency,
            users=view.users,
            events=events,
        )


MAIN_ROUTE = ("lodged", "negotiation", "mediation", "arbitration", "outcome", "performed")
PARTNER_ROUTE = ("lodged", "negotiation", "referred", "with_partner", "partner_outcome")
# Where each open state stands on the bar.
PLACES = {
    "filed": "lodged",
    "negotiation": "negotiation",
    "mediation": "mediation",
    "arbitration": "arbitration",
    "settled": "outcome",
    "awarded": "outcome",
    "referred": "referred",
    "with_partner": "with_partner",
}
STAGE_LABELS = {
    "lodged": _l("Lodged"),
    "outcome": _l("Settlement or award"),
    "performed": _l("Performed"),
    "partner_outcome": _l("Outcome at the partner agency"),
}
# Closed states, by the stage where the dispute stopped: the stage itself (resolved) or one after
# it, named by the outcome.
FINAL_PLACES = {
    "resolved": "performed",
    "non_compliant": "outcome",
    "unresolved": "mediation",
    "rejected": "lodged",
    "withdrawn": None,  # where it was withdrawn: see _withdrawn_at
}


def stages(case: Any, facts: Facts, workflow: Workflow | None = None) -> list[Stage]:
    """The bar: lodged → negotiation → mediation → arbitration → settled/awarded → performed,
    or the partner agency's route; passed stages done, skipped ones skipped, a closed dispute's
    bar ending where it stopped with the outcome named."""
    workflow = workflow or get_workflow(case.workflow, case.workflow_version)
    if _on_partner_route(case, facts):
        return _partner_stages(case, facts, workflow)
    return _main_stages(case, facts, workflow)


def stage_label(workflow: Workflow, key: str) -> str:
    if key in STAGE_LABELS:
        return str(STAGE_LABELS[key])
    return str(workflow.states[key]["label"]) if key in workflow.states else key


def _state_changes(facts: Facts) -> list[tuple[str, str]]:
    """The (from, to) state changes on the page of the timeline, newest first."""
    return [
        (event.data["from"], event.data["to"])
        for event in facts.events
        if isinstance(event.data, dict)
        and event.data.get("from")
        and event.data.get("to")
        and event.data["from"] != event.data["to"]
    ]


def _left(facts: Facts, to: str) -> str | None:
    """The state the newest loaded change into `to` came from (None: not on this page)."""
    return next((before for before, after in _state_changes(facts) if after == to), None)


def _settled_in_negotiation(facts: Facts) -> bool:
    """An accepted offer: the case went from negotiation straight to settled, past mediation."""
    return any(offer.status == "accepted" for offer in facts.offers)


def _negotiated(case: Any, facts: Facts) -> bool:
    return bool(
        case.respondent_answered_at
        or facts.offers
        or any("negotiation" in change for change in _state_changes(facts))
    )


def _on_partner_route(case: Any, facts: Facts) -> bool:
    if case.state in ("referred", "with_partner"):
        return True
    referral = facts.referral
    # a referral declined or expired came back here: the main route goes on
    return referral is not None and referral.status in ("accepted", "closed", "withdrawn")


def _main_stages(case: Any, facts: Facts, workflow: Workflow) -> list[Stage]:
    state, final = case.state, workflow.is_final(case.state)
    if final:
        stop = FINAL_PLACES.get(state) or _withdrawn_at(case, facts)
    elif state not in PLACES:  # a state with no place yet: where it is, said truthfully
        return [Stage("lodged", stage_label(workflow, "lodged"), "done"), _current(workflow, state)]
    else:
        stop = PLACES[state]
    stop_at = MAIN_ROUTE.index(stop)
    awarded = facts.award is not None or state == "awarded"
    skipped = {"mediation"} if _settled_in_negotiation(facts) else set()
    if not awarded and stop_at > MAIN_ROUTE.index("arbitration"):
        skipped.add("arbitration")
    bar = []
    for at, key in enumerate(MAIN_ROUTE):
        label = stage_label(workflow, key)
        if key == "outcome" and at <= stop_at:
            label = stage_label(workflow, "awarded" if awarded else "settled")
        if at > stop_at:
            if not final:
                bar.append(Stage(key, label, "upcoming"))
        elif at == stop_at and state == "resolved":
            bar.append(Stage(key, label, "ended", stage_label(workflow, "resolved")))
        elif at < stop_at or final:
            bar.append(Stage(key, label, "skipped" if key in skipped else "done"))
        else:
            breached = state == "arbitration" and case.breach_reported_at is not None
            note = _("after a reported breach of the settlement") if breached else ""
            bar.append(Stage(key, label, "current", note))
    if final and state != "resolved":
        bar.append(Stage(state, stage_label(workflow, state), "ended"))
    return bar


def _current(workflow: Workflow, state: str) -> Stage:
    return Stage(state, stage_label(workflow, state), "current")


def _withdrawn_at(case: Any, facts: Facts) -> str:
    """The stage a withdrawn dispute stopped in: the change on the page of the timeline, else
    the furthest stage the case's records show."""
    left = _left(facts, "withdrawn")
    if left is not None:
        return PLACES.get(left, "lodged")
    if case.arbitrator_id is not None or facts.award is not None:
        return "arbitration"
    if case.mediator_id is not None or facts.proposal is not None:
        return "mediation"
    return "negotiation" if _negotiated(case, facts) else "lodged"


def _partner_stages(case: Any, facts: Facts, workflow: Workflow) -> list[Stage]:
    referral, state = facts.referral, case.state
    final = workflow.is_final(state)
    refer_from = _left(facts, "referred")
    negotiated = refer_from == "negotiation" or (refer_from is None and _negotiated(case, facts))
    keys = [key for key in PARTNER_ROUTE if key != "negotiation" or negotiated]
    if final:
        accepted = referral is not None and (
            referral.status in ("accepted", "closed") or bool(referral.partner_reference)
        )
        stop = "with_partner" if accepted else "referred"
    else:
        stop = PLACES[state]
    stop_at = keys.index(stop)
    bar = []
    for at, key in enumerate(keys):
        if at < stop_at or (at == stop_at and final):
            bar.append(Stage(key, stage_label(workflow, key), "done"))
        elif at == stop_at:
            bar.append(Stage(key, stage_label(workflow, key), "current"))
        elif not final:
            bar.append(Stage(key, stage_label(workflow, key), "upcoming"))
    if final:
        outcome = referral.outcome if referral is not None and referral.status == "closed" else None
        label = str(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else None
        bar.append(Stage(state, label or stage_label(workflow, state), "ended"))
    return bar
