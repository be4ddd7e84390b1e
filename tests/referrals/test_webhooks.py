"""Webhooks to partner agencies (issue 7, delivery): signed per Standard Webhooks, written to the
outbox with the change, retried over more than a day with one `webhook-id`, then dead and the case
managers alerted; a 410 disables the endpoint; redirects are not followed; private addresses are
refused unless allowed. A partner simulator on a real local port receives them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook

from odr import clock
from odr.cases.models import Case
from odr.delivery.models import OutboxMessage
from odr.delivery.services import BACKOFF, deliver_due
from odr.errors import NotFound
from odr.extensions import db
from odr.referrals.directory import enable_partner, find_partner, rotate_secret
from odr.referrals.webhooks import WebhookFailed, post_webhook, queue_webhook, retry_dead_webhook
from odr.sweep import sweep
from tests.factories import lodge, make_user, notice_kinds

ROOT = Path(__file__).resolve().parents[2]


# ---- helpers ------------------------------------------------------------------------------------


def queue(app, partner, event: str = "referral.created", case_id: int | None = None) -> str:
    """A webhook written and committed, as a change that reports it would; not yet delivered."""
    with app.app_context():
        data = {"referral": "3f1c-referral", "reference": "ODR-2025-000123"}
        message_id = queue_webhook(find_partner(partner.public_id), event, data, case_id=case_id)
        db.session.commit()
    return message_id


def outbox(app, message_id: str) -> OutboxMessage:
    with app.app_context():
        query = sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == message_id)
        return db.session.scalar(query)


def deliver(app) -> int:
    with app.app_context():
        return deliver_due()


def run_schedule(app, message_id: str) -> list[timedelta]:
    """Sweep at each time the message is due until it is dead; the waits between attempts."""
    moment, waits = clock.now(), []
    for _attempt in range(10):
        with app.app_context(), clock.travel_to(moment):
            sweep()
        message = outbox(app, message_id)
        if message.dead_at is not None:
            return waits
        waits.append(message.next_attempt_at - moment)
        moment = message.next_attempt_at
    raise AssertionError("the message never went dead")


def page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


# ---- delivery -----------------------------------------------------------------------------------


def test_a_webhook_is_signed_per_standard_webhooks_and_delivered(
    app, partner_simulator, simulated_partner
):
    message_id = queue(app, simulated_partner)
    assert message_id.startswith("msg_")
    assert deliver(app) == 1

    [request] = partner_simulator.received
    assert request.verified and request.answered == 204
    assert request.headers["webhook-id"] == message_id
    assert request.headers["content-type"] == "application/json"
    body = Webhook(simulated_partner.secret).verify(request.body, request.headers)
    assert body["type"] == "referral.created"
    assert body["data"] == {"referral": "3f1c-referral", "reference": "ODR-2025-000123"}
    # DESIGN.md's wording, by hand: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
    key = base64.b64decode(simulated_partner.secret.removeprefix("whsec_"))
    signed = f"{message_id}.{request.headers['webhook-timestamp']}.".encode() + request.body
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == f"v1,{digest}"
    assert outbox(app, message_id).delivered_at is not None


def test_a_failing_endpoint_is_retried_over_a_day_with_one_id_then_dead_and_alerts(
    app, mailbox, make_web, partner_simulator, simulated_partner
):
    managers = [make_user(app, "case_manager"), make_user(app, "case_manager", language="zh_Hans")]
    partner_simulator.answer = "error"
    message_id = queue(app, simulated_partner)

    waits = run_schedule(app, message_id)

    assert len(waits) == len(BACKOFF) == 6  # about 30 s, 2 min, 10 min, 1 h, 6 h, 24 h
    for wait, base in zip(waits, BACKOFF, strict=True):
        assert base * 0.8 <= wait <= base * 1.2
    message = outbox(app, message_id)
    assert message.attempts == 7 and message.delivered_at is None
    assert "500" in message.last_error

    attempts = partner_simulator.received
    assert len(attempts) == 7
    assert {a.headers["webhook-id"] for a in attempts} == {message_id}
    assert all(a.verified and a.answered == 500 for a in attempts)  # signed afresh each time
    stamps = [int(a.headers["webhook-timestamp"]) for a in attempts]
    assert stamps == [int(a.at.timestamp()) for a in attempts]  # the time of that attempt
    assert stamps == sorted(set(stamps))
    assert attempts[-1].at - attempts[0].at >= timedelta(hours=24)

    for manager in managers:
        assert notice_kinds(app, manager) == ["webhook_dead"]
    with app.app_context(), clock.travel_to(message.dead_at):
        sweep()  # the alerts were written with the dead message; the next pass sends them
    [english] = mailbox.to(managers[0].email)
    assert "Schlichtungsstelle Simuliert" in english["Subject"]
    assert message_id in english.get_body(("plain",)).get_content()
    assert mailbox.to(managers[1].email)[0]["Content-Language"] == "zh_Hans"

    web = make_web()
    web.login(managers[0].email)
    assert "A webhook to Schlichtungsstelle Simuliert could not be delivered" in page_text(
        web.get("/notices")
    )


def test_a_dead_webhook_retried_by_hand_is_delivered_with_its_id(
    app, partner_simulator, simulated_partner
):
    partner_simulator.answer = "error"
    message_id = queue(app, simulated_partner)
    run_schedule(app, message_id)
    dead = outbox(app, message_id)

    partner_simulator.answer = "ok"
    with app.app_context():
        retry_dead_webhook(dead.id)  # the queue (immediate in tests) delivers it at once
    message = outbox(app, message_id)
    assert message.delivered_at is not None and message.dead_at is None
    assert message.attempts == 1
    last = partner_simulator.received[-1]
    assert last.answered == 204 and last.headers["webhook-id"] == message_id
    with app.app_context(), pytest.raises(NotFound):
        retry_dead_webhook(dead.id)  # delivered, not dead


def test_a_410_disables_the_partner_and_alerts_the_case_managers(
    app, api, mailbox, partner_simulator, simulated_partner
):
    manager = make_user(app, "case_manager")
    dispute = lodge(api.as_user(make_user(app, "consumer")))
    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        case_id = case.id
    partner_simulator.answer = "gone"
    message_id = queue(app, simulated_partner, case_id=case_id)

    deliver(app)

    message = outbox(app, message_id)
    assert message.dead_at is not None and message.attempts == 1  # dead at once
    with app.app_context():
        partner = find_partner(simulated_partner.public_id)
        assert partner.active is False and "410" in partner.disabled_reason
    assert "webhook_endpoint_gone" in notice_kinds(app, manager)
    deliver(app)
    [alert] = [m for m in mailbox.to(manager.email) if "gone" in m["Subject"]]
    text = alert.get_body(("plain",)).get_content()
    assert dispute["reference"] in text and f"/disputes/{dispute['id']}" in text

    partner_simulator.answer = "ok"
    later = queue(app, simulated_partner, event="referral.withdrawn")
    alerts = len(notice_kinds(app, manager))
    deliver(app)
    assert len(partner_simulator.received) == 1  # nothing more goes to a disabled agency
    held = outbox(app, later)
    assert held.dead_at is not None and held.last_error.startswith("AgencyDisabled")
    assert len(notice_kinds(app, manager)) == alerts  # held quietly: the 410 was the alert

    with app.app_context():
        enable_partner(find_partner(simulated_partner.public_id))
    deliver(app)
    assert outbox(app, later).delivered_at is not None  # enabling sends what was held
    assert partner_simulator.received[-1].headers["webhook-id"] == later
    assert outbox(app, message_id).dead_at is not None  # the 410 itself waits for a retry


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    app, partner_simulator, simulated_partner
):
    partner_simulator.answer = "redirect"
    message_id = queue(app, simulated_partner)
    assert deliver(app) == 0
    assert [r.answered for r in partner_simulator.received] == [302]
    assert partner_simulator.followed == []
    message = outbox(app, message_id)
    assert message.delivered_at is None and message.dead_at is None
    assert "302" in message.last_error and message.next_attempt_at > clock.now()


def test_an_endpoint_that_hangs_past_the_timeout_is_retried_later(
    app, partner_simulator, simulated_partner
):
    app.config["WEBHOOK_TIMEOUT"] = 0.5  # stands for 10 s; the simulator hangs for 11
    try:
        partner_simulator.answer = "hang"
        message_id = queue(app, simulated_partner)
        started = time.monotonic()
        assert deliver(app) == 0
        assert time.monotonic() - started < 5
    finally:
        del app.config["WEBHOOK_TIMEOUT"]
    message = outbox(app, message_id)
    assert message.delivered_at is None and "timed out" in message.last_error

    partner_simulator.answer = "ok"
    with app.app_context(), clock.travel_to(clock.now() + timedelta(minutes=1)):
        assert sweep()["delivered"] == 1
    assert [r.headers["webhook-id"] for r in partner_simulator.received] == [message_id] * 2


def test_nothing_is_lost_when_the_process_dies_between_commit_and_delivery(
    app, partner_simulator, simulated_partner, tmp_path
):
    script = (
        "import os, signal, sys\n"
        "from odr import create_app\n"
        "from odr.extensions import db\n"
        "from odr.referrals.directory import find_partner\n"
        "from odr.referrals.webhooks import queue_webhook\n"
        "with create_app().app_context():\n"
        "    partner = find_partner(sys.argv[1])\n"
        "    print(queue_webhook(partner, 'referral.expired', {}, case_id=None), flush=True)\n"
        "    db.session.commit()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)  # before anything asks for the delivery\n"
    )
    environment = {
        **os.environ,
        "ODR_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ODR_QUEUE_PATH": str(tmp_path / "queue.db"),
    }
    environment.pop("ODR_QUEUE_URL", None)
    killed = subprocess.run(
        [sys.executable, "-c", script, simulated_partner.public_id],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    message_id = killed.stdout.strip()
    assert outbox(app, message_id).delivered_at is None
    assert partner_simulator.received == []

    with app.app_context():
        assert sweep()["delivered"] == 1
    [request] = partner_simulator.received
    assert request.verified and request.headers["webhook-id"] == message_id


def test_during_a_rotation_both_secrets_sign(app, partner_simulator, simulated_partner):
    old = simulated_partner.secret
    with app.app_context():
        new = rotate_secret(find_partner(simulated_partner.public_id))
    partner_simulator.secrets = [old]  # an agency that has not switched yet
    queue(app, simulated_partner)
    assert deliver(app) == 1
    [request] = partner_simulator.received
    assert request.verified
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert partner_simulator.verifies(request, [new])  # and one that has switched

    moment = clock.now() + timedelta(hours=25)  # the grace period is over
    with clock.travel_to(moment):
        queue(app, simulated_partner, event="referral.withdrawn")
        assert deliver(app) == 0  # the simulator knows only the old secret: 401
    partner_simulator.secrets = [new]
    with app.app_context(), clock.travel_to(moment + timedelta(minutes=1)):
        assert sweep()["delivered"] == 1
    late = partner_simulator.received[-1]
    assert late.verified and not partner_simulator.verifies(late, [old])


# ---- addresses ----------------------------------------------------------------------------------


def test_a_private_address_is_refused_unless_allowed(app, partner_simulator, simulated_partner):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False  # the fixture allowed it to add the agency
    message_id = queue(app, simulated_partner)
    assert deliver(app) == 0
    assert partner_simulator.received == []
    assert outbox(app, message_id).last_error is not None

    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    with app.app_context(), clock.travel_to(clock.now() + timedelta(minutes=1)):
        assert sweep()["delivered"] == 1


def _resolving(monkeypatch, name: str, addresses: list[str]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "private",
    ["127.0.0.1", "10.0.0.8", "169.254.169.254", "100.64.0.1", "::1", "fd00::1", "::ffff:10.0.0.8"],
)
def test_a_name_that_resolves_to_a_private_address_is_refused(app, monkeypatch, private):
    _resolving(monkeypatch, "hooks.partner.example", ["93.184.215.14", private])
    with app.app_context(), pytest.raises(WebhookFailed, match="non-public address"):
        post_webhook("https://hooks.partner.example/hooks", b"{}", {})


def test_the_post_goes_to_the_address_checked_with_the_name_as_host(
    app, monkeypatch, partner_simulator
):
    # partner.test does not resolve in real DNS: the post reaches the simulator only by the
    # address that was checked, not by a second lookup.
    _resolving(monkeypatch, "partner.test", ["127.0.0.1"])
    port = partner_simulator.url.split(":")[2].split("/")[0]
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    try:
        with app.app_context():
            assert post_webhook(f"http://partner.test:{port}/hooks", b"{}", {}) == 401  # unsigned
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    assert partner_simulator.received[0].headers["host"] == f"partner.test:{port}"
