"""The dispute page and the API read a dispute in a fixed number of queries, whatever its size."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from odr.extensions import db
from tests.factories import lodge, make_user


@contextlib.contextmanager
def count_queries(app):
    counter = {"n": 0}

    def before(*args, **kwargs):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _grow(app, api, claimant, merchant, dispute_id, rounds):
    for n in range(rounds):
        for client in (claimant, merchant):
            response = client.post(
                f"/api/v1/disputes/{dispute_id}/offers",
                {
                    "amount": {"amount": f"{n + 1}.00", "currency": "EUR"},
                    "remedy": "refund",
                    "terms": f"offer {n}",
                },
            )
            assert response.status_code == 201


def _queries_for(app, fetch):
    fetch()  # warm caches (the user loader, the token's last-used time)
    with count_queries(app) as counter:
        fetch()
    return counter["n"]


def test_reading_a_dispute_costs_the_same_with_2_or_40_offers(app, api, web):
    consumer = make_user(app, "consumer")
    merchant_user = make_user(app, "merchant", email="shop@merchant.example")
    claimant, merchant = api.as_user(consumer), api.as_user(merchant_user)
    web.login(consumer.email)
    small, large = lodge(claimant), lodge(claimant)
    _grow(app, api, claimant, merchant, small["id"], 1)
    _grow(app, api, claimant, merchant, large["id"], 20)

    def page(dispute):
        return lambda: web.get(f"/disputes/{dispute['id']}")

    def api_read(dispute):
        return lambda: claimant.get(f"/api/v1/disputes/{dispute['id']}")

    assert _queries_for(app, page(small)) == _queries_for(app, page(large))
    assert _queries_for(app, api_read(small)) == _queries_for(app, api_read(large))
    # session, case, proposal, statements, offers, events, notes, messages, award, evidence,
    # users, the case's unread notices, the header's unread count, and the transaction's BEGIN:
    # one each, whatever the size of the case.
    assert _queries_for(app, page(large)) <= 14
