"""What the browser tests share: the app served by werkzeug in a thread, Debian's Chromium, a page
per party, and steps and look-ups used by more than one journey.

Each test module gets a server of its own on its own SQLite file; BASE_URL is the served address,
so the links in the mails the app sends work in the browser.
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
def site(request: pytest.FixtureRequest, mailbox: Mailbox) -> Iterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    module = request.module.__name__.rsplit(".", 1)[-1]
    app = build_app("sqlite", mailbox, name=f"e2e-{module}.db", BASE_URL=url)
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
        # An English browser: a Chinese UI has to come from the party's account.
        context = browser.new_context(base_url=site.url, locale="en-US")
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
}
BROWSER_LOCALES = {"en": "en-US", "zh_Hans": "zh-CN", "zh_Hant": "zh-TW"}


@pytest.fixture
def open_screen(browser: Browser, site: Site) -> Iterator[Callable[[str, str], Page]]:
    """`open_screen("phone", "zh_Hans")`: a page in a context of its own, on that screen, whose
    browser asks for that language (the UI follows it until an account chooses another)."""
    contexts = []

    def open_screen(screen: str, language: str) -> Page:
        context = browser.new_context(
            base_url=site.url, locale=BROWSER_LOCALES[language], **SCREENS[screen]
        )
        contexts.append(context)
        return context.new_page()

    yield open_screen
    for context in contexts:
        context.close()


# ---- mail --------------------------------------------------------------------------------------


def link_in_mail(mailbox: Mailbox, to: str, prefix: str) -> str:
    """The one mail sent to `to` so far, and the link in its text that starts with `prefix`.

    Mail is delivered in the request that queues it (QUEUE_IMMEDIATE), so it has arrived by the
    time the browser shows the answer to that request.
    """
    messages = mailbox.to(to)
    assert len(messages) == 1, [message["Subject"] for message in messages]
    text = messages[0].get_body(preferencelist=("plain",)).get_content()
    found = re.search(re.escape(prefix) + r"/\S+", text)
    assert found, f"no {prefix} link in the mail to {to}:\n{text}"
    return found.group(0)


# ---- steps -------------------------------------------------------------------------------------


def field(scope: Page | Locator, name: str) -> Locator:
    return scope.locator(f'[name="{name}"]')


def lodge_dispute(
    page: Page,
    *,
    merchant_name: str,
    merchant_email: str,
    description: str,
    merchant_website: str = "https://rheinland-electronics.example",
) -> str:
    """Fill in the lodging form; return the reference shown on the new dispute's page."""
    page.locator("header nav a[href$='/disputes/new']").click()
    form = page.locator("form.lodge")
    ordered = clock.today() - timedelta(days=20)
    texts = {
        "respondent.name": merchant_name,
        "respondent.email": merchant_email,
        "respondent.website": merchant_website,
        "order.platform": "ShopWorld",
        "order.reference": "SW-2024-0815",
        "order.ordered_on": ordered.isoformat(),
        "order.delivered_on": (ordered + timedelta(days=5)).isoformat(),
        "order.total.amount": "129.90",
        "order.items.0.description": "Bluetooth 耳机",
        "order.items.0.quantity": "1",
        "claim.description": description,
        "claim.amount.amount": "129.90",
    }
    choices = {
        "respondent.country": "DE",
        "respondent.language": "en",
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
    form.locator("button[type=submit]:not([formaction])").click()  # not "Save draft"

    heading = page.locator("main h1")
    expect(heading).to_contain_text(REFERENCE)
    return REFERENCE.search(heading.inner_text()).group(0)
