"""The lifecycle definition is validated before anything runs, and built once per process."""

from __future__ import annotations

import copy

import pytest

from odr.cases.guards import GUARDS
from odr.workflow import WorkflowError, build, get_workflow, load_workflows, mermaid, validate
from workflows.dispute import DISPUTE


def _broken(change):
    definition = copy.deepcopy(DISPUTE)
    change(definition)
    return definition


def test_the_dispute_workflow_is_valid(app):
    # guards of other capabilities (referrals) are registered when the app factory loads them
    assert validate(DISPUTE, GUARDS) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["transitions"].append(
                {
                    "trigger": "admit",
                    "source": "limbo",
                    "dest": "negotiation",
                    "roles": ["claimant"],
                }
            ),
            "unknown source state 'limbo'",
        ),
        (
            lambda d: d["transitions"].append(
                {"trigger": "admit", "source": "filed", "dest": "heaven", "roles": ["claimant"]}
            ),
            "unknown destination state 'heaven'",
        ),
        (
            lambda d: d["states"].update({"orphan": {"label": "Orphan", "final": True}}),
            "state 'orphan' is unreachable",
        ),
        (
            lambda d: d["transitions"][0].update({"conditions": ["moon_is_full"]}),
            "guard 'moon_is_full' has no registered function",
        ),
        (lambda d: d["transitions"][0].update({"roles": ["king"]}), "unknown role 'king'"),
        (
            lambda d: d["actions"].update({"dance": {"label": "Dance"}}),
            "action 'dance' has no transition",
        ),
        (
            lambda d: d["states"]["mediation"]["deadline"].update({"timeout": "admit"}),
            "timeout 'admit' is not a system action there",
        ),
    ],
)
def test_a_broken_definition_is_refused_with_the_reason(change, problem):
    definition = _broken(change)
    assert any(problem in p for p in validate(definition, GUARDS))
    with pytest.raises(WorkflowError, match=problem.split("'")[1]):
        build(definition, GUARDS)


def test_one_shared_machine_per_process(app):
    with app.app_context():
        first = get_workflow("dispute")
        assert get_workflow("dispute", 1) is first
        assert load_workflows()[("dispute", 1)].machine is first.machine
        assert first.machine.models == []  # no case is ever added to the machine


def test_the_diagram_shows_every_state():
    diagram = mermaid(build(DISPUTE, GUARDS))
    for state in DISPUTE["states"]:
        assert state in diagram
    assert "negotiation --> settled: accept_offer" in diagram


def test_the_lifecycle_page_is_the_definition_as_it_is_now(app):
    """docs/lifecycle.md is written by `make lifecycle`; a change to workflows/ without it fails."""
    from flask_babel import force_locale

    from odr.config import PROJECT_ROOT
    from odr.lifecycle_doc import lifecycle_document

    with app.app_context(), force_locale("en"):
        written = lifecycle_document(get_workflow("dispute"))
    assert (PROJECT_ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8") == written, (
        "docs/lifecycle.md is out of date: run `make lifecycle`"
    )
    for name, state in DISPUTE["states"].items():
        assert f"| `{name}` | {state['label']}" in written
    assert (
        "| `accept_offer` | Accept offer | `negotiation` | `settled` | claimant, respondent |"
        in (written)
    )
    assert "note right of negotiation: 7 d → escalate" in written
