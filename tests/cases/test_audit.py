"""`flask odr audit verify` names the dispute whose event chain was altered or cut."""

from __future__ import annotations

import sqlalchemy as sa

from odr.cases.models import Case, Event
from odr.extensions import db
from tests.factories import lodge, make_user


def _setup(app, api):
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    claimant = api.as_user(consumer)
    first, second = lodge(claimant), lodge(claimant)
    api.as_user(merchant).post(
        f"/api/v1/disputes/{second['id']}/offers",
        {"amount": {"amount": "5.00", "currency": "EUR"}, "remedy": "refund", "terms": "t"},
    )
    claimant.post(f"/api/v1/disputes/{second['id']}/actions/escalate", {"reason": "no answer"})
    return first, second


def _verify(app):
    return app.test_cli_runner().invoke(args=["odr", "audit", "verify"])


def test_intact_chains_verify(app, api):
    _setup(app, api)
    result = _verify(app)
    assert result.exit_code == 0, result.stderr
    assert "intact" in result.stderr


def test_an_altered_event_is_named(app, api):
    first, second = _setup(app, api)
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == second["id"]))
        db.session.execute(
            sa.update(Event)
            .where(Event.case_id == case_id, Event.seq == 2)
            .values(data={"offer": "x", "amount": 1, "currency": "EUR"})
        )
        db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert f"{second['reference']}: event 2 was altered" in result.stderr
    assert first["reference"] not in result.stderr


def test_a_removed_event_is_named(app, api):
    _first, second = _setup(app, api)
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == second["id"]))
        last = db.session.scalar(sa.select(sa.func.max(Event.seq)).where(Event.case_id == case_id))
        db.session.execute(sa.delete(Event).where(Event.case_id == case_id, Event.seq == last))
        db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert second["reference"] in result.stderr
    assert "missing" in result.stderr


def test_the_timeline_is_served_in_order_with_hashes(app, api):
    consumer = make_user(app, "consumer")
    claimant = api.as_user(consumer)
    dispute = lodge(claimant)
    claimant.post(f"/api/v1/disputes/{dispute['id']}/actions/withdraw", {"reason": "sorted out"})
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert [e["kind"] for e in events] == ["lodged", "withdraw"]
    assert events[1]["data"]["from"] == "negotiation" and events[1]["data"]["to"] == "withdrawn"
    assert len({e["hash"] for e in events}) == 2
