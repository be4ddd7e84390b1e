"""ASVS V8 (authorisation): the timeline never tells a reader when, or by whom, something was said
in a channel they may not read: another party's caucus with the mediator, or a mediator's notes."""

from __future__ import annotations

import pytest

from tests.factories import ApiClient, Dispute, make_neutral, make_user, token_for

# reader -> the (kind, channel, party) of the message events it may see
SEES = {
    "claimant": {
        ("post_message", "joint", None),
        ("post_message", "private", "claimant"),
    },
    "respondent": {("post_message", "joint", None), ("post_message", "private", "respondent")},
    "mediator": {
        ("post_message", "joint", None),
        ("post_message", "private", "claimant"),
        ("post_message", "private", "respondent"),
        ("write_note", "notes", None),
    },
    "case_manager": {("post_message", "joint", None)},
}


@pytest.fixture
def mediation(server):
    mediator = make_neutral(server.app, "mediator", ["en"])
    dispute = Dispute(server.app, ApiClient(server.app))
    dispute.to_mediation()
    dispute.users.update(mediator=mediator, case_manager=make_user(server.app, "case_manager"))
    dispute.must("claimant", "post_message", body="joint")
    dispute.must("claimant", "post_message", body="claimant caucus", channel="private")
    dispute.must("respondent", "post_message", body="respondent caucus", channel="private")
    dispute.must(mediator, "post_message", body="to claimant", channel="private", party="claimant")
    dispute.must(mediator, "write_note", body="my note")
    return dispute


@pytest.mark.parametrize("reader", SEES)
def test_events_show_only_the_messages_the_reader_may_read(server, mediation, reader):
    token = token_for(server.app, mediation.users[reader])
    response = server.visitor().api(
        "GET", f"/api/v1/disputes/{mediation.id}/events?limit=100", token
    )
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    seen = {
        (e["kind"], e["data"].get("channel"), e["data"].get("party"))
        for e in events
        if e["kind"] in ("post_message", "write_note")
    }
    assert seen == SEES[reader]
    assert "escalate" in {e["kind"] for e in events}  # the steps of the case stay visible
