"""Who sees which message: the joint channel, each party's caucus with the mediator, the
mediator's notes. Read through the API and through the dispute page, reader by reader."""

from __future__ import annotations

import html

import pytest

from tests.factories import Dispute, make_neutral, make_user

# message -> how it is posted
POSTED = {
    "joint-from-claimant": ("claimant", "post_message", {"body": "joint-from-claimant"}),
    "joint-from-mediator": ("mediator", "post_message", {"body": "joint-from-mediator"}),
    "caucus-claimant": (
        "claimant",
        "post_message",
        {"body": "caucus-claimant", "channel": "private"},
    ),
    "caucus-respondent": (
        "respondent",
        "post_message",
        {"body": "caucus-respondent", "party": "respondent"},
    ),
    "mediator-to-claimant": (
        "mediator",
        "post_message",
        {"body": "mediator-to-claimant", "channel": "private", "party": "claimant"},
    ),
    "mediator-note": ("mediator", "write_note", {"body": "mediator-note"}),
}
JOINT = {"joint-from-claimant", "joint-from-mediator"}
# reader -> the messages it sees; None: it does not see the dispute at all
SEES = {
    "claimant": JOINT | {"caucus-claimant", "mediator-to-claimant"},
    "respondent": JOINT | {"caucus-respondent"},
    "mediator": set(POSTED),
    "case_manager": JOINT,
    "other_mediator": None,
    "arbitrator_not_on_the_case": None,
}


@pytest.fixture
def mediation(app, api):
    other_mediator = make_neutral(app, "mediator", ["en"], caseload_ceiling=1)
    other = Dispute(app, api, respondent_email="busy@shop.example")
    other.to_mediation()  # takes the other mediator's only place
    people = {
        "mediator": make_neutral(app, "mediator", ["en"]),
        "other_mediator": other_mediator,
        "case_manager": make_user(app, "case_manager"),
        "arbitrator_not_on_the_case": make_neutral(app, "arbitrator", ["en"]),
    }
    dispute = Dispute(app, api)
    dispute.to_mediation()
    assert dispute.read()["mediator"]["id"] == people["mediator"].id
    dispute.users.update(people)
    for who, action, params in POSTED.values():
        dispute.must(dispute.users[who], action, **params)
    return dispute


@pytest.mark.parametrize("reader", SEES)
def test_each_reader_sees_exactly_its_channels_through_the_api(mediation, reader):
    response = mediation.client(mediation.users[reader]).get(
        f"/api/v1/disputes/{mediation.id}/messages"
    )
    if SEES[reader] is None:
        assert response.status_code == 404
        return
    assert {m["body"] for m in response.get_json()["items"]} == SEES[reader]


@pytest.mark.parametrize("reader", ["claimant", "respondent", "mediator", "case_manager"])
def test_the_dispute_page_shows_the_same(mediation, make_web, reader):
    page = make_web()
    page.login(mediation.users[reader].email)
    text = html.unescape(page.get(f"/disputes/{mediation.id}").get_data(as_text=True))
    assert {body for body in POSTED if body in text} == SEES[reader]


def test_messages_carry_channel_party_and_author(mediation):
    items = mediation.client("claimant").get(f"/api/v1/disputes/{mediation.id}/messages")
    by_body = {m["body"]: m for m in items.get_json()["items"]}
    assert (by_body["caucus-claimant"]["channel"], by_body["caucus-claimant"]["party"]) == (
        "private",
        "claimant",
    )
    assert by_body["mediator-to-claimant"]["author"] == "mediator"
    assert by_body["joint-from-claimant"]["party"] is None


@pytest.mark.parametrize(
    "who, action, params, status",
    [
        # a party writes only in its own caucus
        (
            "claimant",
            "post_message",
            {"body": "x", "channel": "private", "party": "respondent"},
            409,
        ),
        # the mediator names the party of a caucus message
        ("mediator", "post_message", {"body": "x", "channel": "private"}, 409),
        ("mediator", "post_message", {"body": "x", "channel": "notes"}, 422),
        ("claimant", "post_message", {"body": "", "channel": "joint"}, 422),
        ("claimant", "post_message", {"body": "x", "party": "mediator"}, 422),
        ("case_manager", "post_message", {"body": "x"}, 403),
        ("claimant", "write_note", {"body": "x"}, 403),
        ("other_mediator", "post_message", {"body": "x"}, 404),
    ],
)
def test_who_may_write_where(mediation, who, action, params, status):
    before = mediation.client("mediator").get(f"/api/v1/disputes/{mediation.id}/messages")
    response = mediation.act(mediation.users[who], action, **params)
    assert response.status_code == status
    if status == 422:
        assert set(response.get_json()["errors"]) & {"body", "channel", "party"}
    after = mediation.client("mediator").get(f"/api/v1/disputes/{mediation.id}/messages")
    assert after.get_json() == before.get_json()


def test_the_caucus_is_only_open_during_mediation(app, api):
    make_neutral(app, "mediator", ["en"])
    make_neutral(app, "arbitrator", ["en"])
    dispute = Dispute(app, api, arbitration_consent=True)
    private = {"body": "x", "channel": "private"}
    assert dispute.act("claimant", "post_message", **private).status_code == 409
    dispute.must("claimant", "post_message", body="in negotiation")
    dispute.to_mediation()
    dispute.must("claimant", "post_message", **private)
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must("claimant", "escalate", reason="no movement")
    assert dispute.state == "arbitration"
    assert dispute.act("claimant", "post_message", **private).status_code == 409
    dispute.must("claimant", "post_message", body="in arbitration")


def test_the_arbitrator_sees_the_joint_channel_and_never_the_caucus(app, api):
    mediator = make_neutral(app, "mediator", ["en"])
    arbitrator = make_neutral(app, "arbitrator", ["en"])
    dispute = Dispute(app, api, arbitration_consent=True)
    dispute.to_mediation()
    dispute.must("claimant", "post_message", body="my bottom line", channel="private")
    dispute.must(mediator, "write_note", body="claimant would take 60")
    dispute.must("respondent", "post_message", body="hello all")
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must(mediator, "fail_mediation", note="no agreement")
    assert dispute.read()["arbitrator"]["id"] == arbitrator.id
    dispute.must(arbitrator, "post_message", body="statements within 14 days")
    seen = dispute.client(arbitrator).get(f"/api/v1/disputes/{dispute.id}/messages")
    assert {m["body"] for m in seen.get_json()["items"]} == {
        "hello all",
        "statements within 14 days",
    }


def test_a_message_is_announced_to_those_who_may_read_it(app, api, mailbox):
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = Dispute(app, api)
    dispute.to_mediation()
    mailbox.clear()
    dispute.must("claimant", "post_message", body="only for the mediator", channel="private")
    assert mailbox.to(mediator.email)
    assert not mailbox.to("shop@merchant.example")
    assert not mailbox.to(dispute.users["claimant"].email)  # not told of its own message
    mailbox.clear()
    dispute.must(mediator, "write_note", body="quiet")
    assert not mailbox.to("shop@merchant.example")
    assert not mailbox.to(dispute.users["claimant"].email)
