"""In a real browser: a consumer in China lodges a dispute in Chinese, a German merchant offers a
partial refund, the consumer accepts it and the dispute is settled.

The app runs on its own SQLite file behind werkzeug's server; Debian's Chromium drives it.
Expected texts come from the compiled catalogs, so the test follows the translations as they grow
(a missing translation falls back to the English msgid, both here and in the app).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from babel.support import Translations
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from werkzeug.serving import make_server

from odr import clock
from odr.config import PROJECT_ROOT
from odr.extensions import db
from tests.conftest import Mailbox, build_app, free_port
from tests.factories import PASSWORD, make_user

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MERCHANT_EMAIL = "service@rheinland-electronics.example"
CLAIM_DESCRIPTION = "耳机左侧没有声音，用了一个星期就坏了。"
OFFER_TERMS = "We refund 60.00 EUR within 7 days; you keep the headphones."
REFERENCE = re.compile(r"ODR-\d{4}-\d{6}")


def translated(locale: str, message: str) -> str:
    """The text the app shows for `message` in `locale`, from the compiled catalog."""
    return Translations.load(str(PROJECT_ROOT / "locales"), [locale]).gettext(message)


# ---- fixtures: the server, the browser, a page per party ------------------------------------


@dataclass(frozen=True)
class Site:
    app: Flask
    url: str


@pytest.fixture(scope="module")
def site(mailbox: Mailbox) -> Iterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = build_app("sqlite", mailbox, name="e2e.db", BASE_URL=url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="odr-e2e", daemon=True)
    thread.start()
    yield Site(app, url)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser, site: Site) -> Iterator[Callable[[], Page]]:
    """Each call opens a page in a browser context of its own (its own cookies)."""
    contexts = []

    def open_page() -> Page:
        # An English browser: the Chinese UI has to come from the consumer's account.
        context = browser.new_context(base_url=site.url, locale="en-US")
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


# ---- steps -------------------------------------------------------------------------------------


def field(scope: Page | Locator, name: str) -> Locator:
    return scope.locator(f'[name="{name}"]')


def log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header form[action$='/logout']")).to_be_visible()


def use_language(page: Page, locale: str, button: str) -> None:
    html_lang = locale.replace("_", "-")
    if page.locator("html").get_attribute("lang") != html_lang:
        page.locator("header form.languages").get_by_role("button", name=button).click()
    expect(page.locator("html")).to_have_attribute("lang", html_lang)


def lodge_dispute(page: Page) -> str:
    """Fill in the lodging form; return the reference shown on the new dispute's page."""
    page.locator("header nav a[href$='/disputes/new']").click()
    form = page.locator("form.lodge")
    ordered = clock.today() - timedelta(days=20)
    texts = {
        "respondent.name": "Rheinland Electronics GmbH",
        "respondent.email": MERCHANT_EMAIL,
        "respondent.country": "DE",
        "respondent.language": "en",
        "respondent.website": "https://rheinland-electronics.example",
        "order.platform": "ShopWorld",
        "order.reference": "SW-2024-0815",
        "order.ordered_on": ordered.isoformat(),
        "order.delivered_on": (ordered + timedelta(days=5)).isoformat(),
        "order.total.amount": "129.90",
        "order.items.0.description": "Bluetooth 耳机",
        "order.items.0.quantity": "1",
        "claim.description": CLAIM_DESCRIPTION,
        "claim.amount.amount": "129.90",
    }
    choices = {
        "order.total.currency": "EUR",
        "claim.category": "defective",
        "claim.remedy": "refund",
        "claim.amount.currency": "EUR",
        "language": "zh_Hans",
    }
    for name, value in texts.items():
        field(form, name).fill(value)
    for name, value in choices.items():
        field(form, name).select_option(value)
    form.locator("button[type=submit]").click()

    heading = page.locator("main h1")
    expect(heading).to_contain_text(REFERENCE)
    return REFERENCE.search(heading.inner_text()).group(0)


def state_label(page: Page) -> Locator:
    return page.locator("main .status .state")


def offer_row(page: Page, terms: str) -> Locator:
    return page.locator("tr.offer", has_text=terms)


def make_offer(page: Page, amount: str, currency: str, remedy: str, terms: str) -> None:
    form = page.locator("form.offer-form")
    field(form, "amount.amount").fill(amount)
    field(form, "amount.currency").select_option(currency)
    field(form, "remedy").select_option(remedy)
    field(form, "terms").fill(terms)
    field(form, "performance_due").fill((clock.today() + timedelta(days=7)).isoformat())
    form.locator("button[type=submit]").click()


# ---- the journey -------------------------------------------------------------------------------


def test_consumer_lodges_in_chinese_and_settles_with_merchant_offer(site, open_page):
    consumer_email = "wang.xiaoming@example.cn"
    make_user(
        site.app,
        "consumer",
        email=consumer_email,
        name="王小明",
        country="CN",
        language="zh_Hans",
    )
    make_user(
        site.app,
        "merchant",
        email=MERCHANT_EMAIL,
        name="Rheinland Electronics",
        country="DE",
        language="en",
    )

    consumer = open_page()
    log_in(consumer, consumer_email)
    use_language(consumer, "zh_Hans", "简体中文")
    reference = lodge_dispute(consumer)
    expect(state_label(consumer)).to_have_text(translated("zh_Hans", "Negotiation"))
    expect(consumer.locator("main")).to_contain_text(CLAIM_DESCRIPTION)

    merchant = open_page()
    log_in(merchant, MERCHANT_EMAIL)
    expect(merchant.locator("main h1")).to_have_text(translated("en", "Disputes against me"))
    merchant.get_by_role("link", name=reference).click()
    make_offer(merchant, "60.00", "EUR", "partial_refund", OFFER_TERMS)
    offer = offer_row(merchant, OFFER_TERMS)
    expect(offer).to_have_class(re.compile(r"\boffer-open\b"))
    expect(offer).to_contain_text(translated("en", "Open"))
    expect(offer).to_contain_text("60.00")

    consumer.reload()
    offer = offer_row(consumer, OFFER_TERMS)
    expect(offer).to_contain_text(translated("zh_Hans", "Partial refund"))
    offer.locator("form[action$='/accept'] button").click()
    expect(state_label(consumer)).to_have_text(translated("zh_Hans", "Settled"))
    expect(offer_row(consumer, OFFER_TERMS)).to_contain_text(translated("zh_Hans", "Accepted"))

    ARTIFACTS.mkdir(exist_ok=True)
    consumer.screenshot(path=str(ARTIFACTS / "settled.png"), full_page=True)
