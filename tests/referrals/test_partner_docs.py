"""docs/partners.md stays true: its examples are what the API and the webhooks really do, and its
verification snippets accept a real delivery and refuse a forged one.

The examples are made by running the integration (tests/referrals/docs_examples.py). With
`ODR_WRITE_DOCS=1` the test writes the fresh ones into the document instead of failing:

    ODR_WRITE_DOCS=1 .venv/bin/python -m pytest tests/referrals/test_partner_docs.py
"""

from __future__ import annotations

import json
import os
import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from odr import clock
from odr.cases.law import OVERRIDE, RULES
from odr.referrals.directory import new_signing_secret
from odr.referrals.progress import PROGRESS_CODES
from odr.referrals.reports import OUTCOMES
from odr.referrals.webhooks import EVENT_TYPES
from tests.referrals.docs_examples import (
    Generated,
    examples_in,
    generate,
    sign,
    snippet,
    with_examples,
)
from tests.referrals.simulator import PartnerSimulator, Received

DOC = Path(__file__).resolve().parents[2] / "docs" / "partners.md"


@pytest.fixture(scope="module")
def generated(app) -> Iterator[Generated]:
    """The scenario, run once per database backend; its own simulator, as a partner's endpoint."""
    simulator = PartnerSimulator()
    simulator.start()
    try:
        yield generate(app, simulator)
    finally:
        simulator.stop()


def test_the_examples_in_the_document_are_what_the_integration_does(generated):
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("ODR_WRITE_DOCS") == "1":
        text = with_examples(text, generated.examples)
        DOC.write_text(text, encoding="utf-8")
    shown = examples_in(text)
    assert sorted(shown) == sorted(generated.examples), "markers and examples differ"
    stale = [name for name in shown if shown[name] != generated.examples[name]]
    for name in stale:  # the first difference, with pytest's diff
        assert shown[name] == generated.examples[name], (
            f"docs/partners.md: the example {name!r} is stale; run the test with ODR_WRITE_DOCS=1"
        )


def test_the_document_names_every_event_outcome_progress_code_and_rule():
    text = DOC.read_text(encoding="utf-8")
    names = [*EVENT_TYPES, *OUTCOMES, *PROGRESS_CODES, *(rule.id for rule in RULES), OVERRIDE]
    assert [name for name in names if f"`{name}`" not in text] == []


# ---- the verification snippets ------------------------------------------------------------------


def _stdlib(text: str) -> dict:
    """The standard-library snippet, run; its clock can be set with `_at`."""
    namespace: dict = {"__name__": "partner_docs_snippet"}
    exec(compile(snippet(text, "verify-stdlib"), "docs/partners.md", "exec"), namespace)  # noqa: S102
    return namespace


def _at(namespace: dict, seconds: float) -> None:
    """Make the snippet's `time.time()` answer this moment (the deliveries are from the past)."""
    namespace["time"] = types.SimpleNamespace(time=lambda: seconds)


def _delivery(generated: Generated, event: str) -> Received:
    """The first delivery of this event type."""
    return next(r for r in generated.deliveries if json.loads(r.body)["type"] == event)


def _example_request(text: str, name: str) -> tuple[dict[str, str], bytes]:
    """The headers and body of a webhook request shown in the document."""
    block = examples_in(text)[name]
    request = re.search(r"```http\n(.*?)\n```", block, re.S)[1]
    head, _, body = request.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    return headers, body.encode()


def _tampered(delivery: Received) -> bytes:
    assert b'"pending"' in delivery.body
    return delivery.body.replace(b'"pending"', b'"accepted"')


def test_the_standard_library_verifier_accepts_a_real_delivery_and_refuses_a_forgery(generated):
    text = DOC.read_text(encoding="utf-8")
    snippet_ = _stdlib(text)
    verify, invalid = snippet_["verify_webhook"], snippet_["InvalidWebhook"]
    created = _delivery(generated, "referral.created")
    sent_at = int(created.headers["webhook-timestamp"])
    secret = generated.secrets[0]
    assert created.verified  # the simulator verified it with the `standardwebhooks` package

    _at(snippet_, sent_at + 30)
    assert verify(secret, created.headers, created.body) == json.loads(created.body)
    title_case = {name.title(): value for name, value in created.headers.items()}
    assert verify(secret, title_case, created.body)["type"] == "referral.created"

    forgeries = {
        "a changed body": (created.headers, _tampered(created)),
        "a changed id": ({**created.headers, "webhook-id": "msg_other"}, created.body),
        "a changed timestamp": (
            {**created.headers, "webhook-timestamp": str(sent_at + 1)},
            created.body,
        ),
        "no signature": (
            {k: v for k, v in created.headers.items() if k != "webhook-signature"},
            created.body,
        ),
        "a signature of another version": (
            {
                **created.headers,
                "webhook-signature": "v2" + created.headers["webhook-signature"][2:],
            },
            created.body,
        ),
    }
    for what, (headers, body) in forgeries.items():
        with pytest.raises(invalid):
            verify(secret, headers, body)
            pytest.fail(f"accepted {what}")
    with pytest.raises(invalid):
        verify(new_signing_secret(), created.headers, created.body)  # another agency's secret
    for late in (sent_at + 301, sent_at - 301):  # a replay, or a clock far off
        _at(snippet_, late)
        with pytest.raises(invalid):
            verify(secret, created.headers, created.body)


def test_during_a_rotation_either_secret_verifies(generated):
    snippet_ = _stdlib(DOC.read_text(encoding="utf-8"))
    expired = _delivery(generated, "referral.expired")
    assert len(expired.headers["webhook-signature"].split(" ")) == 2
    _at(snippet_, int(expired.headers["webhook-timestamp"]))
    for secret in generated.secrets:
        assert snippet_["verify_webhook"](secret, expired.headers, expired.body)["type"] == (
            "referral.expired"
        )


def test_the_examples_in_the_document_verify_with_the_example_secrets(generated):
    text = DOC.read_text(encoding="utf-8")
    snippet_ = _stdlib(text)
    first, second = generated.example_secrets
    secrets = [second, first]
    assert first in examples_in(text)["partner-add"]
    assert second in examples_in(text)["partner-rotate"]
    headers, body = _example_request(text, "webhook.rotation")
    signed = [sign(s, headers["webhook-id"], headers["webhook-timestamp"], body) for s in secrets]
    assert headers["webhook-signature"].split(" ") == signed  # the new secret's first
    for name, secrets in (("webhook.delivery", [first]), ("webhook.rotation", [first, second])):
        headers, body = _example_request(text, name)
        _at(snippet_, int(headers["webhook-timestamp"]))
        for secret in secrets:
            assert snippet_["verify_webhook"](secret, headers, body)["type"].startswith("referral.")
        with pytest.raises(snippet_["InvalidWebhook"]):
            snippet_["verify_webhook"](first, headers, body.replace(b"referral.", b"referral_"))


def test_the_standardwebhooks_snippet_accepts_a_real_delivery_and_refuses_a_forgery(
    generated, partner_simulator
):
    # The running simulator points the package's clock at ours (tests/referrals/simulator.py).
    namespace: dict = {"__name__": "partner_docs_snippet"}
    code = snippet(DOC.read_text(encoding="utf-8"), "verify-standardwebhooks")
    exec(compile(code, "docs/partners.md", "exec"), namespace)  # noqa: S102
    verify = namespace["verify_webhook"]
    created = _delivery(generated, "referral.created")
    with clock.travel_to(created.at):
        assert verify(generated.secrets[0], created.headers, created.body)["type"] == (
            "referral.created"
        )
        with pytest.raises(WebhookVerificationError):
            verify(generated.secrets[0], created.headers, _tampered(created))


def test_the_receiver_snippet_takes_a_delivery_once_and_refuses_a_forgery(generated):
    text = DOC.read_text(encoding="utf-8")
    namespace = _stdlib(text)
    seen: set[str] = set()
    processed: list[dict] = []

    def remember_once(message_id: str) -> bool:
        if message_id in seen:
            return False
        seen.add(message_id)
        return True

    namespace.update(remember_once=remember_once, queue_for_processing=processed.append)
    exec(compile(snippet(text, "receiver"), "docs/partners.md", "exec"), namespace)  # noqa: S102
    namespace["SECRET"] = generated.secrets[0]
    created = _delivery(generated, "referral.created")
    _at(namespace, int(created.headers["webhook-timestamp"]))
    client = namespace["app"].test_client()

    sent = {k: v for k, v in created.headers.items() if k.startswith("webhook-")}

    def post(body: bytes):
        return client.post("/odr", data=body, headers=sent, content_type="application/json")

    assert post(created.body).status_code == 204
    assert post(created.body).status_code == 204  # a retry: answered, not processed again
    assert post(_tampered(created)).status_code == 401
    assert processed == [json.loads(created.body)]
