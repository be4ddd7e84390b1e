"""The layers point down, no two files of odr/ import each other in a circle, and every event the
case core announces reaches the capabilities registered for it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from odr.config import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    shutil.copytree(PROJECT_ROOT / "odr", root / "odr", ignore=shutil.ignore_patterns("static"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_import_contracts_are_kept(tree_copy):
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward", "broken"),
    [
        ("clock.py", "from odr.cases import firing", "Layers point down"),
        ("cases/firing.py", "from odr.delivery import notices", "Layers point down"),
        ("negotiation/services.py", "from odr.accounts import services", "do not know each other"),
        ("cases/reading.py", "from odr.cases import views", "Pages are entry points"),
    ],
)
def test_an_import_against_the_layers_fails_the_build(tree_copy, module, upward, broken):
    path = tree_copy / "odr" / module
    kept = path.read_text(encoding="utf-8")
    path.write_text(kept + f"\n{upward}  # noqa\n", encoding="utf-8")
    try:
        result = _lint_imports(tree_copy)
    finally:
        path.write_text(kept, encoding="utf-8")
    assert result.returncode == 1, result.stdout
    assert broken in result.stdout.split("Broken contracts")[1]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_two_files_of_odr_import_each_other_in_a_circle():
    """Imports inside functions count too: a circle there is still a circle."""
    graph = grimp.build_graph("odr", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for importer, imported in [("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")]:
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [["a.x", "a.y", "a.z"]]


def test_every_action_with_parameters_has_its_check_registered(app):
    from odr.cases.hooks import PARAMETERS
    from odr.workflow import get_workflow

    with app.app_context():
        actions = get_workflow("dispute").actions
    missing = [
        name for name, spec in actions.items() if spec.get("params") and name not in PARAMETERS
    ]
    assert missing == []


def test_the_queue_and_the_outbox_know_every_kind_of_work(app):
    """What the code asks for by name (a task, a kind of outbox message) has someone to do it."""
    from odr.delivery.services import SENDERS
    from odr.queue import TASKS

    assert set(TASKS) == {"deliver_outbox", "render_documents"}
    # Mail is the outbox's own; referrals write webhooks. ("render", allowed by the table's check,
    # is written by nobody: documents wait in their own table.)
    assert set(SENDERS) == {"webhook"}


def test_a_listener_from_a_module_not_listed_stops_the_start():
    from odr.capabilities import CAPABILITIES
    from odr.cases.hooks import ON_LODGED, RegistrationError, on_lodged, put_in_order

    @on_lodged
    def stray(case, lodged) -> None:  # registered from a module the list does not name
        pass

    try:
        with pytest.raises(RegistrationError, match="stray registered"):
            put_in_order(list(CAPABILITIES))
    finally:
        ON_LODGED.remove(stray)


def test_listeners_run_in_the_listed_order_whatever_the_import_order(app):
    from odr.capabilities import CAPABILITIES
    from odr.cases.hooks import ON_ENTER, ON_LODGED

    rank = {name: position for position, name in enumerate(CAPABILITIES)}
    for listeners in [ON_LODGED, *ON_ENTER.values()]:
        positions = [rank[listener.__module__] for listener in listeners]
        assert positions == sorted(positions)
