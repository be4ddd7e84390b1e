"""The dispute page and the API read a dispute in a fixed number of queries, whatever its size."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from odr.extensions import db
from tests.factories import Dispute, add_reminders, lodge, make_neutral, make_user, post_messages


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
    # session, case, proposal, offers, the neutrals, a page of the timeline (with its actors), a
    # page of every channel (with the authors), the notes those events name, statements, award,
    # evidence (with the uploaders), the documents, the referral (with its agency), the case's
    # unread notices, the header's unread count, and the transaction's BEGIN: one each, whatever
    # the size of the case.
    assert _queries_for(app, page(large)) <= 16


def _long_case(app, api, messages: int, reminders: int) -> tuple[Dispute, object]:
    """A case in mediation with messages in every channel and reminders in its timeline."""
    dispute = Dispute(app, api, respondent_email=f"shop{messages}@merchant.example")
    mediator = make_neutral(app, "mediator", ["en"])
    dispute.to_mediation()
    add_reminders(app, dispute, reminders)
    post_messages(app, dispute, mediator, messages)
    post_messages(app, dispute, mediator, messages, channel="notes")
    post_messages(app, dispute, dispute.users["claimant"], messages, channel="private")
    return dispute, mediator


def test_the_case_file_costs_the_same_for_2_or_120_entries_on_any_page(app, api, make_web):
    small, small_mediator = _long_case(app, api, 1, 1)
    large, large_mediator = _long_case(app, api, 120, 120)
    cursors = "timeline_before=60&joint_before=100000&private_before=100000&notes_before=100000"
    counts = {"mediator": set(), "claimant": set()}

    def read(page, address):
        assert page.get(address).status_code == 200

    for dispute, mediator in ((small, small_mediator), (large, large_mediator)):
        for role, reader in (("mediator", mediator), ("claimant", dispute.users["claimant"])):
            page = make_web()
            page.login(reader.email)
            for query in ("", cursors):
                address = f"/disputes/{dispute.id}?{query}"
                counts[role].add(
                    _queries_for(app, lambda page=page, address=address: read(page, address))
                )
    # The latest page or an earlier one, 2 entries or 120 in each list: the same queries as above;
    # the mediator's page reads the merchant's time zone once more, for the proposal form's
    # default date (issue 14).
    assert len(counts["claimant"]) == 1 and counts["claimant"].pop() <= 16
    assert len(counts["mediator"]) == 1 and counts["mediator"].pop() <= 17
