"""Bad input, on every endpoint that takes input: a 4xx problem that names the field, and nothing
written (DESIGN.md, "API v1" and "Rules that hold everywhere").

The tables below are the specification: each row is one change to a valid request and the dotted
field path the answer must name.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from odr import clock
from odr.cases.models import Case, CaseNote, Event
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from odr.negotiation.models import Offer
from tests.factories import ApiClient, lodge, lodging_body, make_user

MERCHANT = "shop@merchant.example"
PROBLEM = "application/problem+json"
DELETE = object()  # in a table of changes: remove this field

TODAY = clock.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
ORDERED = (TODAY - timedelta(days=20)).isoformat()

VALID_OFFER = {
    "amount": {"amount": "60.00", "currency": "EUR"},
    "remedy": "partial_refund",
    "terms": "A refund of 60.00 EUR within 14 days.",
    "performance_due": (TODAY + timedelta(days=14)).isoformat(),
}

# ---- helpers -------------------------------------------------------------------------------------

WRITTEN_TABLES = {
    "cases": Case,
    "events": Event,
    "offers": Offer,
    "outbox": OutboxMessage,
    "case_notes": CaseNote,
}


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for name, model in WRITTEN_TABLES.items()
        }


@pytest.fixture
def writes_nothing(app) -> Callable[[], Any]:
    """`with writes_nothing(): ...` fails when the block adds or removes a row in any case table."""

    @contextmanager
    def check() -> Iterator[None]:
        before = row_counts(app)
        yield
        after = row_counts(app)
        assert after == before, f"a refused request wrote rows: {before} -> {after}"

    return check


def changed(body: dict, changes: dict[str, Any]) -> dict:
    """A copy of `body` with each dotted path (list indices as numbers) set or DELETEd."""
    body = copy.deepcopy(body)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target: Any = body
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is DELETE:
            del target[last]
        else:
            target[last] = value
    return body


def assert_problem(response, status: int, field: str | None = None) -> dict:
    """An `application/problem+json` answer with `status`, naming `field` in `errors`."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"{response.status_code}: {text[:600]}"
    assert response.mimetype == PROBLEM, response.mimetype
    body = json.loads(text)
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem without {key!r}: {body}"
    if status in (404, 422):
        assert body["detail"], f"a problem with an empty detail: {body}"
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    if field is not None:
        assert field in body.get("errors", {}), f"expected errors[{field!r}], got {body}"
    return body


def send(client: ApiClient, path: str, data: Any, content_type: str | None, **headers: str):
    """A POST with exactly this body and Content-Type (or none), and the client's token."""
    if client.token:
        headers.setdefault("Authorization", f"Bearer {client.token}")
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.client.post(path, data=data, headers=headers)


def rows(*table: tuple) -> list:
    """(id, *values) rows as pytest params, so that each case is named after what it changes."""
    return [pytest.param(*values, id=name) for name, *values in table]


# ---- the parties and their dispute -------------------------------------------------------------


@dataclass
class Dispute:
    claimant: ApiClient
    respondent: ApiClient
    case_manager: ApiClient
    consumer: Any
    id: str  # in negotiation, with an open offer from the respondent
    offer: str
    filed_id: str  # awaiting screening by a case manager

    def path(self, endpoint: str) -> str:
        return ENDPOINTS[endpoint].format(dispute=self.id, offer=self.offer)


ENDPOINTS = {
    "lodge": "/api/v1/disputes",
    "offer": "/api/v1/disputes/{dispute}/offers",
    "accept": "/api/v1/disputes/{dispute}/offers/{offer}/accept",
    "reject": "/api/v1/disputes/{dispute}/offers/{offer}/reject",
    "escalate": "/api/v1/disputes/{dispute}/actions/escalate",
    "withdraw": "/api/v1/disputes/{dispute}/actions/withdraw",
}
DISPUTE_ENDPOINTS = [name for name in ENDPOINTS if name != "lodge"]


def valid_body(endpoint: str) -> dict:
    return {
        "lodge": lodging_body(MERCHANT),
        "offer": VALID_OFFER,
        "accept": {},
        "reject": {},
        "escalate": {"reason": "The merchant does not answer."},
        "withdraw": {"reason": "I settled with the merchant elsewhere."},
    }[endpoint]


@pytest.fixture
def dispute(app, api) -> Dispute:
    consumer = make_user(app, "consumer")
    claimant = api.as_user(consumer)
    respondent = api.as_user(make_user(app, "merchant", email=MERCHANT))
    case_manager = api.as_user(make_user(app, "case_manager"))
    lodged = lodge(claimant)
    offer = respondent.post(f"/api/v1/disputes/{lodged['id']}/offers", VALID_OFFER)
    assert offer.status_code == 201, offer.get_json()
    above_total = {"amount": "500.00", "currency": "EUR"}
    filed = lodge(claimant, claim__amount=above_total)
    assert filed["state"] == "filed", filed
    return Dispute(
        claimant=claimant,
        respondent=respondent,
        case_manager=case_manager,
        consumer=consumer,
        id=lodged["id"],
        offer=offer.get_json()["id"],
        filed_id=filed["id"],
    )


@pytest.fixture
def claimant(app, api) -> ApiClient:
    return api.as_user(make_user(app, "consumer"))


# ---- the untouched requests are accepted (else every refusal below proves nothing) --------------


def test_the_unchanged_lodging_body_is_accepted(app, claimant):
    response = claimant.post("/api/v1/disputes", lodging_body(MERCHANT))
    assert response.status_code == 201, response.get_json()
    assert row_counts(app)["cases"] == 1


def test_the_unchanged_bodies_of_the_dispute_endpoints_are_accepted(dispute):
    offer = dispute.claimant.post(dispute.path("offer"), VALID_OFFER)
    assert offer.status_code == 201, offer.get_json()
    rejected = dispute.claimant.post(dispute.path("reject"), {})
    assert rejected.status_code == 200, rejected.get_json()
    escalated = dispute.claimant.post(dispute.path("escalate"), valid_body("escalate"))
    assert escalated.status_code == 200, escalated.get_json()
    assert escalated.get_json()["state"] == "mediation"
    admitted = dispute.case_manager.post(f"/api/v1/disputes/{dispute.filed_id}/actions/admit")
    assert admitted.status_code == 200, admitted.get_json()


# ---- 400: a body that is not a JSON object -----------------------------------------------------

UNREADABLE_BODIES = rows(
    ("malformed-json", lambda valid: '{"respondent": ', "application/json"),
    ("json-array", lambda valid: json.dumps([valid]), "application/json"),
    ("json-string", lambda valid: json.dumps("respondent"), "application/json"),
    ("json-number", lambda valid: "42", "application/json"),
    ("json-null", lambda valid: "null", "application/json"),
    ("no-content-type", lambda valid: json.dumps(valid), None),
    ("text-plain-content-type", lambda valid: json.dumps(valid), "text/plain"),
    ("form-content-type", lambda valid: json.dumps(valid), "application/x-www-form-urlencoded"),
    ("invalid-utf8", lambda valid: b'{"respondent": "\xff\xfe"}', "application/json"),
    ("deeply-nested-json", lambda valid: "[" * 100_000, "application/json"),
)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(("make_body", "content_type"), UNREADABLE_BODIES)
def test_a_body_that_is_not_a_json_object_is_a_400_problem_and_writes_nothing(
    dispute, writes_nothing, endpoint, make_body, content_type
):
    with writes_nothing():
        response = send(
            dispute.claimant, dispute.path(endpoint), make_body(valid_body(endpoint)), content_type
        )
    assert_problem(response, 400)


def test_lodging_without_any_body_is_a_400_problem(claimant, writes_nothing):
    with writes_nothing():
        response = send(claimant, ENDPOINTS["lodge"], b"", "application/json")
    assert_problem(response, 400)


def test_a_body_over_the_request_size_limit_is_refused_and_writes_nothing(claimant, writes_nothing):
    body = lodging_body(MERCHANT, claim__description="x" * (2 * 1024 * 1024))
    with writes_nothing():
        response = claimant.post(ENDPOINTS["lodge"], body)
    assert_problem(response, 413)


# ---- 422: lodging, field by field --------------------------------------------------------------

FIFTY_ONE_ITEMS = [{"description": f"Item {n}", "quantity": 1} for n in range(51)]

LODGING_ERRORS = rows(
    # wrong types
    ("name-is-a-number", {"respondent.name": 123}, "respondent.name"),
    ("email-is-a-list", {"respondent.email": [MERCHANT]}, "respondent.email"),
    ("respondent-is-a-string", {"respondent": "Rheinland"}, "respondent"),
    ("order-is-a-list", {"order": []}, "order"),
    ("items-is-an-object", {"order.items": {"description": "x", "quantity": 1}}, "order.items"),
    ("item-is-a-string", {"order.items.0": "Headphones"}, "order.items.0"),
    ("quantity-is-a-string", {"order.items.0.quantity": "1"}, "order.items.0.quantity"),
    ("quantity-is-a-float", {"order.items.0.quantity": 1.5}, "order.items.0.quantity"),
    ("quantity-is-a-boolean", {"order.items.0.quantity": True}, "order.items.0.quantity"),
    ("total-is-a-string", {"order.total": "129.90 EUR"}, "order.total"),
    ("total-amount-is-a-float", {"order.total.amount": 129.9}, "order.total.amount"),
    ("claim-amount-is-a-float", {"claim.amount.amount": 99.5}, "claim.amount.amount"),
    ("total-amount-is-a-boolean", {"order.total.amount": True}, "order.total.amount"),
    ("currency-is-a-number", {"order.total.currency": 978}, "order.total.currency"),
    ("ordered-on-is-a-number", {"order.ordered_on": 20240101}, "order.ordered_on"),
    ("category-is-a-list", {"claim.category": ["defective"]}, "claim.category"),
    ("language-is-a-number", {"language": 42}, "language"),
    ("arbitration-consent-is-a-string", {"arbitration_consent": "yes"}, "arbitration_consent"),
    ("transfer-consent-is-a-number", {"transfer_consent": 1}, "transfer_consent"),
    ("law-is-a-boolean", {"law": True}, "law"),
    (
        "law-choice-is-a-string",
        {"law": {"consumer_chose_merchant_law": "true"}},
        "law.consumer_chose_merchant_law",
    ),
    (
        "law-targeting-is-a-number",
        {"law": {"merchant_targets_consumer_country": 0}},
        "law.merchant_targets_consumer_country",
    ),
    # unknown fields, at each level
    ("unknown-top-level-field", {"priority": "high"}, "priority"),
    ("claimant-from-a-consumer", {"claimant": {"name": "Someone Else"}}, "claimant"),
    ("unknown-respondent-field", {"respondent.phone": "+49 30 1234"}, "respondent.phone"),
    ("unknown-order-field", {"order.currency": "EUR"}, "order.currency"),
    ("unknown-total-field", {"order.total.value": "129.90"}, "order.total.value"),
    ("unknown-item-field", {"order.items.0.price": "129.90"}, "order.items.0.price"),
    ("unknown-claim-field", {"claim.urgent": True}, "claim.urgent"),
    ("unknown-claim-amount-field", {"claim.amount.minor": 12990}, "claim.amount.minor"),
    ("unknown-law-field", {"law": {"governing_law": "DE"}}, "law.governing_law"),
    # required fields
    ("respondent-missing", {"respondent": DELETE}, "respondent"),
    ("respondent-email-missing", {"respondent.email": DELETE}, "respondent.email"),
    ("respondent-name-blank", {"respondent.name": "   "}, "respondent.name"),
    ("respondent-country-null", {"respondent.country": None}, "respondent.country"),
    ("order-missing", {"order": DELETE}, "order"),
    ("ordered-on-missing", {"order.ordered_on": DELETE}, "order.ordered_on"),
    ("total-missing", {"order.total": DELETE}, "order.total"),
    ("total-amount-missing", {"order.total.amount": DELETE}, "order.total.amount"),
    ("total-currency-missing", {"order.total.currency": DELETE}, "order.total.currency"),
    (
        "item-description-missing",
        {"order.items.0.description": DELETE},
        "order.items.0.description",
    ),
    ("claim-missing", {"claim": DELETE}, "claim"),
    ("claim-description-empty", {"claim.description": ""}, "claim.description"),
    ("claim-amount-missing", {"claim.amount": DELETE}, "claim.amount"),
    # oversized strings
    ("name-201-chars", {"respondent.name": "x" * 201}, "respondent.name"),
    ("description-5001-chars", {"claim.description": "x" * 5001}, "claim.description"),
    ("order-reference-101-chars", {"order.reference": "R" * 101}, "order.reference"),
    ("platform-201-chars", {"order.platform": "p" * 201}, "order.platform"),
    ("address-501-chars", {"respondent.address": "a" * 501}, "respondent.address"),
    (
        "website-501-chars",
        {"respondent.website": "https://" + "w" * 493},
        "respondent.website",
    ),
    (
        "item-description-501-chars",
        {"order.items.0.description": "d" * 501},
        "order.items.0.description",
    ),
    # control characters in single-line fields (and NUL anywhere)
    ("nul-in-name", {"respondent.name": "Rheinland\x00GmbH"}, "respondent.name"),
    ("newline-in-name", {"respondent.name": "Rheinland\nGmbH"}, "respondent.name"),
    ("escape-in-platform", {"order.platform": "Shop\x1bWorld"}, "order.platform"),
    ("crlf-in-order-reference", {"order.reference": "SW-1\r\nX-Injected: 1"}, "order.reference"),
    ("tab-in-order-reference", {"order.reference": "SW\t1"}, "order.reference"),
    ("delete-char-in-name", {"respondent.name": "Rheinland\x7fGmbH"}, "respondent.name"),
    (
        "newline-in-item-description",
        {"order.items.0.description": "Head\nphones"},
        "order.items.0.description",
    ),
    ("nul-in-claim-description", {"claim.description": "It\x00broke"}, "claim.description"),
    # codes
    ("country-XX", {"respondent.country": "XX"}, "respondent.country"),
    ("country-GER", {"respondent.country": "GER"}, "respondent.country"),
    ("country-EU", {"respondent.country": "EU"}, "respondent.country"),
    ("country-D", {"respondent.country": "D"}, "respondent.country"),
    ("respondent-language-xx", {"respondent.language": "xx"}, "respondent.language"),
    ("claimant-language-xx", {"language": "xx"}, "language"),
    ("currency-EURO", {"order.total.currency": "EURO"}, "order.total.currency"),
    ("currency-XYZ", {"order.total.currency": "XYZ"}, "order.total.currency"),
    ("claim-currency-EURO", {"claim.amount.currency": "EURO"}, "claim.amount.currency"),
    ("claim-currency-euro-sign", {"claim.amount.currency": "€"}, "claim.amount.currency"),
    # e-mail
    ("email-without-at", {"respondent.email": "shop.merchant.example"}, "respondent.email"),
    ("email-without-domain", {"respondent.email": "shop@"}, "respondent.email"),
    ("email-with-space", {"respondent.email": "shop keeper@merchant.example"}, "respondent.email"),
    ("website-not-http", {"respondent.website": "ftp://shop.example"}, "respondent.website"),
    # dates
    ("ordered-tomorrow", {"order.ordered_on": TOMORROW}, "order.ordered_on"),
    ("ordered-in-2999", {"order.ordered_on": "2999-01-01"}, "order.ordered_on"),
    ("delivered-tomorrow", {"order.delivered_on": TOMORROW}, "order.delivered_on"),
    (
        "delivered-before-ordered",
        {"order.ordered_on": YESTERDAY, "order.delivered_on": ORDERED},
        "order.delivered_on",
    ),
    ("ordered-on-day-first", {"order.ordered_on": "01/02/2024"}, "order.ordered_on"),
    ("ordered-on-month-13", {"order.ordered_on": "2024-13-01"}, "order.ordered_on"),
    ("ordered-on-30-february", {"order.ordered_on": "2024-02-30"}, "order.ordered_on"),
    ("ordered-on-with-time", {"order.ordered_on": "2024-01-01T10:00"}, "order.ordered_on"),
    ("ordered-on-without-dashes", {"order.ordered_on": "20240101"}, "order.ordered_on"),
    ("ordered-on-as-week-date", {"order.ordered_on": "2024-W01-1"}, "order.ordered_on"),
    ("delivered-on-a-word", {"order.delivered_on": "yesterday"}, "order.delivered_on"),
    # amounts
    ("total-zero", {"order.total.amount": "0"}, "order.total.amount"),
    ("total-zero-point-zero-zero", {"order.total.amount": "0.00"}, "order.total.amount"),
    ("claim-negative", {"claim.amount.amount": "-5.00"}, "claim.amount.amount"),
    ("total-negative-integer", {"order.total.amount": -5}, "order.total.amount"),
    ("eur-three-decimals", {"order.total.amount": "1.234"}, "order.total.amount"),
    (
        "jpy-with-decimals",
        {"claim.amount": {"amount": "1.5", "currency": "JPY"}},
        "claim.amount.amount",
    ),
    ("amount-a-word", {"order.total.amount": "abc"}, "order.total.amount"),
    ("amount-decimal-comma", {"order.total.amount": "129,90"}, "order.total.amount"),
    ("amount-with-currency", {"order.total.amount": "129.90 EUR"}, "order.total.amount"),
    ("amount-nan", {"claim.amount.amount": "NaN"}, "claim.amount.amount"),
    ("amount-infinity", {"claim.amount.amount": "Infinity"}, "claim.amount.amount"),
    ("amount-empty", {"claim.amount.amount": ""}, "claim.amount.amount"),
    ("amount-too-large", {"order.total.amount": "1" + "0" * 20}, "order.total.amount"),
    # lists of choices
    ("category-broken", {"claim.category": "broken"}, "claim.category"),
    ("category-wrong-case", {"claim.category": "Defective"}, "claim.category"),
    ("remedy-money-back", {"claim.remedy": "money_back"}, "claim.remedy"),
    # items
    ("51-items", {"order.items": FIFTY_ONE_ITEMS}, "order.items"),
    ("quantity-0", {"order.items.0.quantity": 0}, "order.items.0.quantity"),
    ("quantity-negative", {"order.items.0.quantity": -1}, "order.items.0.quantity"),
    ("quantity-a-million", {"order.items.0.quantity": 1_000_000}, "order.items.0.quantity"),
    (
        "second-item-quantity-0",
        {
            "order.items": [
                {"description": "Case", "quantity": 1},
                {"description": "Cable", "quantity": 0},
            ]
        },
        "order.items.1.quantity",
    ),
)


@pytest.mark.parametrize(("changes", "field"), LODGING_ERRORS)
def test_lodging_names_the_invalid_field_with_a_422_and_writes_nothing(
    claimant, writes_nothing, changes, field
):
    body = changed(lodging_body(MERCHANT), changes)
    with writes_nothing():
        response = claimant.post(ENDPOINTS["lodge"], body)
    assert_problem(response, 422, field)


PLATFORM_ERRORS = rows(
    ("claimant-missing", {"claimant": DELETE}, "claimant"),
    ("claimant-is-a-list", {"claimant": []}, "claimant"),
    ("claimant-email-invalid", {"claimant.email": "buyer-at-example"}, "claimant.email"),
    ("claimant-country-XX", {"claimant.country": "XX"}, "claimant.country"),
    ("claimant-name-201-chars", {"claimant.name": "n" * 201}, "claimant.name"),
    (
        "claimant-website-not-a-claimant-field",
        {"claimant.website": "https://x.example"},
        "claimant.website",
    ),
    ("claimant-unknown-field", {"claimant.user_id": 7}, "claimant.user_id"),
)


@pytest.mark.parametrize(("changes", "field"), PLATFORM_ERRORS)
def test_lodging_by_a_platform_names_the_invalid_claimant_field_and_writes_nothing(
    app, api, writes_nothing, changes, field
):
    platform = api.as_user(make_user(app, "platform"))
    body = lodging_body(MERCHANT)
    body["claimant"] = {
        "name": "Li Wei",
        "email": "li.wei@buyer.example",
        "country": "CN",
        "language": "zh-Hans",
    }
    assert platform.post(ENDPOINTS["lodge"], body).status_code == 201, "the base body is valid"
    with writes_nothing():
        response = platform.post(ENDPOINTS["lodge"], changed(body, changes))
    assert_problem(response, 422, field)


def test_lodging_refuses_the_claimants_own_email_as_the_merchants(app, api, writes_nothing):
    consumer = make_user(app, "consumer")
    with writes_nothing():
        response = api.as_user(consumer).post(ENDPOINTS["lodge"], lodging_body(consumer.email))
    assert_problem(response, 422, "respondent.email")


def test_lodging_accepts_lower_case_country_and_currency_codes_and_upper_cases_them(claimant):
    body = lodging_body(
        MERCHANT,
        respondent__country="cn",
        order__total={"amount": "129.90", "currency": "eur"},
        claim__amount={"amount": "99.00", "currency": "eur"},
    )
    response = claimant.post(ENDPOINTS["lodge"], body)
    assert response.status_code == 201, response.get_json()
    dispute = response.get_json()
    assert dispute["respondent"]["country"] == "CN"
    assert dispute["order"]["total"] == {"amount": "129.90", "currency": "EUR"}
    assert dispute["claim"]["amount"]["currency"] == "EUR"


def test_lodging_accepts_every_field_at_its_limit(claimant):
    items = [{"description": "d" * 500, "quantity": 999_999}] + [
        {"description": f"Item {n}", "quantity": 1} for n in range(49)
    ]
    lines = "Line one.\nLine two.\tTabbed.\r\n"
    body = changed(
        lodging_body(MERCHANT),
        {
            "respondent.name": "x" * 200,
            "claim.description": lines + "x" * (5000 - len(lines)),
            "order.reference": "R" * 100,
            "order.ordered_on": TODAY.isoformat(),
            "order.delivered_on": TODAY.isoformat(),
            "order.items": items,
            "order.total": {"amount": "1500", "currency": "JPY"},
            "claim.amount": {"amount": "1500", "currency": "JPY"},
        },
    )
    response = claimant.post(ENDPOINTS["lodge"], body)
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["order"]["items"]) == 50


# ---- 422: offers -------------------------------------------------------------------------------

OFFER_ERRORS = rows(
    ("amount-missing", {"amount": DELETE}, "amount"),
    ("amount-is-a-string", {"amount": "60.00"}, "amount"),
    ("amount-is-a-float", {"amount.amount": 60.5}, "amount.amount"),
    ("amount-negative", {"amount.amount": "-1.00"}, "amount.amount"),
    ("eur-three-decimals", {"amount.amount": "1.234"}, "amount.amount"),
    ("jpy-with-decimals", {"amount": {"amount": "1.5", "currency": "JPY"}}, "amount.amount"),
    ("amount-a-word", {"amount.amount": "sixty"}, "amount.amount"),
    ("currency-EURO", {"amount.currency": "EURO"}, "amount.currency"),
    ("currency-XYZ", {"amount.currency": "XYZ"}, "amount.currency"),
    ("currency-missing", {"amount.currency": DELETE}, "amount.currency"),
    ("unknown-amount-field", {"amount.minor": 6000}, "amount.minor"),
    ("remedy-cash", {"remedy": "cash"}, "remedy"),
    ("remedy-is-a-number", {"remedy": 1}, "remedy"),
    ("remedy-missing", {"remedy": DELETE}, "remedy"),
    ("terms-missing", {"terms": DELETE}, "terms"),
    ("terms-is-a-number", {"terms": 42}, "terms"),
    ("terms-5001-chars", {"terms": "t" * 5001}, "terms"),
    ("terms-with-nul", {"terms": "Refund\x00now"}, "terms"),
    ("due-yesterday", {"performance_due": YESTERDAY}, "performance_due"),
    (
        "due-in-366-days",
        {"performance_due": (TODAY + timedelta(days=366)).isoformat()},
        "performance_due",
    ),
    ("due-day-first", {"performance_due": "31/12/2030"}, "performance_due"),
    ("due-is-a-number", {"performance_due": 20301231}, "performance_due"),
    (
        "due-without-dashes",
        {"performance_due": (TODAY + timedelta(days=14)).strftime("%Y%m%d")},
        "performance_due",
    ),
    ("unknown-field", {"message": "Take it or leave it"}, "message"),
)


@pytest.mark.parametrize(("changes", "field"), OFFER_ERRORS)
def test_an_offer_names_the_invalid_field_with_a_422_and_writes_nothing(
    dispute, writes_nothing, changes, field
):
    with writes_nothing():
        response = dispute.claimant.post(dispute.path("offer"), changed(VALID_OFFER, changes))
    assert_problem(response, 422, field)


# ---- 422: answering an offer, and firing actions -----------------------------------------------


@pytest.mark.parametrize("answer", ["accept", "reject"])
@pytest.mark.parametrize(
    ("body", "field"),
    rows(
        ("a-reason", {"reason": "Too little."}, "reason"),
        ("an-unknown-field", {"counter": "80.00"}, "counter"),
        ("the-offer-id-again", {"offer": "x"}, "offer"),
    ),
)
def test_answering_an_offer_names_any_body_field_as_unknown_and_writes_nothing(
    dispute, writes_nothing, answer, body, field
):
    with writes_nothing():
        response = dispute.claimant.post(dispute.path(answer), body)
    assert_problem(response, 422, field)


ACTION_ERRORS = rows(
    ("escalate-reason-a-number", "claimant", "escalate", {"reason": 42}, "reason"),
    ("escalate-reason-2001-chars", "claimant", "escalate", {"reason": "r" * 2001}, "reason"),
    ("escalate-reason-with-nul", "claimant", "escalate", {"reason": "No\x00answer"}, "reason"),
    ("escalate-with-a-note", "claimant", "escalate", {"note": "x"}, "note"),
    ("escalate-unknown-field", "claimant", "escalate", {"urgent": True}, "urgent"),
    ("withdraw-reason-a-list", "claimant", "withdraw", {"reason": ["x"]}, "reason"),
    ("withdraw-reason-2001-chars", "claimant", "withdraw", {"reason": "r" * 2001}, "reason"),
    ("withdraw-unknown-field", "claimant", "withdraw", {"because": "x"}, "because"),
    (
        "consent-with-a-body-field",
        "claimant",
        "consent_to_arbitration",
        {"consent": True},
        "consent",
    ),
    ("admit-with-a-reason", "case_manager", "admit", {"reason": "Fine."}, "reason"),
    ("reject-without-reason", "case_manager", "reject", {}, "reason"),
    ("reject-blank-reason", "case_manager", "reject", {"reason": "   "}, "reason"),
    ("reject-reason-a-number", "case_manager", "reject", {"reason": 5}, "reason"),
    ("reject-reason-2001-chars", "case_manager", "reject", {"reason": "r" * 2001}, "reason"),
    ("reject-reason-with-escape", "case_manager", "reject", {"reason": "No\x1b[31m"}, "reason"),
    ("reject-unknown-field", "case_manager", "reject", {"reason": "x", "notify": False}, "notify"),
)


@pytest.mark.parametrize(("who", "action", "body", "field"), ACTION_ERRORS)
def test_an_action_names_the_invalid_parameter_with_a_422_and_writes_nothing(
    dispute, writes_nothing, who, action, body, field
):
    client = getattr(dispute, who)
    dispute_id = dispute.filed_id if who == "case_manager" else dispute.id
    with writes_nothing():
        response = client.post(f"/api/v1/disputes/{dispute_id}/actions/{action}", body)
    assert_problem(response, 422, field)


@pytest.mark.parametrize("endpoint", ["accept", "reject", "escalate", "withdraw"])
@pytest.mark.parametrize("if_match", ["abc", "v1", "-1", "", "³", '"³"'])
def test_an_if_match_that_is_not_a_version_is_a_422_naming_it_and_writes_nothing(
    dispute, writes_nothing, endpoint, if_match
):
    with writes_nothing():
        response = dispute.claimant.post(
            dispute.path(endpoint), valid_body(endpoint), headers={"If-Match": if_match}
        )
    assert_problem(response, 422, "If-Match")


# ---- 404: unknown actions, offers and disputes, and other people's disputes --------------------


@pytest.mark.parametrize(
    "action",
    ["explode", "ESCALATE", "make_offer", "accept_offer", "reject_offer", "escalate.json", "%20"],
)
def test_an_unknown_action_name_is_a_404_problem_and_writes_nothing(
    dispute, writes_nothing, action
):
    with writes_nothing():
        response = dispute.claimant.post(
            f"/api/v1/disputes/{dispute.id}/actions/{action}", {"reason": "x"}
        )
    assert_problem(response, 404)


@pytest.mark.parametrize("answer", ["accept", "reject"])
def test_answering_an_unknown_offer_is_a_404_problem_and_writes_nothing(
    dispute, writes_nothing, answer
):
    with writes_nothing():
        response = dispute.claimant.post(
            f"/api/v1/disputes/{dispute.id}/offers/00000000-0000-0000-0000-000000000000/{answer}"
        )
    assert_problem(response, 404)


@pytest.mark.parametrize("endpoint", DISPUTE_ENDPOINTS)
@pytest.mark.parametrize("stranger_role", ["consumer", "merchant", "mediator"])
def test_another_users_dispute_is_a_404_problem_on_every_endpoint_and_writes_nothing(
    app, api, dispute, writes_nothing, endpoint, stranger_role
):
    stranger = api.as_user(make_user(app, stranger_role))
    with writes_nothing():
        response = stranger.post(dispute.path(endpoint), valid_body(endpoint))
    body = assert_problem(response, 404)
    assert dispute.id not in json.dumps(body)


@pytest.mark.parametrize("endpoint", DISPUTE_ENDPOINTS)
def test_an_unknown_dispute_is_a_404_problem_on_every_endpoint_and_writes_nothing(
    dispute, writes_nothing, endpoint
):
    path = ENDPOINTS[endpoint].format(dispute="no-such-dispute", offer=dispute.offer)
    with writes_nothing():
        response = dispute.claimant.post(path, valid_body(endpoint))
    assert_problem(response, 404)


# ---- 401: no token, or a bad one ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(
    "authorization",
    rows(
        ("no-header", None),
        ("unknown-token", "Bearer not-a-real-token"),
        ("empty-bearer", "Bearer "),
        ("basic-scheme", "Basic dXNlcjpwYXNzd29yZA=="),
        ("token-without-scheme", "not-a-real-token"),
    ),
)
def test_a_missing_or_bad_token_is_a_401_problem_on_every_endpoint_and_writes_nothing(
    dispute, writes_nothing, endpoint, authorization
):
    headers = {} if authorization is None else {"Authorization": authorization}
    with writes_nothing():
        response = dispute.claimant.client.post(
            dispute.path(endpoint), json=valid_body(endpoint), headers=headers
        )
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_real_token_sent_with_another_scheme_is_a_401_problem(dispute, writes_nothing):
    with writes_nothing():
        response = dispute.claimant.client.post(
            ENDPOINTS["lodge"],
            json=lodging_body(MERCHANT),
            headers={"Authorization": f"Token {dispute.claimant.token}"},
        )
    assert_problem(response, 401)


# ---- Idempotency-Key ---------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_twice_give_the_same_answer_and_one_case(app, claimant):
    body = lodging_body(MERCHANT)
    key = {"Idempotency-Key": "lodge-7f3a"}
    first = claimant.post(ENDPOINTS["lodge"], body, headers=key)
    second = claimant.post(ENDPOINTS["lodge"], body, headers=key)
    assert first.status_code == 201, first.get_json()
    assert second.status_code == first.status_code
    assert second.get_json() == first.get_json()
    assert row_counts(app)["cases"] == 1
    assert row_counts(app)["events"] == 1


def test_the_same_idempotency_key_with_another_body_is_a_422_naming_it_and_writes_nothing(
    app, claimant, writes_nothing
):
    key = {"Idempotency-Key": "lodge-7f3a"}
    first = claimant.post(ENDPOINTS["lodge"], lodging_body(MERCHANT), headers=key)
    assert first.status_code == 201, first.get_json()
    with writes_nothing():
        other = claimant.post(
            ENDPOINTS["lodge"], lodging_body("other@merchant.example"), headers=key
        )
    assert_problem(other, 422, "Idempotency-Key")
    assert row_counts(app)["cases"] == 1


def test_the_same_idempotency_key_on_an_offer_twice_makes_one_offer(app, dispute):
    key = {"Idempotency-Key": "offer-1"}
    first = dispute.claimant.post(dispute.path("offer"), VALID_OFFER, headers=key)
    before = row_counts(app)
    second = dispute.claimant.post(dispute.path("offer"), VALID_OFFER, headers=key)
    assert first.status_code == 201, first.get_json()
    assert (second.status_code, second.get_json()) == (first.status_code, first.get_json())
    assert row_counts(app) == before


def test_the_same_idempotency_key_with_another_offer_is_a_422_naming_it_and_writes_nothing(
    dispute, writes_nothing
):
    key = {"Idempotency-Key": "offer-1"}
    first = dispute.claimant.post(dispute.path("offer"), VALID_OFFER, headers=key)
    assert first.status_code == 201, first.get_json()
    other = changed(VALID_OFFER, {"amount.amount": "70.00"})
    with writes_nothing():
        response = dispute.claimant.post(dispute.path("offer"), other, headers=key)
    assert_problem(response, 422, "Idempotency-Key")


def test_a_refused_request_replayed_with_its_idempotency_key_is_refused_the_same_way(
    claimant, writes_nothing
):
    body = changed(lodging_body(MERCHANT), {"respondent.country": "XX"})
    key = {"Idempotency-Key": "bad-lodging"}
    with writes_nothing():
        first = claimant.post(ENDPOINTS["lodge"], body, headers=key)
        second = claimant.post(ENDPOINTS["lodge"], body, headers=key)
    assert_problem(first, 422, "respondent.country")
    assert_problem(second, 422, "respondent.country")
    assert second.get_json() == first.get_json()


@pytest.mark.parametrize("key", rows(("empty", ""), ("201-chars", "k" * 201)))
def test_an_unusable_idempotency_key_is_refused_naming_it_and_writes_nothing(
    claimant, writes_nothing, key
):
    with writes_nothing():
        response = claimant.post(
            ENDPOINTS["lodge"], lodging_body(MERCHANT), headers={"Idempotency-Key": key}
        )
    assert response.status_code in (400, 422), response.get_json()
    assert_problem(response, response.status_code, "Idempotency-Key")


# ---- the web lodging form ----------------------------------------------------------------------

VALID_FORM = {
    "respondent.name": "Rheinland Electronics GmbH",
    "respondent.email": MERCHANT,
    "respondent.country": "DE",
    "respondent.language": "en",
    "respondent.website": "https://shop.example",
    "order.platform": "ShopWorld",
    "order.reference": "SW-100",
    "order.ordered_on": ORDERED,
    "order.delivered_on": (TODAY - timedelta(days=15)).isoformat(),
    "order.total.amount": "129.90",
    "order.total.currency": "EUR",
    "order.items.0.description": "Headphones",
    "order.items.0.quantity": "1",
    "claim.category": "defective",
    "claim.description": "The left earcup stopped working after a week.",
    "claim.remedy": "refund",
    "claim.amount.amount": "129.90",
    "claim.amount.currency": "EUR",
    "language": "en",
}

FORM_ERRORS = rows(
    ("name-blank", {"respondent.name": ""}, "respondent.name"),
    ("name-201-chars", {"respondent.name": "x" * 201}, "respondent.name"),
    ("name-with-nul", {"respondent.name": "Rheinland\x00GmbH"}, "respondent.name"),
    ("email-invalid", {"respondent.email": "shop-at-merchant"}, "respondent.email"),
    ("country-XX", {"respondent.country": "XX"}, "respondent.country"),
    ("country-GER", {"respondent.country": "GER"}, "respondent.country"),
    ("order-reference-101-chars", {"order.reference": "R" * 101}, "order.reference"),
    ("ordered-tomorrow", {"order.ordered_on": TOMORROW}, "order.ordered_on"),
    ("ordered-on-day-first", {"order.ordered_on": "01/02/2024"}, "order.ordered_on"),
    (
        "delivered-before-ordered",
        {"order.ordered_on": YESTERDAY, "order.delivered_on": ORDERED},
        "order.delivered_on",
    ),
    ("total-missing", {"order.total.amount": "", "order.total.currency": ""}, "order.total"),
    ("total-zero", {"order.total.amount": "0"}, "order.total.amount"),
    ("total-negative", {"order.total.amount": "-5"}, "order.total.amount"),
    ("total-three-decimals", {"order.total.amount": "1.234"}, "order.total.amount"),
    ("total-a-word", {"order.total.amount": "abc"}, "order.total.amount"),
    ("total-currency-XYZ", {"order.total.currency": "XYZ"}, "order.total.currency"),
    ("claim-currency-EURO", {"claim.amount.currency": "EURO"}, "claim.amount.currency"),
    (
        "claim-jpy-with-decimals",
        {"claim.amount.amount": "1.5", "claim.amount.currency": "JPY"},
        "claim.amount.amount",
    ),
    ("quantity-0", {"order.items.0.quantity": "0"}, "order.items.0.quantity"),
    ("quantity-negative", {"order.items.0.quantity": "-1"}, "order.items.0.quantity"),
    ("quantity-a-word", {"order.items.0.quantity": "two"}, "order.items.0.quantity"),
    (
        "item-description-501-chars",
        {"order.items.0.description": "d" * 501},
        "order.items.0.description",
    ),
    (
        "second-row-quantity-0",
        {"order.items.1.description": "Cable", "order.items.1.quantity": "0"},
        "order.items.1.quantity",
    ),
    (
        "only-the-second-row-with-quantity-0",
        {
            "order.items.0.description": "",
            "order.items.1.description": "Cable",
            "order.items.1.quantity": "0",
        },
        "order.items.1.quantity",
    ),
    ("description-5001-chars", {"claim.description": "x" * 5001}, "claim.description"),
    ("category-broken", {"claim.category": "broken"}, "claim.category"),
    ("remedy-cash", {"claim.remedy": "cash"}, "claim.remedy"),
)


@pytest.fixture
def web_consumer(app, web):
    web.login(make_user(app, "consumer").email)
    assert web.get("/disputes/new").status_code == 200  # the form, and its CSRF token
    return web


def test_the_unchanged_lodging_form_is_accepted(app, web_consumer):
    response = web_consumer.post("/disputes/new", VALID_FORM)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert row_counts(app)["cases"] == 1


@pytest.mark.parametrize(("changes", "field"), FORM_ERRORS)
def test_the_lodging_form_names_the_invalid_field_with_a_422_and_writes_nothing(
    web_consumer, writes_nothing, changes, field
):
    with writes_nothing():
        response = web_consumer.post("/disputes/new", {**VALID_FORM, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:500]
    assert f'id="{field}-error"' in page, f"no message shown at {field}"
    # an error on a whole amount is listed with a link to where the amount is typed
    target = f"{field}.amount" if field in ("order.total", "claim.amount") else field
    assert f'href="#{target}"' in page, f"{field} not listed in the summary"
