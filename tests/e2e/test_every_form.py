"""In a real browser, every form on every page of every role is submitted the way a person would,
and none may break: no answer of 500 or more, no 404 or 405 for the form's own action, and a
400, 403, 409 or 422 only with the page saying why (the form's own validation asked for it).

A crawler, role by role. The world is seeded once for the module (a dispute in each stage the
pages differ in: negotiation with offers both ways, screening, mediation with a proposal,
arbitration, settled, and referrals pending and accepted in the partner portal), each role logs
in once in Chromium, and the database is copied. Then:

1. Crawl: from the start page, breadth first, every same-site link that is an HTML page (not the
   log-out, not a download), at most `MAX_PAGES` pages. Paths are compared with their ids
   replaced (`/disputes/<id>`); pages of the same path that offer the same forms are one page
   (the first dispute of each kind), and a form is tried once per role for each such page
   (a form that acts on no object of the page, such as the language switch, once per role).
2. Submit: each form on a copy of the world: the database as seeded is copied back and the
   role's cookies restored, the page is loaded afresh, the required fields are filled with
   valid-looking values, the first submit button is pressed and the navigation awaited. So a
   form that ends something (withdraw, log out, deactivate, accept) never takes away what the
   others need, whatever the order.

Every submission is a row of `test-artifacts/every_form.csv` (role, page, form, the statuses of
the answer and its redirects, whether an error was shown, the verdict).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import sqlite3
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, Response
from playwright.sync_api import Error as PlaywrightError
from pypdf import PdfWriter

from odr import clock
from odr.accounts.services import hash_password
from odr.delivery.models import OutboxMessage
from odr.documents.models import Document
from odr.extensions import db
from odr.referrals.directory import add_partner, disable_partner
from tests.e2e.conftest import ARTIFACTS, Site
from tests.e2e.test_browser import log_in
from tests.factories import (
    PASSWORD,
    ApiClient,
    Dispute,
    lodge,
    make_neutral,
    make_user,
    token_for,
)

ROLES = (
    "consumer",
    "merchant",
    "merchant_staff",
    "mediator",
    "arbitrator",
    "case_manager",
    "partner",
)  # a platform acts through the API only
MAX_PAGES = 60  # distinct pages per role
MAX_LOADS = 150  # pages loaded per role, duplicates included
TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000  # a render of a PDF in the request, on a busy 2-core machine
# What a page shows when it answers a form with an error: a field's error, an error flash, an
# alert, or an error summary.
ERROR_SHOWN = (
    ".field-error, .flash.error, .error-summary, [id$='-error'], [role=alert]:not(.warn):not(.ok)"
)
ASKED_FOR = (400, 403, 409, 422)  # refusals that are the form's own answer when the page says why
NEVER_FOR_OWN_ACTION = (404, 405)
NEW_PASSWORD = "a different and rather long passphrase 2026"
# Forms the world must offer each role, by their path with ids replaced: the crawl has to reach
# them, or it is not crawling what it should.
MUST_TRY = {
    "consumer": {
        "/disputes/new",
        "/disputes/<id>/messages",
        "/disputes/<id>/offers",
        "/disputes/<id>/offers/<id>/accept",
        "/disputes/<id>/evidence",
        "/disputes/<id>/actions/confirm_performance",
    },
    "merchant": {"/disputes/<id>/messages", "/disputes/<id>/offers/<id>/reject", "/account/staff"},
    "merchant_staff": {"/disputes/<id>/messages", "/disputes/<id>/offers"},
    "mediator": {
        "/disputes/<id>/messages",
        "/disputes/<id>/notes",
        "/disputes/<id>/actions/propose_settlement",
    },
    "arbitrator": {"/disputes/<id>/messages", "/disputes/<id>/actions/issue_award"},
    "case_manager": {
        "/disputes/<id>/actions/admit",
        "/admin/users/new",
        "/admin/partners/new",
        "/admin/partners/<id>/enable",
        "/admin/webhooks/<id>/retry",
    },
    "partner": {"/partner/referrals/<id>/accept", "/partner/referrals/<id>/outcome"},
}


# ---- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    emails: dict[str, str]  # role -> the e-mail address it logs in with
    values: dict[str, str]  # field name -> a value only this world makes valid


def _one_page_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class WorldDispute(Dispute):
    """A dispute between the world's own consumer and merchant (a `Dispute` makes new ones)."""

    def __init__(self, app, api: ApiClient, parties: dict[str, Any], **lodging: Any) -> None:
        self.app, self.api, self.users = app, api, dict(parties)
        self.clients = {party: api.as_user(user) for party, user in parties.items()}
        body = {"respondent__country": "DE", **lodging}
        self.data = lodge(
            self.clients["claimant"], respondent_email=parties["respondent"].email, **body
        )
        self.id = self.data["id"]

    def offer(self, party: str, terms: str) -> str:
        due = (clock.today() + timedelta(days=14)).isoformat()
        body = {"amount": {"amount": "60.00", "currency": "EUR"}, "remedy": "partial_refund"}
        made = self.client(party).post(
            f"/api/v1/disputes/{self.id}/offers", {**body, "terms": terms, "performance_due": due}
        )
        assert made.status_code == 201, made.get_json()
        return made.get_json()["id"]

    def add_evidence(self, party: str, filename: str, data: bytes) -> None:
        client = self.client(party)
        added = client.client.post(
            f"/api/v1/disputes/{self.id}/evidence",
            data={"file": (io.BytesIO(data), filename)},
            headers=client._headers(None),
        )
        assert added.status_code == 201, added.get_json()


def seed_world(app) -> World:
    """The people, and a dispute in each stage, made through the API as the parties would."""
    consumer = make_user(app, "consumer", email="consumer@crawl.example", name="Li Na")
    merchant = make_user(
        app, "merchant", email="merchant@crawl.example", name="Bergmann GmbH", country="DE"
    )
    staff = make_user(
        app, "merchant", email="staff@crawl.example", name="Petra Staff", merchant_id=merchant.id
    )
    mediator = make_neutral(app, "mediator", ["en"], email="mediator@crawl.example")
    arbitrator = make_neutral(app, "arbitrator", ["en"], email="arbitrator@crawl.example")
    manager = make_user(app, "case_manager", email="manager@crawl.example")
    with app.app_context():
        _agency, desk, partner_token, _secret = add_partner(
            name="Schlichtung Online",
            countries=["DE"],
            languages=["de", "en"],
            webhook_url="https://schlichtung-online.example/hooks",
            legal_basis="GDPR art. 49(1)(a): the consumer's explicit consent",
            user_email="desk@crawl.example",
        )
        desk.password_hash = hash_password(PASSWORD)  # as if it had followed its welcome link
        db.session.commit()
    for user in (consumer, merchant):
        token_for(app, user)  # a token to revoke on the account page
    api = ApiClient(app)
    parties = {"claimant": consumer, "respondent": merchant}

    negotiation = WorldDispute(app, api, parties, order__reference="CRAWL-1")
    negotiation.offer("claimant", "I would take 100 EUR.")
    negotiation.offer("respondent", "We refund 60 EUR.")
    negotiation.add_evidence("claimant", "chat.txt", b"The shop's answer: no refund.\n")
    negotiation.must("respondent", "post_message", body="We are looking into it.")

    screened = WorldDispute(app, api, parties, order__reference="CRAWL-1")  # the same order
    assert screened.state == "filed"

    mediation = WorldDispute(
        app, api, parties, order__reference="CRAWL-2", arbitration_consent=True
    )
    mediation.to_mediation()
    mediation.must("claimant", "post_message", body="Only for the mediator.", channel="private")
    mediation.must(mediator, "write_note", body="The consumer would take 80 EUR.")
    mediation.propose(mediator)

    arbitration = WorldDispute(
        app, api, parties, order__reference="CRAWL-3", arbitration_consent=True
    )
    arbitration.to_mediation()
    arbitration.must("respondent", "consent_to_arbitration")
    arbitration.must(mediator, "fail_mediation", note="No agreement in sight.")
    assert arbitration.read()["arbitrator"]["id"] == arbitrator.id

    settled = WorldDispute(app, api, parties, order__reference="CRAWL-4")
    offer_id = settled.offer("respondent", "We refund 60 EUR within 14 days.")
    accepted_offer = settled.client("claimant").post(
        f"/api/v1/disputes/{settled.id}/offers/{offer_id}/accept"
    )
    assert accepted_offer.status_code == 200, accepted_offer.get_json()
    assert settled.state == "settled"

    referral = {"law": {"consumer_chose_merchant_law": True}, "transfer_consent": True}
    WorldDispute(app, api, parties, order__reference="CRAWL-5", **referral)  # pending
    accepted = WorldDispute(app, api, parties, order__reference="CRAWL-6", **referral)
    agency = ApiClient(app)
    agency.token = partner_token
    listed = agency.get("/api/v1/referrals").get_json()["items"]
    chosen = next(r for r in listed if r["dispute"]["reference"] == accepted.data["reference"])
    answer = agency.post(f"/api/v1/referrals/{chosen['id']}/accept", {"partner_reference": "SO-1"})
    assert answer.status_code == 200, answer.get_json()
    assert accepted.state == "with_partner"
    # the merchant's law, but no consent to send the data abroad: the case manager may refer it
    WorldDispute(app, api, parties, order__reference="CRAWL-7", law=referral["law"])

    with app.app_context():  # an agency disabled, and a webhook given up: the desk's other forms
        paused, *_ = add_partner(
            name="Paused Agency",
            countries=["AT"],
            languages=["de"],
            webhook_url="https://paused-agency.example/hooks",
            legal_basis="GDPR art. 49(1)(a): the consumer's explicit consent",
            user_email="paused@crawl.example",
        )
        disable_partner(paused, "Its endpoint answered 410.")
        webhook = db.session.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "webhook").limit(1)
        )
        webhook.dead_at = clock.now()
        db.session.commit()

    with app.app_context():
        code = db.session.scalar(sa.select(Document.verification_code).limit(1))
    emails = {
        "consumer": consumer.email,
        "merchant": merchant.email,
        "merchant_staff": staff.email,
        "mediator": mediator.email,
        "arbitrator": arbitrator.email,
        "case_manager": manager.email,
        "partner": "desk@crawl.example",
    }
    return World(emails=emails, values={"code": code})


class Snapshot:
    """A copy of the served SQLite database, put back whole before each form: each form is
    submitted on the world as seeded. SQLite's backup API copies page by page under its locks,
    so the server's open connections see the copy as a change like any other."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.copy = sqlite3.connect(":memory:", check_same_thread=False)

    def take(self) -> None:
        with sqlite3.connect(self.path, timeout=30) as source:
            source.backup(self.copy)

    def restore(self) -> None:
        target = sqlite3.connect(self.path, timeout=30)
        try:
            self.copy.backup(target, sleep=0.05)
        finally:
            target.close()


@dataclass
class Crawl:
    """A role's logged-in browser context, its cookies as they were after logging in, the
    snapshot, and what the crawl found and did."""

    role: str
    context: BrowserContext
    cookies: list[dict[str, Any]]
    snapshot: Snapshot
    site: Site
    world: World
    rows: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def crawls(site: Site, browser: Browser) -> Iterator[dict[str, Crawl]]:
    world = seed_world(site.app)
    path = site.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    snapshot = Snapshot(path)
    found = {}
    for role in ROLES:
        context = browser.new_context(base_url=site.url, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        log_in(context.new_page(), world.emails[role])
        found[role] = Crawl(role, context, context.cookies(), snapshot, site, world)
    snapshot.take()  # after the log-ins, so that every role's session is in the copy
    yield found
    for crawl in found.values():
        crawl.context.close()
    snapshot.copy.close()


@pytest.fixture(scope="module")
def table() -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    yield rows
    write_table(rows)


def write_table(rows: list[dict[str, Any]]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "every_form.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


COLUMNS = [
    "role",
    "page",
    "method",
    "action",
    "statuses",
    "final_url",
    "error_shown",
    "verdict",
    "seconds",
]


# ---- looking at pages --------------------------------------------------------------------------

_ID = re.compile(r"^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[\w-]{12,})$")


def normalised(path: str) -> str:
    """The path with every id in it (numbers, UUIDs, codes, tokens) replaced by `<id>`."""
    segments = path.split("/")
    return "/".join("<id>" if _ID.match(s) and any(c.isdigit() for c in s) else s for s in segments)


@dataclass(frozen=True)
class Form:
    index: int  # among the page's forms
    method: str
    action: str  # absolute
    fields: tuple[tuple[str, str], ...]  # (name, type) of what a person fills in or sees

    @property
    def path(self) -> str:
        return normalised(urlsplit(self.action).path)

    @property
    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """The same form wherever it is: method, action with ids replaced, fields."""
        return (self.method, self.path, self.fields)


READ_FORMS = """() => Array.from(document.forms).map((form, index) => ({
    index,
    method: (form.getAttribute('method') || 'get').toLowerCase(),
    action: form.action,
    fields: Array.from(form.elements)
        .filter((e) => e.name && !['submit', 'button', 'reset'].includes(e.type))
        .map((e) => [e.name, e.type || e.tagName.toLowerCase()]),
}))"""
READ_LINKS = """() => Array.from(document.querySelectorAll('a[href]'))
    .filter((a) => !a.hasAttribute('download'))
    .map((a) => a.href)"""


def forms_on(page: Page) -> list[Form]:
    return [
        Form(f["index"], f["method"], f["action"], tuple(sorted({tuple(x) for x in f["fields"]})))
        for f in page.evaluate(READ_FORMS)
    ]


def same_site(site: Site, url: str) -> str | None:
    """The address without its fragment, if it is a page of this site worth following."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != site.url:
        return None
    if parts.path.startswith(("/static/", "/logout", "/api/")):
        return None
    return url.split("#", 1)[0]


@dataclass
class FoundPage:
    url: str
    forms: list[Form]


def crawl_pages(page: Page, site: Site) -> list[FoundPage]:
    """Breadth first from the start page: one page of each kind, with its forms."""
    queue, queued = deque([f"{site.url}/"]), {f"{site.url}/"}
    kinds: set[Any] = set()
    paths_without_ids: set[str] = set()
    found: list[FoundPage] = []
    loads = 0
    while queue and len(found) < MAX_PAGES and loads < MAX_LOADS:
        url = queue.popleft()
        path = normalised(urlsplit(url).path)
        if "<id>" not in path and path in paths_without_ids:
            continue  # the same page with other query arguments (sorting, paging)
        loads += 1
        try:
            response = page.goto(url, wait_until="load")
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue  # a file, not a page
            raise
        assert response is not None and response.status < 400, (url, response and response.status)
        if not (response.headers.get("content-type") or "").startswith("text/html"):
            continue
        here = normalised(urlsplit(page.url).path)
        paths_without_ids.add(here)
        forms = forms_on(page)
        kind = (here, frozenset(f.key for f in forms))
        if kind in kinds:
            continue  # another dispute of a kind already seen
        kinds.add(kind)
        found.append(FoundPage(page.url, forms))
        for link in page.evaluate(READ_LINKS):
            target = same_site(site, link)
            if target and target not in queued:
                queued.add(target)
                queue.append(target)
    return found


def tried_once_per(found: list[FoundPage]) -> list[tuple[FoundPage, Form]]:
    """Each form once: per page for a form that acts on the page's object and that only some
    pages of the kind offer (a dispute's actions in its stage); once for the role for any other
    (the language switch, the log-out, the desk's admit beside each case, the case file that
    every dispute page offers alike)."""
    pages_of: dict[str, list[FoundPage]] = {}
    for found_page in found:
        pages_of.setdefault(normalised(urlsplit(found_page.url).path), []).append(found_page)
    everywhere = {
        path: set.intersection(*({f.key for f in p.forms} for p in pages))
        for path, pages in pages_of.items()
    }
    seen: set[Any] = set()
    chosen = []
    for found_page in found:
        page_path = urlsplit(found_page.url).path
        page_ids = {s for s in page_path.split("/") if s and normalised(s) == "<id>"}
        common = (
            everywhere[normalised(page_path)] if len(pages_of[normalised(page_path)]) > 1 else set()
        )
        for form in found_page.forms:
            action_ids = {s for s in urlsplit(form.action).path.split("/") if s}
            own = page_ids & action_ids and form.key not in common
            key = (found_page.url if own else "", *form.key)
            if key not in seen:
                seen.add(key)
                chosen.append((found_page, form))
    return chosen


# ---- filling in and submitting -----------------------------------------------------------------

_serial = itertools.count(1)


def value_for(name: str, kind: str, world: World) -> str:
    """A value a person could have typed into the field, chosen by its name and type."""
    n = name.lower()
    if n in world.values:
        return world.values[n]
    if kind == "password":
        return PASSWORD if n == "password" else NEW_PASSWORD
    if kind == "email" or n.endswith("email"):
        return f"crawler{next(_serial)}@example.org"
    if kind == "date":
        past = any(word in n for word in ("ordered", "delivered"))
        return (clock.today() + timedelta(days=-10 if past else 30)).isoformat()
    if kind == "number" or n.endswith("quantity"):
        return "2"
    if kind == "url" or n.endswith(("url", "website")):
        return "https://agency.example/hooks"
    if n.endswith("amount"):
        return "10.00"
    if n.endswith("country") or n == "countries":
        return "DE"
    if n.endswith("language") or n == "languages":
        return "en"
    if n == "status":
        return "hearing_scheduled"
    if n.endswith("reference"):
        return f"REF-{next(_serial)}"
    if n.endswith("name"):
        return "Crawler Test"
    return f"Written by the form crawler into {name}."


CONTROLS = "input, select, textarea, button"
READ_FIELDS = f"""(form) => Array.from(form.querySelectorAll('{CONTROLS}')).map((e, i) => ({{
    i,
    tag: e.tagName.toLowerCase(),
    type: e.type || '',
    name: e.name || '',
    required: !!e.required,
    value: e.value || '',
    checked: !!e.checked,
    disabled: !!e.disabled,
    accept: e.accept || '',
    options: e.tagName === 'SELECT' ? Array.from(e.options).map((o) => o.value) : [],
}}))"""


def fill_in(form_locator: Any, world: World, files: dict[str, str]) -> None:
    """Fill the required fields that are empty, pick the first real option of an empty select,
    tick the required boxes; leave what a person may leave as it is."""
    elements = form_locator.evaluate(READ_FIELDS)
    element = form_locator.locator(CONTROLS)
    radios_done: set[str] = set()
    for e in elements:
        target = element.nth(e["i"])
        kind, name = e["type"], e["name"]
        if e["disabled"] or not name or kind in ("hidden", "submit", "button", "reset"):
            continue
        if e["tag"] == "select":
            if not e["value"]:
                real = [value for value in e["options"] if value]
                if real:
                    target.select_option(real[0])
        elif kind == "checkbox":
            if e["required"] and not e["checked"]:
                target.check()
        elif kind == "radio":
            group_checked = any(x["name"] == name and x["checked"] for x in elements)
            if e["required"] and not group_checked and name not in radios_done:
                target.check()
                radios_done.add(name)
        elif kind == "file":
            if e["required"]:
                wanted = "pdf" if "pdf" in e["accept"] or not e["accept"] else "txt"
                target.set_input_files(files[wanted])
        elif e["required"] and not e["value"]:
            target.fill(value_for(name, kind, world))


def statuses_of(response: Response) -> list[int]:
    """The statuses of the answer to the submission: the redirects, then the page shown."""
    chain = []
    request = response.request
    while request is not None:
        chain.append(request)
        request = request.redirected_from
    statuses = []
    for request in reversed(chain):
        answer = request.response()
        statuses.append(answer.status if answer else 0)
    return statuses


def verdict(statuses: list[int], error_shown: bool) -> str:
    if any(status >= 500 for status in statuses):
        return "FAIL: server error"
    if statuses[0] in NEVER_FOR_OWN_ACTION:
        return "FAIL: the form's own action is refused"
    final = statuses[-1]
    if final in NEVER_FOR_OWN_ACTION:
        return "FAIL: led to a missing page"
    if 400 <= final < 500:
        if final in ASKED_FOR and error_shown:
            return "ok: refused, and the page says why"
        return "FAIL: refused without saying why"
    return "ok"


def submit_each(crawl: Crawl, chosen: list[tuple[FoundPage, Form]], files: dict) -> None:
    page = crawl.context.new_page()
    for found_page, form in chosen:
        started = time.monotonic()
        crawl.snapshot.restore()
        crawl.context.clear_cookies()
        crawl.context.add_cookies(crawl.cookies)
        page.goto(found_page.url, wait_until="load")
        candidates = page.locator("form")
        target = candidates.nth(form.index)
        if target.evaluate("(f) => f.action") != form.action:  # the page changed after all
            target = page.locator(f"form[action='{urlsplit(form.action).path}']").first
        fill_in(target, crawl.world, files)
        button = target.locator(
            "button:not([type=button]):not([type=reset]), input[type=submit]"
        ).first
        row = {
            "role": crawl.role,
            "page": urlsplit(found_page.url).path,
            "method": form.method.upper(),
            "action": form.path,
        }
        try:
            with page.expect_navigation(wait_until="load") as navigation:
                button.click()
            response = navigation.value
        except PlaywrightError as error:
            row.update(statuses="", final_url="", error_shown="", verdict=f"FAIL: {error}")
            row["seconds"] = f"{time.monotonic() - started:.2f}"
            crawl.rows.append(row)
            continue
        statuses = statuses_of(response) if response else [0]
        error_shown = page.locator(ERROR_SHOWN).count() > 0
        row.update(
            statuses=">".join(map(str, statuses)),
            final_url=urlsplit(page.url).path,
            error_shown="yes" if error_shown else "",
            verdict=verdict(statuses, error_shown),
            seconds=f"{time.monotonic() - started:.2f}",
        )
        crawl.rows.append(row)
    page.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("crawler-files")
    (folder / "receipt.pdf").write_bytes(_one_page_pdf())
    (folder / "note.txt").write_text("Delivery note: the parcel arrived damaged.\n")
    return {"pdf": str(folder / "receipt.pdf"), "txt": str(folder / "note.txt")}


# ---- the test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_form_of_every_page_answers_as_it_should(role, crawls, table, files):
    crawl = crawls[role]
    crawl.snapshot.restore()
    crawl_page = crawl.context.new_page()
    found = crawl_pages(crawl_page, crawl.site)
    crawl_page.close()
    chosen = tried_once_per(found)
    submit_each(crawl, chosen, files)
    table.extend(crawl.rows)
    write_table(table)  # after each role, so that a failing run leaves its table too

    failures = [
        f"{row['page']}: {row['method']} {row['action']} -> {row['statuses']} "
        f"({row['final_url']}): {row['verdict']}"
        for row in crawl.rows
        if row["verdict"].startswith("FAIL")
    ]
    assert not failures, f"{role}: forms that broke:\n" + "\n".join(failures)
    tried = {row["action"] for row in crawl.rows}
    assert MUST_TRY[role] <= tried, f"{role}: never reached {sorted(MUST_TRY[role] - tried)}"
