"""`docs/lifecycle.md`, written from the workflow definition so that it cannot drift from it.

`make lifecycle` (the CLI's `odr workflows draw`) writes it; a test fails when the file in the
tree differs from what the definition gives now. The page has the diagram (states, actions and
the deadlines as notes), then the states with their deadlines and the actions with who may fire
them from where and under which conditions, all in English.
"""

from __future__ import annotations

from typing import Any

from odr.cases.hooks import registrations
from odr.workflow import Workflow, mermaid

HEADER = (
    "# The dispute lifecycle\n\n"
    "Written by `make lifecycle` from `workflows/{name}.py` (version {version}); do not edit by "
    "hand: a test compares this file with the definition.\n\n"
    "Deadlines are calendar days from entering the state. `system` is the sweep, firing the "
    "action named when a deadline passes.\n\n"
)


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def deadline_text(deadline: dict[str, Any] | None) -> str:
    """One state's deadline rule in words: how long, and what happens when it passes."""
    if not deadline:
        return "none"
    if deadline.get("performance_due"):
        length = (
            f"the performance date (default {deadline['days']} days), until 23:59 where the "
            "merchant is"
        )
    else:
        length = _days(deadline["days"])
        if deadline.get("answered_days"):
            length += f" ({deadline['answered_days']} once the merchant has answered)"
    if deadline.get("timeout"):
        then = f"then `{deadline['timeout']}` fires"
    else:
        then = "then " + ", ".join(deadline.get("remind", [])) + " reminded"
        if deadline.get("rearm"):
            then += ", again every " + ("day" if deadline["days"] == 1 else _days(deadline["days"]))
    text = f"{length}; {then}"
    if deadline.get("waiting"):
        text += "; while no mediator or arbitrator is assigned: " + deadline_text(
            deadline["waiting"]
        )
    return text


def _short_deadline(deadline: dict[str, Any]) -> str:
    length = "performance date" if deadline.get("performance_due") else f"{deadline['days']} d"
    if deadline.get("timeout"):
        return f"{length} → {deadline['timeout']}"
    return f"{length} → remind {', '.join(deadline.get('remind', []))}"


def diagram(workflow: Workflow) -> str:
    """The state diagram with each deadline as a note beside its state."""
    lines = mermaid(workflow).rstrip("\n").split("\n")
    for name, state in workflow.states.items():
        if state.get("deadline"):
            lines.append(f"    note right of {name}: {_short_deadline(state['deadline'])}")
    return "\n".join(lines) + "\n"


def _listed(value: str | list[str] | None) -> list[str]:
    """A definition's key that `transitions` takes as one name or a list of them."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _sources(entry: dict[str, Any]) -> str:
    return ", ".join(f"`{source}`" for source in _listed(entry["source"]))


def lifecycle_document(workflow: Workflow) -> str:
    """The whole page, in English."""
    out = [HEADER.format(name=workflow.name, version=workflow.version)]
    out.append("## Diagram\n\n```mermaid\n" + diagram(workflow) + "```\n\n")
    out.append("## States\n\n| State | Label | Deadline |\n|---|---|---|\n")
    for name, state in workflow.states.items():
        label = str(state["label"]) + (" (final)" if state.get("final") else "")
        out.append(f"| `{name}` | {label} | {deadline_text(state.get('deadline'))} |\n")
    out.append(
        "\n## Actions\n\n| Action | Label | From | To | Who may fire it | Conditions |\n"
        "|---|---|---|---|---|---|\n"
    )
    for entry in workflow.definition["transitions"]:
        action = entry["trigger"]
        label = str(workflow.actions[action]["label"])
        dest = f"`{entry['dest']}`" if entry["dest"] else "(stays)"
        roles = ", ".join(entry.get("roles", [])) or "—"
        conditions = ", ".join(f"`{c}`" for c in _listed(entry.get("conditions"))) or "—"
        out.append(
            f"| `{action}` | {label} | {_sources(entry)} | {dest} | {roles} | {conditions} |\n"
        )
    out.append(_registrations())
    return "".join(out)


def _registrations() -> str:
    """What the capabilities registered with the case core, in the order it runs."""
    out = [
        "\n## What happens on each event\n\n"
        "What each module registered with the case core (`odr/cases/hooks.py`) when the app "
        "factory loaded it (`odr/capabilities.py`), in the order it runs.\n\n"
        "| Registry | Event | Function |\n|---|---|---|\n"
    ]
    for registry, key, function in registrations():
        out.append(f"| `{registry}` | {f'`{key}`' if key else '—'} | `{function}` |\n")
    return "".join(out)
