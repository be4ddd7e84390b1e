"""In a real browser: a case manager admits a flagged filing and reassigns a case from the desk;
a mediator filters the workspace by deadline and opens the case; the claimant uploads evidence,
which the mediator then downloads, byte for byte."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from odr import clock
from tests.e2e.conftest import ARTIFACTS, translated
from tests.e2e.test_browser import log_in, state_label
from tests.factories import ApiClient, lodge, make_neutral, make_user

RECEIPT = b"Receipt SW-2024-0815: Bluetooth headphones, 129.90 EUR, paid 2026-11-12.\n"


def test_case_manager_screens_and_reassigns_then_mediator_finds_the_case(site, open_page):
    manager = make_user(site.app, "case_manager", name="Case Manager Wu")
    second = make_neutral(site.app, "mediator", ["en"], name="Mediator Second")
    first = make_neutral(site.app, "mediator", ["en"], name="Mediator First")
    consumer = make_user(site.app, "consumer")
    claimant = ApiClient(site.app).as_user(consumer)
    flagged = lodge(
        claimant,
        respondent_email="flagged@shop.example",
        claim__amount={"amount": "900.00", "currency": "EUR"},
    )
    assert flagged["state"] == "filed"
    with clock.travel_to(clock.now() - timedelta(days=26)):  # its 30 days end in 4
        urgent = lodge(claimant, respondent_email="urgent@shop.example")
        escalated = claimant.post(
            f"/api/v1/disputes/{urgent['id']}/actions/escalate", {"reason": "no answer"}
        ).get_json()
    assert escalated["mediator"]["id"] == second.id
    later = lodge(claimant, respondent_email="later@shop.example")
    moved = claimant.post(f"/api/v1/disputes/{later['id']}/actions/escalate", {"reason": "none"})
    assert moved.get_json()["mediator"]["id"] == first.id

    desk = open_page()
    log_in(desk, manager.email)
    desk.get_by_role("link", name=translated("en", "Desk")).click()
    screening = desk.locator(
        "section[aria-labelledby=screening-h] li", has_text=flagged["reference"]
    )
    screening.locator("form[action$='/admit'] button").click()
    expect(desk.locator(".flash.ok")).to_be_visible()
    expect(state_label(desk)).to_have_text(translated("en", "Negotiation"))

    desk.goto(f"/disputes/{later['id']}")
    form = desk.locator("form.action[action$='/reassign']")
    form.locator("[name=reason]").fill("Mediator First is on leave")
    form.locator("[name=neutral_id]").select_option(str(second.id))
    form.locator("button[type=submit]").click()
    expect(desk.locator("main .neutral")).to_contain_text("Mediator Second")

    workspace = open_page()
    log_in(workspace, second.email)
    workspace.get_by_role("link", name=translated("en", "My caseload")).click()
    rows = workspace.locator("table.caseload tbody tr")
    expect(rows).to_have_count(2)
    workspace.locator("#due_within_days").fill("7")
    workspace.locator("form.filters button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(urgent["reference"])
    rows.first.get_by_role("link", name=urgent["reference"]).click()
    expect(state_label(workspace)).to_have_text(translated("en", "Mediation"))
    expect(workspace.locator("main h1")).to_contain_text(urgent["reference"])
    ARTIFACTS.mkdir(exist_ok=True)
    workspace.go_back()
    workspace.screenshot(path=str(ARTIFACTS / "workspace.png"), full_page=True)

    party = open_page()
    log_in(party, consumer.email)
    party.goto(f"/disputes/{urgent['id']}")
    upload = party.locator("form.evidence-form")
    upload.locator("input[type=file]").set_input_files(
        {"name": "receipt.txt", "mimeType": "text/plain", "buffer": RECEIPT}
    )
    upload.locator("button[type=submit]").click()
    listed = party.locator("table.evidence")
    expect(listed).to_contain_text("receipt.txt")

    workspace.goto(f"/disputes/{urgent['id']}")
    with workspace.expect_download() as caught:
        workspace.locator("table.evidence a", has_text="receipt.txt").click()
    download = caught.value
    assert download.suggested_filename == "receipt.txt"
    assert Path(download.path()).read_bytes() == RECEIPT
