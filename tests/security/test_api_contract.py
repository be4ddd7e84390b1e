"""ASVS V4.1/V13 (API documentation): every answer of the API is one its OpenAPI document declares.

Schemathesis reads `/api/v1/openapi.json` from the served app and sends what the document allows
and what it forbids (its examples, coverage and fuzzing phases, positive and negative data) to
every operation, over HTTP, with all its checks: no 5xx, only declared statuses, content types
and headers, bodies matching their schemas, refused bad input, accepted good input, ignored
authentication, missing headers, unsupported methods. The app is seeded first, so that the calls
reach real objects: disputes of the caller in several states, an offer, evidence, a settlement
agreement, and referrals to a partner agency. A consumer's token signs the dispute routes, the
agency's token the referral routes. The seed is fixed and the examples bounded (about a minute
on two cores).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
import schemathesis

from odr import clock
from tests.conftest import free_port
from tests.factories import lodging_body, make_neutral, make_user, token_for
from tests.referrals.agency import GERMAN_LAW

SEED = 20261204
EXAMPLES = 12  # per operation and generation mode, in the fuzzing phase
ACTIONS = ("escalate", "withdraw", "post_message", "make_offer", "consent_to_arbitration")


@dataclass
class Seeded:
    """What the seeding made: tokens, and the ids an operation's path may name."""

    consumer: str
    partner: str
    ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> None:
        self.ids.setdefault(kind, []).append(value)


class Caller:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> dict:
        response = self.http.request(method, self.url + path, timeout=60, **kwargs)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()


def _partner(server) -> str:
    """An agency for German law whose webhooks go to a closed local port; its token."""
    from odr.referrals.directory import add_partner

    with server.app.app_context(), server.app.test_request_context():
        _partner, _user, token, _secret = add_partner(
            name="Schlichtungsstelle Vertrag",
            countries=["DE"],
            languages=["de", "en"],
            webhook_url=f"http://127.0.0.1:{free_port()}/hooks",
            legal_basis="GDPR art. 49(1)(a): the consumer's explicit consent",
            user_email="desk@vertrag.example",
        )
    return token


def seed(server) -> Seeded:
    """Users of each role; the consumer's disputes in negotiation (with an offer), mediation (with
    a message and evidence), settled (with a settlement agreement), and two referred ones, one of
    them accepted by the agency."""
    users = {
        role: make_user(server.app, role)
        for role in ("consumer", "case_manager", "platform", "arbitrator")
    }
    users["merchant"] = make_user(server.app, "merchant", email="shop@merchant.example")
    users["mediator"] = make_neutral(server.app, "mediator", languages=("en",))
    seeded = Seeded(token_for(server.app, users["consumer"]), _partner(server))
    consumer = Caller(server.url, seeded.consumer)
    merchant = Caller(server.url, token_for(server.app, users["merchant"]))
    agency = Caller(server.url, seeded.partner)
    due = (clock.today() + timedelta(days=20)).isoformat()
    offer = {
        "amount": {"amount": "60.00", "currency": "EUR"},
        "remedy": "partial_refund",
        "terms": "A partial refund; the buyer keeps the goods.",
        "performance_due": due,
    }

    def lodged(**overrides: Any) -> str:
        dispute = consumer("POST", "/api/v1/disputes", json=lodging_body(**overrides))
        seeded.add("dispute_id", dispute["id"])
        return dispute["id"]

    negotiating = lodged()
    seeded.add(
        "offer_id", merchant("POST", f"/api/v1/disputes/{negotiating}/offers", json=offer)["id"]
    )

    mediating = lodged()
    consumer("POST", f"/api/v1/disputes/{mediating}/actions/escalate", json={"reason": "stuck"})
    consumer("POST", f"/api/v1/disputes/{mediating}/messages", json={"body": "Hello."})
    upload = {"file": ("receipt.txt", b"Order SW-1, paid EUR 129.90.", "text/plain")}
    evidence = consumer("POST", f"/api/v1/disputes/{mediating}/evidence", files=upload)
    seeded.add("evidence_id", evidence["id"])

    settled = lodged()
    accepted = merchant("POST", f"/api/v1/disputes/{settled}/offers", json=offer)
    seeded.add("offer_id", accepted["id"])
    consumer("POST", f"/api/v1/disputes/{settled}/offers/{accepted['id']}/accept")
    for document in consumer("GET", f"/api/v1/disputes/{settled}/documents")["items"]:
        seeded.add("document_id", document["id"])
        seeded.add("code", document["verification_code"])

    for _ in range(2):
        lodged(law=GERMAN_LAW, transfer_consent=True)
    referrals = agency("GET", "/api/v1/referrals")["items"]
    for referral in referrals:
        seeded.add("referral_id", referral["id"])
    agency(
        "POST",
        f"/api/v1/referrals/{referrals[0]['id']}/accept",
        json={"partner_reference": "SV-2026-1"},
    )
    seeded.ids["action"] = list(ACTIONS)
    return seeded


# Statuses that answer data the document allows. A GET must serve whatever its parameters allow.
# A POST may also refuse it with 422 where a rule is beyond a schema (a date relative to today, the
# dispute's state, a reused Idempotency-Key), and with 412 for a stale If-Match; never with a 400.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
POST_ACCEPTED = [*ACCEPTED, "412", "422"]


def contract_config(seeded: Seeded) -> schemathesis.Config:
    """All checks, a fixed seed, bounded examples; path parameters drawn mostly from the seeded
    objects, cursors from those the API hands out; the agency's token on the referral routes,
    the consumer's on the others."""
    ids = seeded.ids | {"cursor": ["", *(_cursor(n) for n in range(1, 30))]}
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {seeded.consumer}"},
            "generation": {"max-examples": EXAMPLES, "database": "none"},
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {"expected-statuses": ACCEPTED},
            },
            "dictionaries": {kind: {"values": values} for kind, values in ids.items()},
            "parameters": {
                **{f"path.{kind}": {"dictionary": kind, "probability": 0.9} for kind in ids},
                "query.cursor": {"dictionary": "cursor", "probability": 1.0},
            },
            "operations": [
                {
                    "include-path-regex": "^/api/v1/referrals",
                    "headers": {"Authorization": f"Bearer {seeded.partner}"},
                },
                {
                    "include-method": "POST",
                    "checks": {"positive_data_acceptance": {"expected-statuses": POST_ACCEPTED}},
                },
            ],
        }
    )


def _cursor(value: int) -> str:
    """A cursor as the API hands it out in `next_cursor`."""
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


@dataclass
class ContractRun:
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    reached: set[str] = field(default_factory=set)  # operations that were sent a request


def run_schemathesis(schema: schemathesis.BaseSchema) -> ContractRun:
    """Every phase of Schemathesis over the schema (examples, coverage, fuzzing, stateful), as
    its command line runs them; each failed check or error in a line."""
    from schemathesis import engine
    from schemathesis.engine import events

    run = ContractRun()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            run.requests += len(recorder.interactions)
            run.reached |= {case.value.operation.label for case in recorder.cases.values()}
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        run.failures.append(_failure(event.phase.value, check, recorder, case_id))
        elif isinstance(event, events.NonFatalError):
            run.failures.append(f"{event.label}: error {event.value!r}")
        elif isinstance(event, events.FatalError):
            run.failures.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            run.failures.extend(f"{fail.operation}: {fail.title}" for fail in event.failures)
    run.failures = sorted(set(run.failures))
    return run


def _failure(phase: str, check: Any, recorder: Any, case_id: str) -> str:
    """The operation, phase, check, status and a curl command to send the request again."""
    failure = check.failure_info.failure
    answer = recorder.interactions.get(case_id)
    status = answer.response.status_code if answer and answer.response else None
    again = check.failure_info.steps[-1].curl if check.failure_info.steps else ""
    detail = failure.message[:400].replace("\n", "\n    ")
    heading = f"{failure.operation} [{phase}] {check.name}: {failure.title} ({status})"
    return f"{heading} {again}\n    {detail}"


def test_the_api_answers_only_what_its_document_declares(start):
    server = start("api-contract.db", WEBHOOK_ALLOW_PRIVATE=True)
    seeded = seed(server)
    schema = schemathesis.openapi.from_url(
        f"{server.url}/api/v1/openapi.json", config=contract_config(seeded)
    )
    operations = {result.ok().label for result in schema.get_all_operations()}
    run = run_schemathesis(schema)
    assert not run.failures, "\n".join(run.failures)
    assert operations - run.reached == set()
    assert run.requests > 20 * len(operations), run.requests
