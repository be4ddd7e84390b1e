"""A large backlog on PostgreSQL is fired by several processes at once, each case still once."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock, sweep
from odr.accounts.models import User
from odr.cases.events import verify_all_chains
from odr.cases.models import Case
from odr.extensions import db
from tests.cases.test_concurrency import _run_together
from tests.factories import events_per_case, lodge, make_neutral, make_user


@pytest.fixture
def shares(app, monkeypatch, tmp_path):
    """A backlog of 8 counts as large; what the shared walks fired (each process that fired
    some writes its id to the file `PIDS_FILE` names)."""
    monkeypatch.setattr(sweep, "PARALLEL_FROM", 8)
    monkeypatch.setenv("PIDS_FILE", str(tmp_path / "pids"))
    made: list[int] = []
    fire_in_processes, fire_share = sweep._fire_in_processes, sweep._fire_share

    def counted(*args):
        made.append(fire_in_processes(*args))
        return made[-1]

    def share_with_pid(share, processes, *args):
        fired = fire_share(share, processes, *args)
        if processes > 1 and fired:
            with open(os.environ["PIDS_FILE"], "a") as out:
                out.write(f"{os.getpid()}\n")
        return fired

    monkeypatch.setattr(sweep, "_fire_in_processes", counted)
    monkeypatch.setattr(sweep, "_fire_share", share_with_pid)
    return made


def _backlog(app, api, n: int) -> tuple[User, list[dict]]:
    make_neutral(app, "mediator", ["en"], caseload_ceiling=n // 2)
    claimant = api.as_user(make_user(app, "consumer"))
    return claimant, [lodge(claimant) for _ in range(n)]


def test_a_large_backlog_is_shared_between_processes_and_each_case_fires_once(
    app, api, shares, tmp_path
):
    made = shares
    _, disputes = _backlog(app, api, 24)
    on_postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")

    with app.app_context(), clock.travel_to(clock.now() + timedelta(days=8)):
        fired = sweep.fire_due_timeouts(batch=4, per_transaction=2, processes=3)
        db.session.remove()

    assert fired == 24
    if on_postgresql:
        assert made == [24]  # the shares fired them all; the last walk found nothing left
        pids = set((tmp_path / "pids").read_text().split())
        assert len(pids) == 3 and str(os.getpid()) in pids  # this process and two children
    else:  # SQLite writes one transaction at a time: other processes would only queue
        assert made == [] and not (tmp_path / "pids").exists()
    _assert_each_escalated_once(app, 24, assigned=12)


def test_two_parallel_sweeps_at_once_still_fire_each_case_once(app, api, shares):
    _, disputes = _backlog(app, api, 20)

    def parallel_sweep() -> int:
        return sweep.fire_due_timeouts(batch=3, per_transaction=3, processes=2)

    with clock.travel_to(clock.now() + timedelta(days=8)):
        results = _run_together(app, [parallel_sweep, parallel_sweep])

    assert sum(results) == 20
    _assert_each_escalated_once(app, 20, assigned=10)


def _assert_each_escalated_once(app, cases: int, *, assigned: int) -> None:
    """Every case escalated once, a mediator for as many as the ceiling allows (the ceiling
    holds across processes), every chain intact."""
    assert events_per_case(app, "escalate") == [1] * cases
    with app.app_context():
        assert db.session.scalars(sa.select(Case.state)).all() == ["mediation"] * cases
        with_mediator = sa.select(sa.func.count()).where(Case.mediator_id.is_not(None))
        assert db.session.scalar(with_mediator) == assigned
        assert verify_all_chains() == []
