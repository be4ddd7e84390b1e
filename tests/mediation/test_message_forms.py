"""The message forms of the dispute page, sent as a person sends them: each channel from each
role reaches its readers and leads back to the channel; a message that cannot be sent comes back
with the typed text and the reason next to the field."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import Dispute, make_neutral

# (who, the dispute's stage, what the form sends, the route) -> the channel it lands in, and
# whether the other party reads it
SENT = {
    "consumer, joint, negotiation": (
        "claimant",
        "negotiation",
        {},
        "messages",
        ("joint", None),
    ),
    "merchant, joint, negotiation": (
        "respondent",
        "negotiation",
        {},
        "messages",
        ("joint", None),
    ),
    "consumer, joint, mediation": (
        "claimant",
        "mediation",
        {"channel": "joint"},
        "messages",
        ("joint", None),
    ),
    "consumer, own caucus": (
        "claimant",
        "mediation",
        {"channel": "private"},
        "messages",
        ("private", "claimant"),
    ),
    "merchant, own caucus": (
        "respondent",
        "mediation",
        {"channel": "private"},
        "messages",
        ("private", "respondent"),
    ),
    "mediator, joint": ("mediator", "mediation", {"party": ""}, "messages", ("joint", None)),
    "mediator, caucus with the consumer": (
        "mediator",
        "mediation",
        {"party": "claimant"},
        "messages",
        ("private", "claimant"),
    ),
    "mediator, caucus with the merchant": (
        "mediator",
        "mediation",
        {"party": "respondent"},
        "messages",
        ("private", "respondent"),
    ),
    "mediator, note": ("mediator", "mediation", {}, "notes", ("notes", None)),
}


@pytest.fixture
def dispute(app, api):
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = Dispute(app, api)
    dispute.users["mediator"] = mediator
    return dispute


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def message_form(text: str, route: str) -> str:
    """The form on the page that posts to the given route (`messages` or `notes`)."""
    pattern = rf'<form method="post" action="/disputes/[^"]+/{route}".*?</form>'
    found = re.search(pattern, text, re.S)
    assert found, f"no form posting to /{route} on the page"
    return found.group(0)


@pytest.mark.parametrize("case", SENT)
def test_a_message_sent_from_the_page_reaches_its_channel(dispute, make_web, case):
    who, stage, fields, route, (channel, party) = SENT[case]
    if stage == "mediation":
        dispute.to_mediation()
    web = make_web()
    web.login(dispute.users[who].email)
    page = page_text(web.get(f"/disputes/{dispute.id}"))
    message_form(page, route)  # the page offers this form

    body = f"Sent from the page: {case} · 你好"
    response = web.post(f"/disputes/{dispute.id}/{route}", {"body": body, **fields})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/disputes/{dispute.id}#channel-{channel}-h")
    shown = page_text(web.get(response.headers["Location"]))
    assert "flash ok" in shown
    assert body in shown.split(f'id="channel-{channel}-h"', 1)[1]
    reader = dispute.users["mediator"] if stage == "mediation" else dispute.users["claimant"]
    if channel != "notes":
        items = dispute.client(reader).get(f"/api/v1/disputes/{dispute.id}/messages")
        sent = [m for m in items.get_json()["items"] if m["body"] == body]
        assert [(m["channel"], m["party"]) for m in sent] == [(channel, party)]
    if who == "mediator" and channel == "private":  # the chosen party reads it, the other not
        other = "respondent" if party == "claimant" else "claimant"
        for reader, sees in ((party, True), (other, False)):
            items = dispute.client(reader).get(f"/api/v1/disputes/{dispute.id}/messages")
            assert (body in {m["body"] for m in items.get_json()["items"]}) is sees


@pytest.mark.parametrize(
    "who, route, fields, field_id",
    [
        # a control character, as pasted from elsewhere: the text comes back for correcting
        ("claimant", "messages", {"body": "Please refund\x07 me"}, "message-body"),
        ("mediator", "messages", {"body": "To both\x00"}, "message-body"),
        ("mediator", "notes", {"body": "Note\x1b to self"}, "note-body"),
        # a channel that is no choice of the form (an edited page): the choice is marked
        ("respondent", "messages", {"body": "Only for you", "channel": "notes"}, "message-channel"),
        ("mediator", "messages", {"body": "Only for you", "party": "mediator"}, "message-channel"),
    ],
)
def test_a_refused_message_comes_back_with_the_text_and_the_reason(
    dispute, make_web, who, route, fields, field_id
):
    dispute.to_mediation()
    web = make_web()
    web.login(dispute.users[who].email)
    web.get(f"/disputes/{dispute.id}")

    response = web.post(f"/disputes/{dispute.id}/{route}", fields)

    assert response.status_code == 422
    form = message_form(response.get_data(as_text=True), route)
    assert f'id="{field_id}-error"' in form
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', form)
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S).group(1)
    assert html.unescape(textarea) == fields["body"]
    items = dispute.client("mediator" if who == "mediator" else who).get(
        f"/api/v1/disputes/{dispute.id}/messages"
    )
    assert items.get_json()["items"] == []


def test_a_message_the_stage_no_longer_allows_keeps_its_text(dispute, make_web):
    """The caucus closed while the consumer was typing (here: the page of a negotiation sent
    with the private channel): the page says so next to the text, nothing is sent."""
    web = make_web()
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    body = "Between you and me: I would take 60 EUR."

    response = web.post(f"/disputes/{dispute.id}/messages", {"body": body, "channel": "private"})

    assert response.status_code == 409
    form = message_form(response.get_data(as_text=True), "messages")
    assert 'id="message-body-error"' in form
    assert body in html.unescape(form)
    items = dispute.client("claimant").get(f"/api/v1/disputes/{dispute.id}/messages")
    assert items.get_json()["items"] == []


def test_only_the_mediator_may_write_a_note(dispute, make_web):
    dispute.to_mediation()
    web = make_web()
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    assert web.post(f"/disputes/{dispute.id}/notes", {"body": "x"}).status_code == 403
