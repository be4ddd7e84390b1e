"""Logs a machine can read (issue 16): one JSON object a line, a request id from `X-Request-ID`
carried into the response, the queue's tasks and the webhooks a request causes, and no secret in
any line."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import structlog

from odr.config import PROJECT_ROOT
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from odr.logs import configure_logging, log_formatter, request_id_from
from odr.queue import huey
from odr.referrals.directory import add_partner
from odr.referrals.secrets import signing_secrets
from tests.conftest import free_port
from tests.factories import PASSWORD, lodging_body, make_user, token_for
from tests.referrals.simulator import PartnerSimulator
from tests.security.conftest import start_server, stop_server

UUID_HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the root logger writes, through the app's JSON formatter, into a buffer."""
    configure_logging("json")
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(log_formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        configure_logging("plain")


def parsed(sink: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in sink.getvalue().splitlines() if line.strip()]


# ---- the request id ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("checkout-7f3a.2:retry_1", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ("tab\there", False),
        ("ünïcode", False),
        ("<script>", False),
        ("", False),
    ],
)
def test_a_sane_request_id_is_kept_and_any_other_replaced(app, given, kept):
    response = app.test_client().get("/livez", headers={"X-Request-ID": given})
    answered = response.headers["X-Request-ID"]
    if kept:
        assert answered == given
    else:
        assert UUID_HEX.fullmatch(answered) and answered != given
        assert request_id_from(given) != request_id_from(given)  # a new one each time


def test_each_request_without_an_id_gets_a_new_one(app):
    client = app.test_client()
    first, second = (client.get("/livez").headers["X-Request-ID"] for _ in range(2))
    assert UUID_HEX.fullmatch(first) and UUID_HEX.fullmatch(second) and first != second


def test_the_request_line_is_json_with_the_request_id_and_route(app, json_lines):
    public_id = "0" * 8
    app.test_client().get(f"/disputes/{public_id}", headers={"X-Request-ID": "trace-1"})
    [line] = [entry for entry in parsed(json_lines) if entry.get("event") == "request"]
    assert list(line)[:5] == ["timestamp", "level", "logger", "event", "request_id"]
    assert line["request_id"] == "trace-1"
    assert line["logger"] == "odr.request" and line["level"] == "info"
    assert line["route"] == "/disputes/<dispute_id>" and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float) and line["status"] in (302, 404)


def test_a_standard_library_line_in_a_request_carries_its_id(app, web, json_lines):
    user = make_user(app)
    web.get("/login")
    web.post(
        "/login",
        {"email": user.email, "password": "wrong"},
        headers={"X-Request-ID": "trace-2"},
    )
    [line] = [entry for entry in parsed(json_lines) if "failed log-in" in entry["event"]]
    assert line["logger"].startswith("odr.accounts")
    assert line["request_id"] == "trace-2" and line["level"] in ("info", "warning")


# ---- into the queue and the webhooks -------------------------------------------------------------


def test_a_task_the_request_schedules_is_given_its_id(app):
    from odr.queue import schedule_delivery

    huey.immediate = False  # enqueue for real, to read what the task was given
    try:
        huey.flush()
        with structlog.contextvars.bound_contextvars(request_id="trace-queue"):
            schedule_delivery()
        [task] = huey.pending()
        assert task.name.endswith("deliver_outbox_task")
        assert task.kwargs == {"request_id": "trace-queue"}
    finally:
        huey.flush()
        huey.immediate = True


def test_a_task_logs_with_the_id_it_was_given(app, json_lines):
    from odr.worker import deliver_outbox_task

    with app.app_context():
        db.session.execute(
            sa.insert(OutboxMessage),
            [{"kind": "mail", "destination": "a@b.example", "payload": {}, "idempotency_key": "k"}],
        )
        db.session.commit()
        deliver_outbox_task.call_local(request_id="trace-task")  # the payload cannot be worded
    [line] = [entry for entry in parsed(json_lines) if "failed" in entry["event"]]
    assert line["request_id"] == "trace-task"
    assert structlog.contextvars.get_contextvars().get("request_id") is None  # unbound after


def test_the_webhook_a_request_causes_carries_its_request_id(app, api):
    simulator = PartnerSimulator()
    simulator.start()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    try:
        with app.app_context():
            partner, _user, _token, _secret = add_partner(
                name="Schlichtungsstelle Simuliert",
                countries=["DE"],
                languages=["de", "en"],
                webhook_url=simulator.url,
                legal_basis="Art. 6(1)(a) GDPR: the consumer's consent.",
                user_email="desk@simulated.example",
            )
            simulator.secrets = signing_secrets(partner)
        claimant = api.as_user(make_user(app, "consumer"))
        body = lodging_body(law={"consumer_chose_merchant_law": True}, transfer_consent=True)
        response = claimant.post(
            "/api/v1/disputes", body, headers={"X-Request-ID": "lodging-trace-42"}
        )
        assert response.status_code == 201 and response.get_json()["state"] == "referred"
        [received] = simulator.received
        assert received.verified and received.headers["x-request-id"] == "lodging-trace-42"
        with app.app_context():
            kept = db.session.scalars(
                sa.select(OutboxMessage.request_id).where(OutboxMessage.case_id.is_not(None))
            ).all()
        assert set(kept) == {"lodging-trace-42"}  # the mails of that lodging too
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        simulator.stop()


# ---- no secret in any line -----------------------------------------------------------------------


def test_secrets_are_cut_out_of_messages_values_and_tracebacks(json_lines):
    api_token = "odr_" + "Zx9" * 15
    webhook_secret = "whsec_" + "QUJD" * 11 + "="
    link = "/password/reset/IjEi.Z2xxe.abcdefghijk"
    log = structlog.get_logger("odr.test")
    log.info("log-in", email="lin@example.com", password="hunter2-password")
    log.info("call", authorization=f"Bearer {api_token}", headers={"Cookie": "session=abc123"})
    logging.getLogger("odr.test").warning(
        "token %s and secret %s at %s", api_token, webhook_secret, link
    )
    logging.getLogger("odr.test").info("connecting to postgresql://odr:db-pass-9@db.example/odr")
    try:
        raise RuntimeError(f"refused Bearer {api_token}")
    except RuntimeError:
        logging.getLogger("odr.test").exception("it broke")
    text = json_lines.getvalue()
    for secret in (
        api_token,
        webhook_secret,
        "hunter2-password",
        "abc123",
        "IjEi.Z2xxe.abcdefghijk",
        "db-pass-9",
    ):
        assert secret not in text
    lines = parsed(json_lines)
    assert len(lines) == 5
    assert lines[0]["email"] == "lin@example.com"  # what is not secret stays
    assert "/password/reset/[link-token]" in lines[2]["event"]
    assert "RuntimeError" in lines[4]["exception"]


@pytest.fixture
def served_json(mailbox):
    served = start_server(mailbox, "logging-json.db", LOG_FORMAT="json")
    yield served
    stop_server(served)


def test_a_served_app_writes_json_lines_without_the_secrets_its_requests_carried(served_json):
    """Requests carrying a password, an API token, a link token and a webhook secret: every line
    of the server's log is JSON, and none holds any of them."""
    server = served_json
    consumer = make_user(server.app, email="lin@example.com")
    manager = make_user(server.app, "case_manager", email="manager@example.com")
    api_token = token_for(server.app, consumer)

    visitor = server.visitor()
    visitor.login(consumer.email, PASSWORD)
    server.visitor().login(consumer.email, "wrong-" + PASSWORD)  # a failed log-in is logged
    visitor.api("GET", "/api/v1/disputes", api_token, headers={"X-Request-ID": "served-1"})
    visitor.api("GET", "/api/v1/disputes", api_token + "x")  # refused, with the token
    link_token = "IjMi.aGZx8e.link-token-value-1234"
    visitor.get(f"/password/reset/{link_token}")
    visitor.get(f"/livez?token={api_token}&password={PASSWORD}")

    admin = server.visitor()
    admin.login(manager.email, PASSWORD)
    admin.get("/admin/partners/new")
    made = admin.post(
        "/admin/partners/new",
        {
            "name": "Agence Test",
            "countries": "FR",
            "languages": "fr",
            "webhook_url": "https://agence.example/hooks",
            "legal_basis": "Art. 49(1)(a) GDPR",
            "email": "desk@agence.example",
        },
    )
    webhook_secret = re.search(r"whsec_[A-Za-z0-9+/=]+", made.text).group(0)

    log = server.log_text()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    requests_logged = [line for line in lines if line["event"] == "request"]
    assert len(requests_logged) >= 10
    assert all({"timestamp", "level", "logger", "event"} <= set(line) for line in lines)
    assert all(line["request_id"] for line in requests_logged)
    assert any(line["request_id"] == "served-1" for line in requests_logged)
    assert any("failed log-in" in line["event"] for line in lines)
    for secret in (PASSWORD, api_token, link_token, webhook_secret):
        assert secret not in log


def test_gunicorns_own_log_can_be_written_in_the_same_json(capsys):
    import logging.config

    from odr.logs import gunicorn_logconfig

    logging.config.dictConfig(gunicorn_logconfig("json"))
    try:
        with structlog.contextvars.bound_contextvars(request_id="gunicorn-1"):
            logging.getLogger("gunicorn.error").info("worker timeout, Bearer odr_%s", "Q" * 30)
        [line] = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    finally:
        for name in ("gunicorn.error", "gunicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
    assert line["logger"] == "gunicorn.error" and line["request_id"] == "gunicorn-1"
    assert "Q" * 30 not in line["event"] and line["event"].startswith("worker timeout")


def test_under_gunicorn_each_request_is_logged_once(tmp_path):
    """gunicorn's own logging set-up gives the root logger a handler; the app's must not come
    on top of it, or every line is written twice."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ODR_")},
        "ODR_INSTANCE_DIR": str(tmp_path),
        "ODR_DATABASE_URL": f"sqlite:///{tmp_path / 'odr.db'}",
        "ODR_PORT": str(port),
        "ODR_WORKERS": "1",
        "ODR_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:odr.gunicorn_conf", "app:app"]
    server = subprocess.Popen(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(
                        f"http://127.0.0.1:{port}/livez", headers={"X-Request-ID": "once-only-1"}
                    ),
                    timeout=5,
                ) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    written = [json.loads(line) for line in (out + err).decode().splitlines()]
    lines = [line for line in written if line.get("request_id") == "once-only-1"]
    assert len(lines) == 1, lines
    assert lines[0]["route"] == "/livez"
    # gunicorn's access lines only when ODR_ACCESS_LOG asks for them.
    assert [line for line in written if line["logger"] == "gunicorn.access"] == []
