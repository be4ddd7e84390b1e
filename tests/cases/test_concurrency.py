"""Two people at once: the case row is taken for writing, so exactly one change wins."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from odr.cases.models import Case, Event
from odr.extensions import db
from odr.negotiation.models import Offer
from tests.factories import events_per_case, lodge, lodging_body, make_user


def _run_together(app, functions):
    """Start the functions at the same moment, each in its own thread and app context."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(index, function):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = function()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_accepts_of_the_same_offer_settle_once(app, api):
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    claimant = api.as_user(consumer)
    dispute = lodge(claimant)
    offer = (
        api.as_user(merchant)
        .post(
            f"/api/v1/disputes/{dispute['id']}/offers",
            {"amount": {"amount": "50.00", "currency": "EUR"}, "remedy": "refund", "terms": "half"},
        )
        .get_json()
    )
    path = f"/api/v1/disputes/{dispute['id']}/offers/{offer['id']}/accept"
    second = api.as_user(consumer)

    statuses = _run_together(
        app, [lambda: claimant.post(path).status_code, lambda: second.post(path).status_code]
    )

    assert sorted(statuses) == [200, 409]
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        assert case.state == "settled"
        accepted = db.session.scalars(sa.select(Offer).where(Offer.status == "accepted")).all()
        assert len(accepted) == 1
        events = db.session.scalars(
            sa.select(Event.kind).where(Event.case_id == case.id, Event.kind == "accept_offer")
        ).all()
        assert events == ["accept_offer"]


def test_concurrent_lodgings_never_share_a_reference(app, api):
    consumers = [api.as_user(make_user(app, "consumer")) for _ in range(6)]

    def lodge_one(client):
        def run():
            body = lodging_body(f"shop{id(client)}@merchant.example")
            response = client.post("/api/v1/disputes", body)
            assert response.status_code == 201, response.get_json()
            return response.get_json()["reference"]

        return run

    references = _run_together(app, [lodge_one(client) for client in consumers])

    assert len(set(references)) == 6
    assert all(ref and ref.startswith("ODR-") for ref in references)


def test_two_sweeps_at_once_fire_each_timeout_once_and_respect_the_ceiling(app, api):
    from datetime import timedelta

    from odr import clock
    from odr.sweep import sweep
    from tests.factories import make_neutral

    mediator = make_neutral(app, "mediator", ["en"], caseload_ceiling=10)
    claimant = api.as_user(make_user(app, "consumer"))
    disputes = [lodge(claimant) for _ in range(30)]

    with clock.travel_to(clock.now() + timedelta(days=8)):
        results = _run_together(app, [sweep, sweep])

    assert sum(result["timeouts"] for result in results) == 30
    assert events_per_case(app, "escalate") == [1] * 30
    with app.app_context():
        states = db.session.scalars(sa.select(Case.state)).all()
        assert states == ["mediation"] * len(disputes)
        assigned = db.session.scalar(
            sa.select(sa.func.count()).where(Case.mediator_id == mediator.id)
        )
        assert assigned == 10
        waits = db.session.scalar(
            sa.select(sa.func.count()).where(Event.kind == "mediator_waiting")
        )
        assert waits == 20
