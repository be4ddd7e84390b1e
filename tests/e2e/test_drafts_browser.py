"""In a real browser, nothing typed into the lodging form is lost: the autosave brings the text
back after a reload, and a session that ends while the person types (on the server, or by the
browser losing its session cookie) sends them to log in and back to the form with their text.
axe-core checks the form in the states only these journeys reach (a draft restored, kept)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from odr.accounts.sessions import end_other_sessions
from odr.cases.drafts import LodgingDraft
from odr.db import write_transaction
from odr.extensions import db
from tests.e2e.conftest import field, translated
from tests.e2e.test_accessibility import violations
from tests.factories import PASSWORD, make_user

MERCHANT = "Rheinland Electronics GmbH"
DESCRIPTION = "耳机用了一周就坏了，商家不回复。The headphones broke after a week."


def said(language: str, msgid: str) -> re.Pattern[str]:
    """The text the page shows for `msgid` in `language`, whatever its %(time)s."""
    return re.compile(re.escape(translated(language, msgid)).replace(r"%\(time\)s", ".+"))


def _draft_of(site, user) -> dict[str, str] | None:
    with site.app.app_context():
        draft = db.session.query(LodgingDraft).filter_by(user_id=user.id).one_or_none()
        return dict(draft.fields) if draft else None


def _log_in(page: Page, email: str) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()


def _session_ends(site, page: Page, user, how: str) -> None:
    if how == "on the server":  # idle too long, or ended elsewhere: the cookie names a dead session
        with site.app.app_context(), write_transaction(db.session):
            end_other_sessions(user.id)
    else:  # the browser lost its session cookie (and with it the CSRF token's secret)
        page.context.clear_cookies(name=site.app.config["SESSION_COOKIE_NAME"])


@pytest.mark.parametrize(
    ("screen", "language", "how"),
    [
        ("desktop", "en", "on the server"),
        ("phone", "zh_Hant", "by the browser"),
        ("desktop", "zh_Hans", "by the browser"),
        ("phone", "en", "on the server"),
    ],
)
def test_what_was_typed_survives_a_reload_and_an_ended_session(
    site, open_screen, screen, language, how
):
    consumer = make_user(site.app, "consumer", language=language)
    page = open_screen(screen, language)
    page.goto("/login")
    _log_in(page, consumer.email)
    page.goto("/disputes/new")
    form = page.locator("form.lodge")
    lodge_button = form.locator("button[type=submit]").first
    expect(lodge_button).to_have_text(translated(language, "Lodge the dispute"))

    # Autosave: a few seconds after typing stops, the page says it saved; a reload brings it back.
    field(form, "respondent.name").fill(MERCHANT)
    field(form, "claim.description").fill(DESCRIPTION)
    status = page.locator("#draft-status")
    expect(status).to_have_text(said(language, "Draft saved at %(time)s"), timeout=15_000)
    assert _draft_of(site, consumer)["claim.description"] == DESCRIPTION

    page.reload()
    expect(field(form, "respondent.name")).to_have_value(MERCHANT)
    expect(field(form, "claim.description")).to_have_value(DESCRIPTION)
    notice = page.locator("main .draft-notice")
    expect(notice).to_contain_text(said(language, "We restored your draft from %(time)s."))
    expect(notice.get_by_role("button")).to_have_text(translated(language, "Discard the draft"))
    assert violations(page) == []

    # More typing, then the session ends before "Lodge" is pressed.
    field(form, "order.reference").fill("SW-2024-0815")
    _session_ends(site, page, consumer, how)
    lodge_button.click()

    expect(page).to_have_url(re.compile(r"/login\?next="))
    ended = (
        "Your session had ended, so nothing was sent yet. What you typed is kept: log in again "
        "and it will be back in the form."
    )
    expect(page.locator("main .flash")).to_contain_text(translated(language, ended))

    _log_in(page, consumer.email)
    expect(page).to_have_url(re.compile(r"/disputes/new$"))
    kept = translated(language, "What you typed before your session ended is kept as your draft.")
    expect(page.locator("main .flash.ok")).to_contain_text(kept)
    expect(field(form, "respondent.name")).to_have_value(MERCHANT)
    expect(field(form, "claim.description")).to_have_value(DESCRIPTION)
    expect(field(form, "order.reference")).to_have_value("SW-2024-0815")
    assert violations(page) == []
