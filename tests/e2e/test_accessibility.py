"""axe-core finds no WCAG 2 A/AA violation on any page of any role, in any of the three languages,
nor in the states a page only shows after something was done (a form with errors, a link that
went wrong, a document checked, a binding act waiting for its confirmation).

The world is the one the every-form crawler seeds (a dispute in each stage, referrals, a partner
desk). Each role logs in and crawls its pages once; then every page found is loaded and checked in
English, Simplified and Traditional Chinese (the account's language is switched between passes,
since an account's choice wins over the browser's). axe is the copy bundled with
axe-playwright-python, evaluated in the page (Playwright's evaluate is not subject to the CSP).

Every violation is a row of `test-artifacts/accessibility.csv`; the test fails with them listed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from odr.accounts.models import User
from odr.extensions import db
from tests.e2e.conftest import ARTIFACTS, BROWSER_LOCALES, Site
from tests.e2e.test_browser import log_in
from tests.e2e.test_every_form import ROLES, crawl_pages, normalised, seed_world

AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LANGUAGES = ("en", "zh_Hans", "zh_Hant")
# Pages a visitor reaches from a mail or by typing, not by following links, and the states of
# pages that only show after something went wrong.
VISITOR_STATES = (
    "/login",
    "/signup",
    "/password/forgot",
    "/verify",
    "/verify/ZZZZ-ZZZZ-ZZZZ",
    "/account/verify/not-a-real-token",
    "/invitations/not-a-real-token",
    "/password/reset/not-a-real-token",
)
RUN_AXE = """(tags) => axe.run(document, {
        runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
    .then((result) => result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    })))"""


def violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE)
    return page.evaluate(RUN_AXE, TAGS)


def set_language(site: Site, language: str) -> None:
    """Every account reads the site in `language` from its next page on."""
    with site.app.app_context():
        db.session.execute(sa.update(User).values(language=language))
        db.session.commit()


@pytest.fixture(scope="module")
def found_pages(site: Site, browser: Browser) -> Iterator[dict[str, tuple[Any, list[str]]]]:
    """Per role (and the visitor who has not logged in): its browser context and the pages it
    can reach, one of each kind."""
    world = seed_world(site.app)
    found = {}
    for role in ("visitor", *ROLES):
        context = browser.new_context(base_url=site.url, locale="en-US")
        context.set_default_timeout(30_000)
        page = context.new_page()
        if role != "visitor":
            log_in(page, world.emails[role])
        urls = [p.url for p in crawl_pages(page, site)]
        if role == "visitor":
            urls += [f"{site.url}{path}" for path in VISITOR_STATES]
        page.close()
        found[role] = (context, list(dict.fromkeys(urls)))
    yield found
    for context, _urls in found.values():
        context.close()


@pytest.fixture(scope="module")
def table() -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    yield rows
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "accessibility.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["language", "role", "page", "rule", "targets"])
        writer.writeheader()
        writer.writerows(rows)


def _check(page: Page, language: str, role: str, label: str, rows: list) -> None:
    for violation in violations(page):
        rows.append(
            {
                "language": language,
                "role": role,
                "page": label,
                "rule": f"{violation['id']} ({violation['impact']}): {violation['help']}",
                "targets": " | ".join(violation["targets"]),
            }
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_of_any_role_violates_wcag_a_or_aa(language, site, browser, found_pages, table):
    set_language(site, language)
    rows: list[dict[str, Any]] = []
    checked = 0
    for role, (context, urls) in found_pages.items():
        if role == "visitor":  # a visitor's language is its browser's
            context = browser.new_context(base_url=site.url, locale=BROWSER_LOCALES[language])
        page = context.new_page()
        kinds: set[str] = set()
        for url in urls:
            kind = normalised(url.removeprefix(site.url).split("?")[0])
            if language != "en" and kind in kinds:
                continue  # in Chinese, one page of each kind: the layout is the same
            kinds.add(kind)
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status < 500, (url, response.status)
            lang = page.locator("html").get_attribute("lang")
            assert lang == language.replace("_", "-"), (role, url, lang)
            _check(page, language, role, url.removeprefix(site.url), rows)
            checked += 1
        page.close()
        if role == "visitor":
            context.close()
    table.extend(rows)
    print(f"{language}: {checked} pages checked")
    assert checked > 40, f"only {checked} pages were checked: the crawl reached too little"
    assert not rows, f"{len(rows)} WCAG violations in {language}:\n" + "\n".join(
        f"{r['role']} {r['page']}: {r['rule']} at {r['targets']}" for r in rows
    )


def test_the_check_finds_a_violation_when_there_is_one(site, found_pages):
    """The check itself: the same page, with its e-mail field's label taken away, fails."""
    context, _urls = found_pages["visitor"]
    page = context.new_page()
    page.goto("/login")
    assert violations(page) == []
    page.evaluate("() => document.querySelector('label[for=email]').remove()")
    assert "label" in {violation["id"] for violation in violations(page)}
    page.close()
