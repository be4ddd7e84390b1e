"""In a real browser: a consumer in China lodges a dispute in Chinese, a German merchant offers a
partial refund, the consumer accepts it and the dispute is settled.

The app runs on its own SQLite file behind werkzeug's server; Debian's Chromium drives it.
Expected texts come from the compiled catalogs, so the test follows the translations as they grow
(a missing translation falls back to the English msgid, both here and in the app).
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Locator, Page, expect

from odr import clock
from tests.e2e.conftest import ARTIFACTS, field, lodge_dispute, translated
from tests.factories import PASSWORD, make_user

MERCHANT_EMAIL = "service@rheinland-electronics.example"
CLAIM_DESCRIPTION = "耳机左侧没有声音，用了一个星期就坏了。"
OFFER_TERMS = "We refund 60.00 EUR within 7 days; you keep the headphones."


# ---- steps -------------------------------------------------------------------------------------


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
    reference = lodge_dispute(
        consumer,
        merchant_name="Rheinland Electronics GmbH",
        merchant_email=MERCHANT_EMAIL,
        description=CLAIM_DESCRIPTION,
    )
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
    consumer.locator("main form.confirm button[value=yes]").click()  # binding: asks first
    expect(state_label(consumer)).to_have_text(translated("zh_Hans", "Settled"))
    expect(offer_row(consumer, OFFER_TERMS)).to_contain_text(translated("zh_Hans", "Accepted"))

    ARTIFACTS.mkdir(exist_ok=True)
    consumer.screenshot(path=str(ARTIFACTS / "settled.png"), full_page=True)
