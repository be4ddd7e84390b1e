"""Where a dispute stands and what happens next, for the dispute page: the bar
(`odr.cases.stages`) and the next steps (`odr.cases.next_steps`) of one reader.

Only the words are written in those modules, per state and per timeout; `undescribed()` names
every state, timeout, reminded role and neutral of a workflow that has none, and a test keeps that
list empty, so a state added to the workflow without words fails the suite rather than the page
(the page falls back to the state's label).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from odr.cases.next_steps import CLOSED, NEXT, OTHERWISE, REMINDED, WAITING, NextStep, next_steps
from odr.cases.stages import FINAL_PLACES, PLACES, Facts, Stage, stages
from odr.workflow import get_workflow


@dataclass(frozen=True)
class Progress:
    stages: list[Stage]
    next_steps: list[NextStep]
    closed: bool


def for_page(view: Any, events: Sequence[Any] = ()) -> Progress:
    """The bar and the next steps of the dispute page, for its reader."""
    case, facts = view.case, Facts.of(view, events)
    workflow = get_workflow(case.workflow, case.workflow_version)
    return Progress(
        stages(case, facts, workflow),
        next_steps(case, view.role, facts, workflow),
        workflow.is_final(case.state),
    )


def undescribed(definition: dict[str, Any]) -> list[str]:
    """What a workflow definition has that this module has no words or place for; empty when
    every state, timeout, reminder and waiting neutral can be told on the page."""
    missing = []
    transitions = definition.get("transitions", [])
    for name, state in definition.get("states", {}).items():
        if state.get("final"):
            if name not in CLOSED:
                missing.append(f"closed state {name!r} has no words in CLOSED")
            if name not in FINAL_PLACES:
                missing.append(f"closed state {name!r} has no place on the bar")
            continue
        if name not in NEXT:
            missing.append(f"state {name!r} has no words in NEXT")
        if name not in PLACES:
            missing.append(f"state {name!r} has no place on the bar")
        deadline = state.get("deadline") or {}
        for rule in (deadline, deadline.get("waiting") or {}):
            for role in rule.get("remind", []):
                if role not in REMINDED:
                    missing.append(f"state {name!r}: no words for reminding {role!r}")
        if "waiting" in deadline and state.get("neutral") not in WAITING:
            missing.append(f"state {name!r}: no words for waiting for its {state.get('neutral')}")
        timeout = deadline.get("timeout")
        for entry in transitions:
            sources = [entry["source"]] if isinstance(entry["source"], str) else entry["source"]
            fired = entry["trigger"] == timeout and name in sources and "system" in entry["roles"]
            if fired and (timeout, entry["dest"]) not in OTHERWISE:
                missing.append(
                    f"state {name!r}: no words for its timeout {timeout!r} "
                    f"leading to {entry['dest']!r}"
                )
    return missing
