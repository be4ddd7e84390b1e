"""In a real browser, on a desktop and a phone, in English and Simplified Chinese: a lodging form
sent with a bad amount and a missing field comes back with a summary at the top that has the
focus, names the fields by their labels and takes the person to each; amounts typed as people
write them are lodged; sign-up preselects the browser's time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from odr import clock
from odr.cases.models import Case
from odr.extensions import db
from tests.e2e.conftest import REFERENCE, SCREENS, field, translated
from tests.e2e.test_browser import log_in
from tests.factories import make_user

SCREENS_AND_LANGUAGES = [
    (screen, language) for screen in ("desktop", "phone") for language in ("en", "zh_Hans")
]


def fill_in_lodging(page: Page, *, total: str, claim: str, merchant_name: str) -> None:
    form = page.locator("form.lodge")
    ordered = clock.today() - timedelta(days=20)
    texts = {
        "respondent.name": merchant_name,
        "respondent.email": "orders@bergmann.example",
        "order.platform": "ShopWorld",
        "order.reference": "SW-4711",
        "order.ordered_on": ordered.isoformat(),
        "order.total.amount": total,
        "order.items.0.description": "Espresso machine",
        "claim.description": "It leaks from the first day.",
        "claim.amount.amount": claim,
    }
    choices = {
        "respondent.country": "DE",
        "respondent.language": "de",
        "order.total.currency": "EUR",
        "claim.amount.currency": "EUR",
    }
    for name, value in texts.items():
        field(form, name).fill(value)
    for name, value in choices.items():
        field(form, name).select_option(value)
    form.locator("button[type=submit]").first.click()


def focused_id(page: Page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


@pytest.mark.parametrize(("screen", "language"), SCREENS_AND_LANGUAGES)
def test_a_form_with_errors_shows_a_focused_summary_that_leads_to_each_field(
    site, open_screen, screen, language
):
    consumer = make_user(site.app, "consumer", country="CN", language=language)
    page = open_screen(screen, language)
    log_in(page, consumer.email)
    page.goto("/disputes/new")
    fill_in_lodging(page, total="12 bananas", claim="89", merchant_name="")

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("h2")).to_have_text(translated(language, "There is a problem"))
    expect(summary).to_be_focused()
    assert summary.evaluate("(el) => el.getBoundingClientRect().top < window.innerHeight")

    links = summary.locator("a")
    names = {
        translated(language, "Merchant's name"): "respondent.name",
        translated(language, "Order total"): "order.total.amount",
    }
    expect(links).to_have_text(list(names), use_inner_text=True)
    assert "respondent." not in summary.inner_text() and "order." not in summary.inner_text()
    for label, control in names.items():
        summary.get_by_role("link", name=label).click()
        assert focused_id(page) == control
        in_view = page.locator(f'[id="{control}"]').evaluate(
            "(el) => { const r = el.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }"
        )
        assert in_view, control
    # next to the control, too, tied to it for screen readers
    amount = page.locator('[id="order.total.amount"]')
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator('[id="order.total.amount-error"]')).to_contain_text("1,299.50")


@pytest.mark.parametrize(("screen", "language"), SCREENS_AND_LANGUAGES)
def test_amounts_are_lodged_as_people_type_them(site, open_screen, screen, language):
    consumer = make_user(site.app, "consumer", country="CN", language=language)
    page = open_screen(screen, language)
    log_in(page, consumer.email)
    page.goto("/disputes/new")
    # names in the page's language, codes sent
    germany = page.locator('[name="respondent.country"] option[value="DE"]')
    expect(germany).to_have_text("Germany" if language == "en" else "德国")
    fill_in_lodging(page, total="1,299.50", claim="€ 89", merchant_name="Bergmann GmbH")

    heading = page.locator("main h1")
    expect(heading).to_contain_text(REFERENCE)
    reference = REFERENCE.search(heading.inner_text()).group(0)
    with site.app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.reference == reference))
        assert (case.order_total_minor, case.claim_amount_minor) == (129950, 8900)
        assert (case.respondent_country, case.respondent_language) == ("DE", "de")
        db.session.remove()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize(("language", "zone"), [("en", "Europe/Berlin"), ("zh_Hans", "Asia/Tokyo")])
def test_sign_up_preselects_the_browsers_time_zone(site, browser, screen, language, zone):
    locales = {"en": "en-US", "zh_Hans": "zh-CN"}
    context = browser.new_context(
        base_url=site.url, locale=locales[language], timezone_id=zone, **SCREENS[screen]
    )
    try:
        page = context.new_page()
        page.goto("/signup")
        expect(page.locator("#timezone")).to_have_value(zone)
        # a choice the person made survives a refused form
        page.locator("#timezone").select_option("America/New_York")
        page.locator("main form button[type=submit]").click()
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#timezone")).to_have_value("America/New_York")
    finally:
        context.close()


def test_without_javascript_the_summary_takes_the_focus_all_the_same(site, browser):
    consumer = make_user(site.app, "consumer", country="CN")
    context = browser.new_context(
        base_url=site.url, locale="en-US", java_script_enabled=False, **SCREENS["phone"]
    )
    try:
        page = context.new_page()
        log_in(page, consumer.email)
        page.goto("/disputes/new")
        fill_in_lodging(page, total="89", claim="89", merchant_name="")
        expect(page.locator("#error-summary")).to_be_focused()  # its autofocus
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.getAttribute('href')") == (
            "#respondent.name"
        )
    finally:
        context.close()
