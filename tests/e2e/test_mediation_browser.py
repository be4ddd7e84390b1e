"""In a real browser: a mediator opens an assigned case and proposes terms, each party accepts
on its own page, and every page then says the dispute is settled."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from odr import clock
from tests.e2e.conftest import ARTIFACTS, field, translated
from tests.e2e.test_browser import log_in, state_label
from tests.factories import ApiClient, lodge, make_neutral, make_user

MERCHANT_EMAIL = "service@rheinland-electronics.example"
TERMS = "The merchant refunds 80.00 EUR within 14 days; the consumer keeps the headphones."


def test_mediator_proposes_and_both_parties_accept(site, open_page):
    consumer = make_user(site.app, "consumer", email="li.na@example.cn", language="zh_Hans")
    make_user(site.app, "merchant", email=MERCHANT_EMAIL, name="Rheinland Electronics")
    mediator = make_neutral(site.app, "mediator", ["en", "zh_Hans"], name="Mediator Chen")
    claimant_api = ApiClient(site.app).as_user(consumer)
    dispute = lodge(claimant_api, respondent_email=MERCHANT_EMAIL)
    escalated = claimant_api.post(
        f"/api/v1/disputes/{dispute['id']}/actions/escalate", {"reason": "no answer"}
    )
    assert escalated.get_json()["mediator"]["name"] == "Mediator Chen"

    neutral = open_page()
    log_in(neutral, mediator.email)
    neutral.get_by_role("link", name=dispute["reference"]).click()
    expect(state_label(neutral)).to_have_text(translated("en", "Mediation"))
    form = neutral.locator("form.action[action$='/propose_settlement']")
    field(form, "amount.amount").fill("80.00")
    field(form, "amount.currency").select_option("EUR")
    field(form, "remedy").select_option("partial_refund")
    field(form, "terms").fill(TERMS)
    field(form, "performance_due").fill((clock.today() + timedelta(days=14)).isoformat())
    form.locator("button[type=submit]").click()
    proposal = neutral.locator("section[aria-labelledby=proposal-h]")
    expect(proposal).to_contain_text(TERMS)
    expect(proposal).to_contain_text("80.00")

    pages = {}
    for party, email in (("claimant", consumer.email), ("respondent", MERCHANT_EMAIL)):
        page = pages[party] = open_page()
        log_in(page, email)
        page.goto(f"/disputes/{dispute['id']}")
        expect(page.locator("section[aria-labelledby=proposal-h]")).to_contain_text(TERMS)
        page.locator("form.action[action$='/accept_proposal'] button").click()
        page.locator("main form.confirm button[value=yes]").click()  # binding: asks first
        expect(page.locator(".flash.ok")).to_be_visible()

    for page, locale in ((pages["claimant"], "zh_Hans"), (pages["respondent"], "en")):
        page.reload()
        expect(state_label(page)).to_have_text(translated(locale, "Settled"))
    neutral.reload()
    expect(state_label(neutral)).to_have_text(translated("en", "Settled"))
    ARTIFACTS.mkdir(exist_ok=True)
    pages["claimant"].screenshot(path=str(ARTIFACTS / "mediated-settlement.png"), full_page=True)
