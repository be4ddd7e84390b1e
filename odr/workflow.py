"""Builds one shared `transitions` machine per workflow and version, after validating the data.

The definition in `workflows/` is the only place the lifecycle is written down. Everything that asks
"what may happen now" (the `fire` service, the `actions` of the API, the buttons on the page) reads
the same `Workflow` object built here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

CASE_ROLES = (
    "claimant",
    "respondent",
    "mediator",
    "arbitrator",
    "case_manager",
    "partner",
    "system",
)
_OUR_TRANSITION_KEYS = ("roles",)

# The named conditions the definitions refer to. Guard functions register here when their module
# is loaded (`odr/cases/guards.py`, a capability's own); a name with no function refuses to start.
GUARDS: dict[str, Callable[[Any], bool]] = {}


def guard(name: str) -> Callable:
    def register(function: Callable[[Any], bool]) -> Callable[[Any], bool]:
        GUARDS[name] = function
        return function

    return register


class WorkflowError(Exception):
    """The workflow definition is inconsistent; the application refuses to start."""


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    dest: str | None
    roles: frozenset[str]
    conditions: tuple[str, ...]


@dataclass
class Workflow:
    name: str
    version: int
    definition: dict[str, Any]
    machine: Machine
    by_action_state: dict[tuple[str, str], list[Transition]] = field(default_factory=dict)
    roles_by_action: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def states(self) -> dict[str, dict[str, Any]]:
        return self.definition["states"]

    @property
    def actions(self) -> dict[str, dict[str, Any]]:
        return self.definition["actions"]

    def transitions_for(self, action: str, state: str) -> list[Transition]:
        return self.by_action_state.get((action, state), [])

    def is_final(self, state: str) -> bool:
        return bool(self.states[state].get("final"))


def _sources(entry: dict[str, Any]) -> list[str]:
    source = entry["source"]
    return [source] if isinstance(source, str) else list(source)


def validate(definition: dict[str, Any], guards: dict[str, Callable]) -> list[str]:
    """Every problem with a definition, as sentences; an empty list means it may be built."""
    problems: list[str] = []
    states = definition.get("states", {})
    actions = definition.get("actions", {})
    for name, state in states.items():
        if "label" not in state:
            problems.append(f"state {name!r} has no label")
    for name, action in actions.items():
        if "label" not in action:
            problems.append(f"action {name!r} has no label")
    for initial in definition.get("initial_states", []):
        if initial not in states:
            problems.append(f"initial state {initial!r} is not declared")
    edges: dict[str, set[str]] = {name: set() for name in states}
    triggered: set[str] = set()
    for entry in definition.get("transitions", []):
        trigger = entry.get("trigger")
        triggered.add(trigger)
        if trigger not in actions:
            problems.append(f"transition trigger {trigger!r} is not a declared action")
        for source in _sources(entry):
            if source not in states:
                problems.append(f"{trigger}: unknown source state {source!r}")
            elif entry["dest"] is not None:
                edges[source].add(entry["dest"])
        if entry["dest"] is not None and entry["dest"] not in states:
            problems.append(f"{trigger}: unknown destination state {entry['dest']!r}")
        for guard in entry.get("conditions", []):
            if guard not in guards:
                problems.append(f"{trigger}: guard {guard!r} has no registered function")
        roles = entry.get("roles") or []
        if not roles:
            problems.append(f"{trigger}: no roles may fire it")
        for role in roles:
            if role not in CASE_ROLES:
                problems.append(f"{trigger}: unknown role {role!r}")
    for name in actions:
        if name not in triggered:
            problems.append(f"action {name!r} has no transition")
    reachable, queue = set(), deque(definition.get("initial_states", []))
    while queue:
        state = queue.popleft()
        if state in reachable or state not in edges:
            continue
        reachable.add(state)
        queue.extend(edges[state])
    for name in states:
        if name not in reachable:
            problems.append(f"state {name!r} is unreachable")
    for name, state in states.items():
        deadline = state.get("deadline")
        if not deadline:
            continue
        if "waiting" in deadline and not state.get("neutral"):
            problems.append(f"state {name!r}: a waiting deadline needs a neutral to wait for")
        waiting = deadline.get("waiting", {})
        if waiting and not waiting.get("remind"):
            problems.append(f"state {name!r}: the waiting deadline needs a reminder")
        timeout = deadline.get("timeout")
        if timeout is None and not deadline.get("remind"):
            problems.append(f"state {name!r}: a deadline needs a timeout action or a reminder")
        if timeout is not None:
            fired_by_system = any(
                entry["trigger"] == timeout
                and name in _sources(entry)
                and "system" in entry.get("roles", [])
                for entry in definition.get("transitions", [])
            )
            if not fired_by_system:
                problems.append(f"state {name!r}: timeout {timeout!r} is not a system action there")
    return problems


def build(definition: dict[str, Any], guards: dict[str, Callable]) -> Workflow:
    problems = validate(definition, guards)
    if problems:
        raise WorkflowError(f"workflow {definition.get('name')!r}: " + "; ".join(problems))
    machine_transitions = []
    for entry in definition["transitions"]:
        stripped = {k: v for k, v in entry.items() if k not in _OUR_TRANSITION_KEYS}
        # Guards are callables from the registry, never dotted strings transitions would import.
        stripped["conditions"] = [_condition(guards[name]) for name in entry.get("conditions", [])]
        machine_transitions.append(stripped)
    machine = Machine(
        model=None,
        states=list(definition["states"]),
        transitions=machine_transitions,
        initial=None,
        auto_transitions=False,
        send_event=True,
    )
    workflow = Workflow(definition["name"], definition["version"], definition, machine)
    roles: dict[str, set[str]] = {}
    for entry in definition["transitions"]:
        for source in _sources(entry):
            transition = Transition(
                action=entry["trigger"],
                source=source,
                dest=entry["dest"],
                roles=frozenset(entry["roles"]),
                conditions=tuple(entry.get("conditions", [])),
            )
            workflow.by_action_state.setdefault((transition.action, source), []).append(transition)
        roles.setdefault(entry["trigger"], set()).update(entry["roles"])
    workflow.roles_by_action = {action: frozenset(r) for action, r in roles.items()}
    return workflow


def _condition(guard: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda event_data: guard(event_data.kwargs["ctx"])


_workflows: dict[tuple[str, int], Workflow] = {}


def load_workflows() -> dict[tuple[str, int], Workflow]:
    """Validate and build every workflow once per process; later calls return the same machines."""
    if not _workflows:
        from workflows import WORKFLOWS

        built = {key: build(definition, GUARDS) for key, definition in WORKFLOWS.items()}
        _workflows.update(built)
    return _workflows


def get_workflow(name: str, version: int | None = None) -> Workflow:
    from workflows import CURRENT

    workflows = load_workflows()
    return workflows[(name, version if version is not None else CURRENT[name])]


def mermaid(workflow: Workflow) -> str:
    """The lifecycle as a Mermaid state diagram, for docs/."""
    lines = ["stateDiagram-v2"]
    lines += [f"    [*] --> {state}" for state in workflow.definition["initial_states"]]
    seen: set[tuple[str, str, str]] = set()
    for entry in workflow.definition["transitions"]:
        if entry["dest"] is None:
            continue
        for source in _sources(entry):
            edge = (source, entry["dest"], entry["trigger"])
            if edge not in seen:
                seen.add(edge)
                lines.append(f"    {source} --> {entry['dest']}: {entry['trigger']}")
    lines += [
        f"    {name} --> [*]" for name, state in workflow.states.items() if state.get("final")
    ]
    return "\n".join(lines) + "\n"
