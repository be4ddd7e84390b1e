"""What the case core announces, and the registries its listeners join.

The core (`lodging`, `firing`) never names a capability. It announces what happens to a case, and
each capability registers, when the app factory loads it (`odr/capabilities.py`), what it does
then. Two kinds of registration:

- an action's own implementation: `parameters` (check its input before anything is written) and
  `effect` (what it records beyond the change of state), one per action;
- listeners, any number per event, run in the order their modules are loaded:
  `on_lodging` (a new case, before its first event: may route it, returns event data),
  `on_lodged` (after its first event), `on_fired` (an action fired, before its event is recorded,
  so what a listener writes is numbered with it), `after` (after the event), `on_leave` and
  `on_enter` (a state left and entered), `on_reminder` (a deadline that only reminds passed).

Every registration is listed by `registrations()`: `docs/lifecycle.md` shows them per event, and a
test fails when that page and the registries differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from odr.cases.guards import GuardContext
from odr.cases.models import Case
from odr.workflow import Transition

# action -> its effect, inside the transaction; returns the event data to record (ids, amounts).
Effect = Callable[[GuardContext, Transition], dict[str, Any]]
EFFECTS: dict[str, Effect] = {}
# action -> the check of its parameters, before anything is written.
PARAMETERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
# state -> hooks(case, came_from / going_to)
ON_ENTER: dict[str, list[Callable[[Case, str], None]]] = {}
ON_LEAVE: dict[str, list[Callable[[Case, str], None]]] = {}
# action ("*": every action) -> hooks(ctx, action, state before, event data)
ON_FIRED: dict[str, list[Callable[[GuardContext, str, str, dict[str, Any]], None]]] = {}
AFTER: dict[str, list[Callable[[GuardContext, dict[str, Any]], None]]] = {}
ON_LODGING: list[Callable[[Case], dict[str, Any]]] = []
ON_LODGED: list[Callable[[Case, dict[str, Any]], None]] = []
ON_REMINDER: list[Callable[[Case, list[str]], None]] = []
EVERY_ACTION = "*"


def _append(registry: dict[str, list] | list, key: str | None = None) -> Callable:
    def register(function: Callable) -> Callable:
        target = registry if key is None else registry.setdefault(key, [])
        target.append(function)
        return function

    return register


def effect(action: str) -> Callable[[Effect], Effect]:
    def register(function: Effect) -> Effect:
        EFFECTS[action] = function
        return function

    return register


def parameters(action: str) -> Callable:
    def register(function: Callable) -> Callable:
        PARAMETERS[action] = function
        return function

    return register


def on_fired(action: str = EVERY_ACTION) -> Callable:
    """Listen to an action as it is recorded: hooks(ctx, action, state before, event data)."""
    return _append(ON_FIRED, action)


def after(action: str) -> Callable:
    """Register what follows an action, recorded after it (such as a new assignment); it reads
    the context and the data recorded with the action."""
    return _append(AFTER, action)


def on_enter(state: str) -> Callable:
    """Register what happens when a case enters a state, after the transition is recorded."""
    return _append(ON_ENTER, state)


def on_leave(state: str) -> Callable:
    """Register what happens when a case leaves a state (hooks(case, to)), before entering the
    next."""
    return _append(ON_LEAVE, state)


def on_lodging(function: Callable[[Case], dict[str, Any]]) -> Callable:
    """A new case, flushed but not yet recorded: the listener may route it (its state, a
    referral) and returns what the `lodged` event records of that."""
    return _append(ON_LODGING)(function)


def on_lodged(function: Callable[[Case, dict[str, Any]], None]) -> Callable:
    """A new case and its `lodged` event data, once the event is recorded."""
    return _append(ON_LODGED)(function)


def on_reminder(function: Callable[[Case, list[str]], None]) -> Callable:
    """A deadline that only reminds passed: hooks(case, the roles to remind)."""
    return _append(ON_REMINDER)(function)


class RegistrationError(Exception):
    """A module registered with the core without being listed in `odr/capabilities.py`."""


def put_in_order(modules: list[str]) -> None:
    """Run each event's listeners in the order their modules are listed, whatever order they
    were imported in; a registration from a module not listed refuses to start."""
    rank = {name: position for position, name in enumerate(modules)}

    def position(function: Callable) -> int:
        if function.__module__ not in rank:
            raise RegistrationError(f"{_name(function)} registered, but its module is not listed")
        return rank[function.__module__]

    for table in (EFFECTS, PARAMETERS):
        for function in table.values():
            position(function)
    for table in (ON_FIRED, AFTER, ON_LEAVE, ON_ENTER):
        for listeners in table.values():
            listeners.sort(key=position)
    for listeners in (ON_LODGING, ON_LODGED, ON_REMINDER):
        listeners.sort(key=position)


def _name(function: Callable) -> str:
    return f"{function.__module__}.{getattr(function, '__qualname__', function.__name__)}"


def registrations() -> list[tuple[str, str, str]]:
    """Every registration as (registry, key, function), in the order they run."""
    rows: list[tuple[str, str, str]] = []
    for registry, table in (("parameters", PARAMETERS), ("effect", EFFECTS)):
        rows += [(registry, key, _name(table[key])) for key in sorted(table)]
    for registry, table in (
        ("on_fired", ON_FIRED),
        ("after", AFTER),
        ("on_leave", ON_LEAVE),
        ("on_enter", ON_ENTER),
    ):
        rows += [(registry, key, _name(f)) for key in sorted(table) for f in table[key]]
    for registry, hooks in (
        ("on_lodging", ON_LODGING),
        ("on_lodged", ON_LODGED),
        ("on_reminder", ON_REMINDER),
    ):
        rows += [(registry, "", _name(f)) for f in hooks]
    return rows
