"""The case file on the dispute page: the latest entries first, "earlier" links that walk back
through a long case without gaps or repeats, each message once in its channel, and the same
channels for each reader however the page is asked for."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from odr.cases.casefile import PAGE_SIZE
from odr.cases.models import Case, Event
from odr.extensions import db
from tests.factories import Dispute, add_reminders, make_neutral, make_user, post_messages


def timeline_seqs(app, dispute: Dispute) -> list[int]:
    """Every event the timeline shows (all but the messages'), newest first."""
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Event.seq)
                .join(Case, Case.id == Event.case_id)
                .where(
                    Case.public_id == dispute.id,
                    Event.kind.not_in(("post_message", "write_note")),
                )
                .order_by(Event.seq.desc())
            )
        )


def section(text: str, heading_id: str) -> str:
    start = text.index(f'id="{heading_id}"')
    ends = [i for i in (text.find("<h3", start + 1), text.find("</section>", start)) if i > 0]
    return text[start : min(ends)]


def shown_events(text: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'id="event-(\d+)"', section(text, "timeline-h"))]


def shown_messages(text: str, channel: str) -> list[str]:
    found = re.findall(r'<p class="terms">([^<]*)</p>', section(text, f"channel-{channel}-h"))
    return [html.unescape(body) for body in found]


def link(text: str, label: str, within: str) -> str | None:
    """The address of the link with this label in a section of the page, if there is one."""
    found = re.search(rf'<a href="([^"]+)"[^>]*>{label}</a>', section(text, within))
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def mediation(app, api):
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = Dispute(app, api)
    dispute.to_mediation()
    dispute.users["mediator"] = mediator
    return dispute


def test_the_latest_page_shows_the_newest_entries(app, mediation, make_web):
    add_reminders(app, mediation, PAGE_SIZE + 20)
    page = make_web()
    page.login(mediation.users["claimant"].email)
    text = page.get(f"/disputes/{mediation.id}").get_data(as_text=True)
    assert shown_events(text) == timeline_seqs(app, mediation)[:PAGE_SIZE]
    assert link(text, "Earlier entries", "timeline-h")
    assert link(text, "Latest entries", "timeline-h") is None


def test_earlier_links_walk_back_through_the_whole_timeline_without_gaps_or_repeats(
    app, mediation, make_web
):
    add_reminders(app, mediation, 2 * PAGE_SIZE + 7)
    everything = timeline_seqs(app, mediation)
    page = make_web()
    page.login(mediation.users["respondent"].email)
    seen, address, pages = [], f"/disputes/{mediation.id}", 0
    while address:
        response = page.get(address)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        seen += shown_events(text)
        address = link(text, "Earlier entries", "timeline-h")
        pages += 1
        if pages == 1:
            add_reminders(app, mediation, 3)  # entries added meanwhile shift nothing
        else:
            assert link(text, "Latest entries", "timeline-h")
    assert seen == everything
    assert pages == 3


def test_each_message_is_shown_once_in_its_channel_and_not_in_the_timeline(
    app, mediation, make_web
):
    mediator = mediation.users["mediator"]
    joint = post_messages(app, mediation, mediator, 3)
    caucus = post_messages(app, mediation, mediation.users["claimant"], 2, channel="private")
    page = make_web()
    page.login(mediation.users["claimant"].email)
    text = html.unescape(page.get(f"/disputes/{mediation.id}").get_data(as_text=True))
    assert shown_messages(text, "joint") == joint
    assert shown_messages(text, "private") == caucus
    for body in joint + caucus:
        assert text.count(body) == 1
    timeline = section(text, "timeline-h")
    assert "Send a message" not in timeline and "Mediator assigned" in timeline


def test_earlier_links_walk_back_through_a_channel_and_keep_the_other_lists_in_place(
    app, mediation, make_web
):
    mediator = mediation.users["mediator"]
    add_reminders(app, mediation, PAGE_SIZE + 1)
    notes = post_messages(app, mediation, mediator, 3, channel="notes")
    joint = post_messages(app, mediation, mediator, 2 * PAGE_SIZE + 5)
    page = make_web()
    page.login(mediator.email)
    first = page.get(f"/disputes/{mediation.id}").get_data(as_text=True)
    timeline = link(first, "Earlier entries", "timeline-h")
    text = page.get(timeline).get_data(as_text=True)  # the timeline one page back
    older_timeline = shown_events(text)
    seen, address = [], link(text, "Earlier messages", "channel-joint-h")
    assert shown_messages(text, "joint") == joint[-PAGE_SIZE:]
    seen = shown_messages(text, "joint")
    while address:
        assert "timeline_before=" in address
        text = page.get(address).get_data(as_text=True)
        seen = shown_messages(text, "joint") + seen
        assert shown_events(text) == older_timeline
        assert shown_messages(text, "notes") == notes
        assert link(text, "Latest messages", "channel-joint-h")
        address = link(text, "Earlier messages", "channel-joint-h")
    assert seen == joint


def test_no_cursor_opens_a_channel_the_reader_may_not_read(app, mediation, make_web):
    mediator = mediation.users["mediator"]
    mediation.must(mediator, "write_note", body="mediator-note")
    mediation.must("respondent", "post_message", body="caucus-respondent", channel="private")
    mediation.must("claimant", "post_message", body="caucus-claimant", channel="private")
    mediation.must("claimant", "post_message", body="joint-from-claimant")
    bodies = ("mediator-note", "caucus-claimant", "caucus-respondent", "joint-from-claimant")
    everywhere = "&".join(f"{name}_before=999999" for name in ("joint", "private", "notes"))
    for reader, sees in [
        ("claimant", {"joint-from-claimant", "caucus-claimant"}),
        ("respondent", {"joint-from-claimant", "caucus-respondent"}),
    ]:
        page = make_web()
        page.login(mediation.users[reader].email)
        for query in ("", everywhere, "timeline_before=1"):
            text = page.get(f"/disputes/{mediation.id}?{query}").get_data(as_text=True)
            assert {body for body in bodies if body in text} == sees


@pytest.mark.parametrize("query", ["timeline_before=abc", "joint_before=-3", "notes_before=0"])
def test_a_cursor_that_is_not_a_number_shows_the_latest_page(app, mediation, make_web, query):
    post_messages(app, mediation, mediation.users["mediator"], 2)
    page = make_web()
    page.login(make_user(app, "case_manager").email)
    response = page.get(f"/disputes/{mediation.id}?{query}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert shown_messages(text, "joint") == ["joint-message-000", "joint-message-001"]
    assert link(text, "Latest entries", "timeline-h") is None
