"""The sweep fires timeouts a group to a transaction: the same outcome as one at a time."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.accounts.models import User
from odr.cases import hooks
from odr.cases.events import verify_all_chains
from odr.cases.models import Case, Event
from odr.errors import Conflict
from odr.extensions import db
from odr.sweep import collecting_seldom, fire_due_timeouts
from tests.factories import lodge, make_neutral, make_user, notice_kinds


def _lodge_many(app, api, n: int) -> tuple[User, User, list[dict]]:
    claimant = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    client = api.as_user(claimant)
    return claimant, merchant, [lodge(client) for _ in range(n)]


def _fire_all(app, moment, **grouping) -> int:
    with app.app_context(), clock.travel_to(moment):
        fired = fire_due_timeouts(**grouping)
        db.session.remove()
    return fired


def test_groups_fire_every_due_case_once_with_its_notices_and_mail(app, api, mailbox):
    mediators = [make_neutral(app, "mediator", ["en"], caseload_ceiling=3) for _ in range(2)]
    claimant, merchant, disputes = _lodge_many(app, api, 11)

    fired = _fire_all(app, clock.now() + timedelta(days=8), batch=4, per_transaction=3)

    assert fired == 11
    with app.app_context():
        states = db.session.scalars(sa.select(Case.state)).all()
        assert states == ["mediation"] * 11
        kinds = db.session.execute(
            sa.select(Event.kind, sa.func.count()).group_by(Event.kind)
        ).all()
        assert dict(kinds) == {
            "lodged": 11,
            "escalate": 11,
            "mediator_assigned": 6,  # two ceilings of 3
            "mediator_waiting": 5,
        }
        loads = [db.session.get(User, m.id).caseload for m in mediators]
        assert loads == [3, 3]
        assert verify_all_chains() == []
    assert notice_kinds(app, claimant).count("state_changed") == 11
    assert notice_kinds(app, claimant).count("neutral_assigned_party") == 6
    assert notice_kinds(app, merchant).count("state_changed") == 11
    assert notice_kinds(app, mediators[0]) == ["neutral_assigned"] * 3
    with app.app_context(), clock.travel_to(clock.now() + timedelta(days=8, minutes=5)):
        from odr.sweep import sweep

        sweep()
    subjects = " ".join(m["Subject"] for m in mailbox.to(mediators[1].email))
    # The least loaded first, then the lower id: the two take the escalations in turn.
    assert [d["reference"] in subjects for d in disputes[:6]] == [False, True] * 3


@pytest.fixture
def refusing_escalation():
    """A rule that refuses to escalate one chosen case (as a plug-in rule could)."""
    refused: set[int] = set()

    def refuse(ctx, data):
        if ctx.case.id in refused:
            raise Conflict("not_now", action="escalate", state=ctx.case.state)

    hooks.AFTER.setdefault("escalate", []).append(refuse)
    yield refused
    hooks.AFTER["escalate"].remove(refuse)


def test_a_case_the_rules_refuse_stays_due_and_the_rest_of_its_group_fires(
    app, api, refusing_escalation
):
    make_neutral(app, "mediator", ["en"])
    _claimant, _merchant, disputes = _lodge_many(app, api, 5)
    with app.app_context():
        ids = db.session.scalars(sa.select(Case.id).order_by(Case.id)).all()
        deadline = db.session.get(Case, ids[2]).deadline_at
    refusing_escalation.add(ids[2])

    assert _fire_all(app, clock.now() + timedelta(days=8), per_transaction=5) == 4

    with app.app_context():
        refused = db.session.get(Case, ids[2])
        assert (refused.state, refused.deadline_at, refused.event_count) == (
            "negotiation",
            deadline,
            1,
        )
        others = db.session.scalars(sa.select(Case.state).where(Case.id != ids[2])).all()
        assert others == ["mediation"] * 4
        assert db.session.scalar(sa.select(User.caseload).where(User.role == "mediator")) == 4
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Event.kind == "mediator_assigned"))
            == 4
        )


def test_the_collector_runs_seldom_while_the_sweep_fires_and_as_before_afterwards(app, api):
    """A worker process runs the sweep among its other tasks: it gets its settings back."""
    seen: list[tuple[int, ...]] = []

    def look(ctx, data):
        seen.append(gc.get_threshold())

    _lodge_many(app, api, 2)
    before = gc.get_threshold()
    hooks.AFTER.setdefault("escalate", []).append(look)
    try:
        assert _fire_all(app, clock.now() + timedelta(days=8)) == 2
    finally:
        hooks.AFTER["escalate"].remove(look)
    assert [threshold[0] for threshold in seen] == [50_000, 50_000]
    assert gc.get_threshold() == before

    with pytest.raises(RuntimeError), collecting_seldom():
        raise RuntimeError("a fire failed")
    assert gc.get_threshold() == before
