"""The examples of docs/partners.md, made by running a partner agency's integration for real.

`generate(app, simulator)` adds an agency with the command line, lodges four foreign-law disputes
that are referred to it and drives them through the API (read, download, accept, decline, report
progress and the outcome; a claimant's withdrawal; an expiry by the sweep; a secret rotation),
with the webhooks delivered to the partner simulator on a real local port. It records every
request and answer, and renders them as the fenced blocks that stand between
`<!-- example:NAME -->` and `<!-- /example -->` in the document.

The clock is frozen at `START` and moved forward by hand, so times are real and the same on every
run. What still varies (uuids, tokens, secrets, message ids, references, cursors, the host names
of the test server and the simulator) is replaced, consistently, by fixed example values made
from a label. A webhook shown with its headers is signed again, after that replacement, with the
example secret that the document shows, so a reader can check a verifier against it; the real
delivery was verified with the real secret before (by the simulator, and here).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import shlex
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from werkzeug.http import HTTP_STATUS_CODES

from odr import clock
from odr.delivery.services import BACKOFF
from odr.evidence.checks import MAX_FILE_SIZE
from odr.extensions import db
from odr.referrals.directory import ROTATION_GRACE, find_partner
from odr.referrals.models import Referral
from odr.referrals.secrets import signing_secrets
from odr.referrals.webhooks import DEFAULT_TIMEOUT, EVENT_TYPES
from odr.sweep import sweep
from odr.workflow import get_workflow
from tests.factories import ApiClient, lodge, make_user, token_for
from tests.referrals.simulator import PartnerSimulator, Received

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
API_HOST = "https://odr.example"
HOOK_URL = "https://hooks.schlichtung.example/odr"
GERMAN_LAW = {"consumer_chose_merchant_law": True}
AGENCY = {
    "name": "Schlichtungsstelle Beispiel",
    "countries": "DE,AT",
    "languages": "de,en",
    "email": "desk@schlichtung.example",
    "legal_basis": "GDPR art. 49(1)(a): explicit consent of the consumer",
}
RECEIPT = b"ShopWorld order SW-100234, 13 Oct 2026: Headphones, EUR 129.90, paid by card.\n"
PHOTO_NOTE = b"The left earcup is silent; the right one works. Photographed on 5 Nov 2026.\n"
# The agency's decision, as a one-page PDF (made once with pypdf; kept as bytes so that its
# SHA-256 does not change with the library).
DECISION_PDF = (
    b"%PDF-1.3\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<\n/Producer (pypdf)\n>>\nendobj\n2 0 obj\n<<\n"
    b"/Type /Pages\n/Count 1\n/Kids [ 4 0 R ]\n>>\nendobj\n3 0 obj\n<<\n/Type /Catalog\n"
    b"/Pages 2 0 R\n>>\nendobj\n4 0 obj\n<<\n/Type /Page\n/Resources <<\n>>\n"
    b"/MediaBox [ 0.0 0.0 200 200 ]\n/Parent 2 0 R\n>>\nendobj\nxref\n0 5\n"
    b"0000000000 65535 f \n0000000015 00000 n \n0000000054 00000 n \n0000000113 00000 n \n"
    b"0000000162 00000 n \ntrailer\n<<\n/Size 5\n/Root 3 0 R\n/Info 1 0 R\n>>\nstartxref\n256\n"
    b"%%EOF\n"
)
SUMMARY = "The merchant refunds EUR 80.00 within 14 days; the consumer keeps the headphones."

EXAMPLE = re.compile(r"<!-- example:(?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- /example -->", re.S)
SNIPPET = re.compile(r"<!-- snippet:(?P<name>[\w.-]+) -->\s*```python\n(?P<code>.*?)```", re.S)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STRAY = {  # what must never reach the document unreplaced
    "uuid": UUID,
    "token": re.compile(r"odr_[A-Za-z0-9_-]{20,}"),
    "secret": re.compile(r"whsec_[A-Za-z0-9+/=]{20,}"),
    "message": re.compile(r"msg_[0-9a-f]{32}"),
}


# ---- the document -------------------------------------------------------------------------------


def examples_in(text: str) -> dict[str, str]:
    """The examples as they stand in the document, by name."""
    return {found["name"]: found["body"] for found in EXAMPLE.finditer(text)}


def with_examples(text: str, examples: dict[str, str]) -> str:
    """The document with each marked example replaced by the fresh one; every name must exist."""
    missing = sorted(set(examples) - set(examples_in(text)))
    if missing:
        raise AssertionError(f"docs/partners.md has no marker for {missing}")

    def fresh(found: re.Match) -> str:
        name = found["name"]
        body = examples.get(name, found["body"])
        return f"<!-- example:{name} -->\n{body}<!-- /example -->"

    return EXAMPLE.sub(fresh, text)


def snippet(text: str, name: str) -> str:
    """The Python code block that follows `<!-- snippet:NAME -->`."""
    found = {m["name"]: m["code"] for m in SNIPPET.finditer(text)}
    return found[name]


# ---- normalising --------------------------------------------------------------------------------


def _digest(label: str) -> bytes:
    return hashlib.sha256(f"odr partner docs: {label}".encode()).digest()


def example_uuid(label: str) -> str:
    return str(uuid.UUID(bytes=_digest(label)[:16], version=4))


def example_token(label: str) -> str:
    return "odr_" + base64.urlsafe_b64encode(_digest(label)).decode().rstrip("=")


def example_secret(label: str) -> str:
    return "whsec_" + base64.b64encode(_digest(label)).decode()


def example_message_id(label: str) -> str:
    return "msg_" + _digest(label).hex()[:32]


def sign(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` under a `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class Normaliser:
    """Replaces what varies between runs with fixed example values, the same value every time."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self._pattern: re.Pattern | None = None

    def name(self, real: str, example: str) -> str:
        if self.known.get(real, example) != example:
            raise AssertionError(f"{real!r} was named twice")
        self.known[real] = example
        self._pattern = None
        return example

    def text(self, value: str) -> str:
        for kind, pattern in STRAY.items():  # anything not named yet, in order of appearance
            for real in pattern.findall(value):
                if real not in self.known:
                    self.name(real, _example(kind, f"{kind}-{len(self.known)}"))
        if not self.known:
            return value
        if self._pattern is None:
            keys = sorted(self.known, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(key) for key in keys))
        return self._pattern.sub(lambda found: self.known[found.group(0)], value)


def _example(kind: str, label: str) -> str:
    return {
        "uuid": example_uuid,
        "token": example_token,
        "secret": example_secret,
        "message": example_message_id,
    }[kind](label)


# ---- recording ----------------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    status_text: str
    response_headers: dict[str, str]
    answer: Any  # parsed JSON, or the text of a download


@dataclass
class Generated:
    examples: dict[str, str]
    deliveries: list[Received]  # as the simulator received them
    secrets: list[str]  # every real signing secret the agency had, oldest first
    example_secrets: list[str]  # what the document shows for them


@dataclass
class Caller:
    """An API client holding a token, recording what it sends and what comes back."""

    app: Any
    token: str
    log: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()

    def call(
        self, method: str, path: str, body: Any = None, headers: dict | None = None
    ) -> Exchange:
        sent = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        response = self.client.open(path, method=method, json=body, headers=sent)
        if body is not None:
            sent["Content-Type"] = "application/json"
        names = ["Content-Type", "Idempotent-Replayed"]
        if not response.is_json:  # a download: how it is kept from running in a browser
            names += ["Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy"]
        shown = {name: response.headers[name] for name in names if name in response.headers}
        answer = response.get_json(silent=True)
        if answer is None:
            answer = response.get_data(as_text=True)
        exchange = Exchange(
            method,
            path,
            sent,
            body,
            response.status_code,
            HTTP_STATUS_CODES[response.status_code],
            shown,
            answer,
        )
        self.log.append(exchange)
        return exchange


def _expect(exchange: Exchange, status: int) -> Any:
    assert exchange.status == status, (exchange.method, exchange.path, exchange.answer)
    return exchange.answer


# ---- rendering ----------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _elided(referral: dict) -> dict:
    """A referral without its package and transfer record (shown in full under GET)."""
    return {
        key: ("{…}" if key in ("dispute", "transfer") else value) for key, value in referral.items()
    }


def _http(
    norm: Normaliser, exchange: Exchange, *, answer: Any = None, note: str | None = None
) -> str:
    request = [f"{exchange.method} {exchange.path} HTTP/1.1"]
    request += [f"{name}: {value}" for name, value in exchange.headers.items()]
    if exchange.body is not None:
        request += ["", _json(exchange.body)]
    response = [f"HTTP/1.1 {exchange.status} {exchange.status_text}"]
    response += [f"{name}: {value}" for name, value in exchange.response_headers.items()]
    shown = exchange.answer if answer is None else answer
    if note is not None:
        response += ["", note]
    elif isinstance(shown, str):
        response += ["", shown.rstrip("\n")]
    else:
        response += ["", _json(shown).replace('"{…}"', "{…}")]
    text = "```http\n" + "\n".join(request) + "\n```\n\n```http\n" + "\n".join(response) + "\n```\n"
    return norm.text(text)


def _command(norm: Normaliser, args: list[str], output: dict) -> str:
    lines, current = [], ["flask", "--app", "app"]
    for part in args:  # one option a line
        if part.startswith("--") and len(current) > 3:
            lines.append(shlex.join(current))
            current = []
        current.append(part)
    lines.append(shlex.join(current))
    line = " \\\n    ".join(lines)
    if len(shlex.join(["flask", "--app", "app", *args])) <= 88:
        line = shlex.join(["flask", "--app", "app", *args])
    return norm.text(f"```console\n$ {line}\n{_json(output)}\n```\n")


def _delivery_request(norm: Normaliser, received: Received, secrets: list[str]) -> list[str]:
    """The webhook request as the agency receives it, with example values, signed again by the
    example secrets in place of the real ones that signed it."""
    headers = received.headers
    real_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    body = norm.text(received.body.decode()).encode()
    message_id = norm.text(real_id)
    signatures = []
    for signature in headers["webhook-signature"].split(" "):
        [secret] = [s for s in secrets if sign(s, real_id, stamp, received.body) == signature]
        signatures.append(sign(norm.text(secret), message_id, stamp, body))
    lines = [
        f"POST {urlsplit(HOOK_URL).path} HTTP/1.1",
        f"Host: {urlsplit(HOOK_URL).netloc}",
        f"Content-Type: {headers['content-type']}",
        f"Content-Length: {len(body)}",
        f"User-Agent: {headers['user-agent']}",
        f"webhook-id: {message_id}",
        f"webhook-timestamp: {stamp}",
        f"webhook-signature: {' '.join(signatures)}",
        "",
        body.decode(),
    ]
    return lines


def _retry_table() -> str:
    rows = ["| attempt | after the previous one | after the first one |", "| --- | --- | --- |"]
    rows.append("| 1 | — (right after the change is committed) | 0 |")
    total = timedelta()
    for number, wait in enumerate(BACKOFF, start=2):
        total += wait
        rows.append(f"| {number} | about {_duration(wait)} | about {_duration(total)} |")
    return "\n".join(rows) + "\n"


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts) or "0 s"


def _limits() -> str:
    states = get_workflow("dispute").states
    accept_days = states["referred"]["deadline"]["days"]
    remind_days = states["with_partner"]["deadline"]["days"]
    span = sum(BACKOFF, timedelta())
    rows = [
        "| what | value |",
        "| --- | --- |",
        f"| time to accept or decline a referral | {accept_days} days, then it expires |",
        f"| reminder while you hold a dispute | every {remind_days} days |",
        f"| your endpoint must answer 2xx within | {DEFAULT_TIMEOUT:g} s |",
        f"| webhook attempts | {len(BACKOFF) + 1}, over about {_duration(span)} |",
        f"| old secret keeps signing after a rotation | {_duration(ROTATION_GRACE)} |",
        f"| outcome document | one PDF, at most {MAX_FILE_SIZE // (1024 * 1024)} MB |",
        "| page size (`limit`) | 1 to 100, default 50 |",
        f"| webhook event types | {', '.join(f'`{t}`' for t in EVENT_TYPES)} |",
    ]
    return "\n".join(rows) + "\n"


# ---- the scenario -------------------------------------------------------------------------------


def _cli(app, args: list[str]) -> dict:
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, (args, result.output)
    return json.loads(result.stdout)


def _upload(caller: ApiClient, dispute_id: str, name: str, data: bytes) -> dict:
    response = caller.client.post(
        f"/api/v1/disputes/{dispute_id}/evidence",
        data={"file": (io.BytesIO(data), name, "text/plain")},
        headers=caller._headers(None),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _referral_of(app, dispute: dict) -> str:
    from odr.cases.models import Case

    with app.app_context():
        return db.session.scalar(
            sa.select(Referral.public_id)
            .join(Case, Case.id == Referral.case_id)
            .where(Case.public_id == dispute["id"])
        )


def generate(app, simulator: PartnerSimulator) -> Generated:
    """Run the scenario with the clock frozen at START; the examples, and what was delivered."""
    base_url = app.config["BASE_URL"]
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, BASE_URL=API_HOST)  # webhooks name our host
    try:
        with clock.travel_to(START):
            return _scenario(app, simulator)
    finally:
        app.config.update(WEBHOOK_ALLOW_PRIVATE=False, BASE_URL=base_url)


def _scenario(app, simulator: PartnerSimulator) -> Generated:
    norm = Normaliser()
    norm.name(simulator.url, HOOK_URL)
    norm.name("http://localhost", API_HOST)
    examples: dict[str, str] = {}

    # A case manager adds the agency.
    add = ["odr", "partner", "add"]
    for option in ("name", "countries", "languages"):
        add += [f"--{option}", AGENCY[option]]
    add += ["--webhook-url", simulator.url, "--email", AGENCY["email"]]
    add += ["--legal-basis", AGENCY["legal_basis"], "--json"]
    added = _cli(app, add)
    secrets = [added["secret"]]
    norm.name(added["id"], example_uuid("partner"))
    norm.name(added["token"], example_token("token"))
    norm.name(added["secret"], example_secret("secret-1"))
    examples["partner-add"] = _command(norm, add, added | {"user_id": 7})
    with app.app_context():
        simulator.secrets = signing_secrets(find_partner(added["id"]))
    agency = Caller(app, added["token"])

    # Four consumers lodge disputes under German law, with their consent to a transfer.
    claimants = {}
    disputes = {}
    people = {
        "a": ("Li Wei", "li.wei@example.com", "zh_Hans"),
        "b": ("Chen Jing", "chen.jing@example.com", "zh_Hans"),
        "c": ("Wang Fang", "wang.fang@example.com", "en"),
        "d": ("Zhang Min", "zhang.min@example.com", "en"),
    }
    for number, (key, (name, email, language)) in enumerate(people.items()):
        user = make_user(app, "consumer", name=name, email=email, language=language)
        claimants[key] = ApiClient(app)
        claimants[key].token = token_for(app, user)
        disputes[key] = lodge(
            claimants[key],
            law=GERMAN_LAW,
            transfer_consent=True,
            language=language,
            order__reference=f"SW-10023{4 + number}",
        )
        assert disputes[key]["state"] == "referred", disputes[key]
        norm.name(disputes[key]["id"], example_uuid(f"dispute-{key}"))
        norm.name(disputes[key]["reference"], f"ODR-2026-{1201 + number:06d}")
        clock.advance(timedelta(minutes=5))
        if key == "a":  # the receipt goes with the referral
            receipt = _upload(claimants["a"], disputes["a"]["id"], "receipt.txt", RECEIPT)
            norm.name(receipt["id"], example_uuid("evidence-receipt"))
    referrals = {key: _referral_of(app, dispute) for key, dispute in disputes.items()}
    for key, public_id in referrals.items():
        norm.name(public_id, example_uuid(f"referral-{key}"))

    # The agency lists its referrals, reads the first, and downloads its evidence.
    clock.advance(timedelta(minutes=40))
    listed = _expect(agency.call("GET", "/api/v1/referrals?limit=1"), 200)
    assert [item["id"] for item in listed["items"]] == [referrals["a"]]
    assert listed["next_cursor"]  # opaque; shown as a fixed example (too short to replace)
    items = [_elided(item) for item in listed["items"]]
    examples["list"] = _http(norm, agency.log[-1], answer={"items": items, "next_cursor": "Mg"})
    following = f"/api/v1/referrals?limit=1&cursor={listed['next_cursor']}"
    following = _expect(agency.call("GET", following), 200)
    assert [item["id"] for item in following["items"]] == [referrals["b"]]

    package = _expect(agency.call("GET", f"/api/v1/referrals/{referrals['a']}"), 200)
    examples["read"] = _http(norm, agency.log[-1])
    examples["transfer"] = norm.text(f"```json\n{_json(package['transfer'])}\n```\n")
    [item] = package["dispute"]["evidence"]
    download = agency.call("GET", item["url"].removeprefix("http://localhost"))
    assert _expect(download, 200) == RECEIPT.decode()
    examples["evidence"] = _http(norm, download)

    # The agency accepts the first, with an Idempotency-Key, and sends the same request again.
    clock.advance(timedelta(days=1))
    accept = f"/api/v1/referrals/{referrals['a']}/accept"
    key = {"Idempotency-Key": "accept-2026-11-03-0001"}
    accepted = _expect(agency.call("POST", accept, {"partner_reference": "SB-2026-0117"}, key), 200)
    assert accepted["status"] == "accepted" and accepted["dispute"]["state"] == "with_partner"
    examples["accept"] = _http(norm, agency.log[-1], answer=_elided(accepted))
    again = agency.call("POST", accept, {"partner_reference": "SB-2026-0117"}, key)
    assert _expect(again, 200) == accepted and again.response_headers["Idempotent-Replayed"]
    examples["accept-replay"] = _http(norm, again, note="(the body of the first answer, unchanged)")

    # It declines the fourth: the dispute goes home, to negotiation.
    decline = f"/api/v1/referrals/{referrals['d']}/decline"
    body = {"reason": "The merchant is in our list of traders that refuse our procedure."}
    declined = _expect(agency.call("POST", decline, body), 200)
    assert declined["status"] == "declined"
    assert declined["dispute"] == {"reference": disputes["d"]["reference"]}  # no personal data
    examples["decline"] = _http(norm, agency.log[-1], answer=_elided(declined))

    # The second claimant withdraws: referral.withdrawn.
    clock.advance(timedelta(days=1))
    withdrawn = claimants["b"].post(
        f"/api/v1/disputes/{disputes['b']['id']}/actions/withdraw",
        {"reason": "The merchant refunded me."},
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()

    # Progress on the first, and a status outside the vocabulary.
    clock.advance(timedelta(days=1))
    updates = f"/api/v1/referrals/{referrals['a']}/updates"
    progress = {"status": "hearing_scheduled", "note": "Online hearing on 20 November, 10:00 CET."}
    updated = _expect(agency.call("POST", updates, progress), 200)
    examples["update"] = _http(norm, agency.log[-1], answer=_elided(updated))
    refused = agency.call("POST", updates, {"status": "hearing_adjourned"})
    _expect(refused, 422)
    examples["problem-invalid"] = _http(norm, refused)

    # The first claimant adds evidence: referral.evidence_added.
    clock.advance(timedelta(hours=3))
    photo = _upload(claimants["a"], disputes["a"]["id"], "earcup.txt", PHOTO_NOTE)
    norm.name(photo["id"], example_uuid("evidence-earcup"))

    # Day 6: the secret is rotated, and the sweep expires the third referral: referral.expired,
    # signed by both secrets.
    clock.advance(timedelta(days=2, hours=20))
    rotate = ["odr", "partner", "rotate-secret", added["id"], "--json"]
    rotated = _cli(app, rotate)
    secrets.append(rotated["secret"])
    norm.name(rotated["secret"], example_secret("secret-2"))
    examples["partner-rotate"] = _command(norm, rotate, rotated)
    simulator.secrets = [rotated["secret"]]  # an agency that switched at once
    with app.app_context():
        swept = sweep()
    assert swept["timeouts"] == 1, swept
    expired = _expect(agency.call("GET", f"/api/v1/referrals/{referrals['c']}"), 200)
    assert expired["status"] == "expired"
    assert expired["dispute"] == {"reference": disputes["c"]["reference"]}
    late = agency.call(
        "POST", f"/api/v1/referrals/{referrals['c']}/accept", {"partner_reference": "x"}
    )
    assert _expect(late, 409)["referral"] == "expired"

    # Day 14: the outcome, the same again, and a different one.
    clock.advance(timedelta(days=8))
    outcome = f"/api/v1/referrals/{referrals['a']}/outcome"
    report = {
        "outcome": "settled",
        "summary": SUMMARY,
        "amount": {"amount": "80.00", "currency": "EUR"},
        "document": {
            "filename": "decision-SB-2026-0117.pdf",
            "content_base64": base64.b64encode(DECISION_PDF).decode(),
        },
    }
    closed = _expect(agency.call("POST", outcome, report), 200)
    assert (closed["status"], closed["outcome"]) == ("closed", "settled")
    assert closed["dispute"] == {"reference": disputes["a"]["reference"]}
    first = agency.log[-1]
    first.body = {
        **report,
        "document": {
            **report["document"],
            "content_base64": report["document"]["content_base64"][:24] + "…",
        },
    }
    examples["outcome"] = _http(norm, first, answer=_elided(closed))
    replay = agency.call("POST", outcome, report)
    assert _expect(replay, 200) == closed
    replay.body = first.body
    examples["outcome-replay"] = _http(
        norm, replay, note="(the body of the first answer, unchanged)"
    )
    earcup = f"/api/v1/referrals/{referrals['a']}/evidence/{photo['id']}"
    _expect(agency.call("GET", earcup), 404)  # closed: the evidence is no longer the agency's
    conflict = agency.call("POST", outcome, {"outcome": "unresolved", "summary": SUMMARY})
    _expect(conflict, 409)
    examples["problem-conflict"] = _http(norm, conflict)

    # Another agency asks for this one's referral.
    stranger = Caller(app, _second_agency(app))
    norm.name(stranger.token, example_token("other-agency-token"))
    examples["problem-not-found"] = _http(
        norm, stranger.call("GET", f"/api/v1/referrals/{referrals['a']}")
    )
    assert stranger.log[-1].status == 404

    examples.update(_webhooks(norm, simulator, secrets, referrals))
    examples["retry-schedule"] = _retry_table()
    examples["limits"] = _limits()
    for name, text in examples.items():  # nothing of this run is left in the examples
        left = [real for real in norm.known if real in text]
        assert not left and "127.0.0.1" not in text and "localhost" not in text, (name, left)
    return Generated(
        examples=examples,
        deliveries=list(simulator.received),
        secrets=secrets,
        example_secrets=[norm.text(secret) for secret in secrets],
    )


def _second_agency(app) -> str:
    result = _cli(
        app,
        [
            "odr",
            "partner",
            "add",
            "--name",
            "Other Agency",
            "--countries",
            "FR",
            "--languages",
            "fr",
            "--webhook-url",
            "https://other.example/hooks",
            "--email",
            "desk@other.example",
            "--legal-basis",
            "consent",
            "--json",
        ],
    )
    return result["token"]


def _webhooks(
    norm: Normaliser, simulator: PartnerSimulator, secrets: list[str], referrals: dict[str, str]
) -> dict[str, str]:
    received = list(simulator.received)
    assert received and all(r.verified and r.answered == 204 for r in received), [
        (r.verified, r.answered) for r in received
    ]

    def find(event: str, referral: str, status: str | None = None) -> Received:
        [found] = [
            r
            for r in received
            if (body := json.loads(r.body))["type"] == event
            and body["data"]["referral"] == referral
            and (status is None or body["data"]["status"] == status)
        ]
        return found

    created = find("referral.created", referrals["a"])
    added = find("referral.evidence_added", referrals["a"], "accepted")
    withdrawn = find("referral.withdrawn", referrals["b"])
    expired = find("referral.expired", referrals["c"])
    assert len(expired.headers["webhook-signature"].split(" ")) == 2  # during the rotation
    shown = {
        "webhook.referral.created": created,
        "webhook.referral.evidence_added": added,
        "webhook.referral.withdrawn": withdrawn,
        "webhook.referral.expired": expired,
    }
    examples = {
        name: norm.text(f"```json\n{_json(json.loads(r.body))}\n```\n") for name, r in shown.items()
    }
    examples["webhook.delivery"] = (
        "```http\n" + "\n".join(_delivery_request(norm, created, secrets)) + "\n```\n"
    )
    rotation = _delivery_request(norm, expired, secrets)
    examples["webhook.rotation"] = "```http\n" + "\n".join(rotation) + "\n```\n"
    return examples
