"""In a real browser, on a desktop and a phone, in English and Simplified Chinese: accepting an
offer asks first. The binding button looks unlike the harmless ones and says it binds, and comes
after them; pressing it shows who pays what by when, in which time zone; "Go back" is the first
button there and leaves the dispute as it was; only the confirming press settles it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from playwright.sync_api import Locator, Page, expect

from odr import clock
from odr.cases.performance import deadline_text
from odr.i18n import format_money
from tests.e2e.conftest import ARTIFACTS, translated
from tests.e2e.test_accessibility import violations
from tests.e2e.test_browser import log_in, state_label
from tests.factories import ApiClient, lodge, make_user

MERCHANT = "Bergmann GmbH"
TERMS = "We refund the full price within the week."
STYLE = """(e) => { const s = getComputedStyle(e);
    return [s.backgroundColor, s.borderTopColor, s.borderTopWidth, s.color].join(' '); }"""


def style_of(button: Locator) -> str:
    """The button's look once the page's stylesheet has loaded: a page reached by a click can be
    read before its CSS arrives, when every button still wears the browser's default."""
    button.page.wait_for_load_state("load")
    return button.evaluate(STYLE)


def offer_by_merchant(site, consumer, serial: str) -> tuple[dict, str]:
    merchant = make_user(
        site.app, "merchant", email=f"shop-{serial}@bergmann.example", name=MERCHANT, country="DE"
    )
    api = ApiClient(site.app)
    dispute = lodge(
        api.as_user(consumer),
        respondent_email=merchant.email,
        respondent__name=MERCHANT,
        respondent__country="DE",
    )
    due = clock.today() + timedelta(days=15)
    made = api.as_user(merchant).post(
        f"/api/v1/disputes/{dispute['id']}/offers",
        {
            "amount": {"amount": "1299.50", "currency": "EUR"},
            "remedy": "refund",
            "terms": TERMS,
            "performance_due": due.isoformat(),
        },
    )
    assert made.status_code == 201, made.get_json()
    with site.app.test_request_context(), force_locale(consumer.language):
        pays = translated(consumer.language, "%(merchant)s pays %(amount)s by %(deadline)s.") % {
            "merchant": MERCHANT,
            "amount": format_money(129950, "EUR"),
            "deadline": deadline_text(due, "Europe/Berlin"),
        }
    return dispute, pays


def the_offer(page: Page) -> Locator:
    return page.locator("tr.offer", has_text=TERMS)


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_accepting_an_offer_shows_what_it_binds_to_and_acts_only_when_confirmed(
    site, open_screen, screen, language
):
    def t(message: str) -> str:
        return translated(language, message)

    consumer = make_user(site.app, "consumer", name="王小明", language=language)
    dispute, pays = offer_by_merchant(site, consumer, f"{screen}-{language}")
    page = open_screen(screen, language)
    log_in(page, consumer.email)
    page.goto(f"/disputes/{dispute['id']}")

    # On the dispute page: harmless first, the binding one unlike them and saying so.
    first_action = page.locator("section[aria-labelledby=actions-h] button").first
    expect(first_action).not_to_have_class(re.compile(r"\bbinding\b"))
    row_buttons = the_offer(page).locator("button")
    expect(row_buttons.first).to_have_text(t("Reject offer"))
    accept = the_offer(page).locator("button.binding")
    expect(accept).to_have_text(t("Accept offer"))
    expect(the_offer(page).locator(".binding-cue")).to_have_text(
        t("Binding: you will be asked to confirm")
    )
    expect(the_offer(page).locator(".binding-cue")).to_be_visible()
    assert style_of(accept) != style_of(first_action)
    assert style_of(accept) != style_of(row_buttons.first)

    # The confirmation step: what will happen, with the amount, the date and its zone.
    accept.click()
    action = t("Accept offer")
    expect(page.locator("main h1")).to_have_text(
        t("Please confirm: %(action)s") % {"action": action}
    )
    summary = page.locator(".binding-summary")
    expect(summary).to_contain_text(pays)
    expect(summary).to_contain_text("23:59")
    expect(summary).to_contain_text("Europe/Berlin")
    expect(summary).to_contain_text(t("It is binding: you cannot take it back."))
    expect(summary).to_contain_text(TERMS)
    buttons = page.locator("main button")
    expect(buttons.first).to_have_text(t("Go back"))
    confirming = page.locator("main form.confirm button.binding")
    expect(confirming).to_have_text(t("Confirm: %(action)s") % {"action": action})
    assert style_of(confirming) != style_of(buttons.first)
    assert violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"confirm-{screen}-{language}.png"), full_page=True)

    # Going back changes nothing.
    buttons.first.click()
    expect(page).to_have_url(f"{site.url}/disputes/{dispute['id']}")
    expect(state_label(page)).to_have_text(t("Negotiation"))
    expect(the_offer(page)).to_contain_text(t("Open"))

    # Confirming settles the dispute.
    the_offer(page).locator("button.binding").click()
    page.locator("main form.confirm button.binding").click()
    expect(state_label(page)).to_have_text(t("Settled"))
    expect(the_offer(page)).to_contain_text(t("Accepted"))
