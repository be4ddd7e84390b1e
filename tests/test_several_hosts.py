"""Two app hosts, one truth (issue 16): two gunicorn instances and two Huey workers on one
PostgreSQL, one Redis and one S3 endpoint, as two hosts behind a load balancer would run.

A session made on one host works on the other; the log-in throttle counts failures made on both;
a file uploaded through one is downloaded through the other; two sweeps started on the two hosts
at once fire each due dispute once; and a worker killed while it delivers loses no message: the
outbox row stays, and is delivered once its lease has passed.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from odr import clock, create_app, serve
from odr.config import PROJECT_ROOT
from odr.delivery.services import LEASE, deliver_due
from odr.demo import DEMO_PASSWORD
from tests.conftest import _TMP, _reset_postgres, free_port, redis_url
from tests.storage_helpers import s3_endpoint
from tests.test_serve import POSTGRES, flask_json, lodge, request

SCHEMA = f"{os.environ.get('PYTEST_XDIST_WORKER', '')}several_hosts".lstrip("_")
CONSUMER = "consumer@demo.odr"


class HoldingMailbox:
    """An SMTP server that accepts mail, or, while `hold` is set, keeps the sender waiting in the
    middle of a message it never accepts (the worker is then mid-task)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.hold = False
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.hold:
            self.held_message = message_from_bytes(envelope.content, policy=policy.default)
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def subjects(self, address: str) -> list[str]:
        return [m["Subject"] for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp():
    box = HoldingMailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    box.release.set()
    controller.stop()


def host_env(common: dict[str, str], name: str) -> dict[str, str]:
    port = free_port()
    return serve.production_env(
        {
            **common,
            "ODR_PORT": str(port),
            "ODR_INSTANCE_DIR": str(_TMP / f"host-{name}-{uuid.uuid4().hex[:6]}"),
            "PROMETHEUS_MULTIPROC_DIR": str(_TMP / f"prometheus-{name}-{port}"),
        }
    )


@pytest.fixture
def hosts(smtp):
    """Hosts `a` and `b`, each gunicorn with one worker process, and a Huey worker each."""
    _reset_postgres(POSTGRES, SCHEMA)
    redis = redis_url(7)
    subprocess.run(["redis-cli", "-u", redis, "FLUSHDB"], check=True, capture_output=True)
    common = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ODR_")},
        "ODR_DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{SCHEMA}",
        "ODR_QUEUE_URL": redis,
        "ODR_RATELIMIT_URL": redis,
        "ODR_STORAGE_URL": f"s3://odr-hosts-{uuid.uuid4().hex[:12]}/files",
        "ODR_S3_ENDPOINT_URL": s3_endpoint(),
        "ODR_SMTP_PORT": str(smtp.port),
        "ODR_WORKERS": "1",
        "ODR_BASE_URL": f"http://127.0.0.1:{free_port()}",  # the balancer's, the same for both
        "ODR_SECRET_KEY": "several-hosts-secret-" + uuid.uuid4().hex,
        "ODR_AUDIT_KEY": "several-hosts-audit-" + uuid.uuid4().hex,
        "ODR_LOGIN_FREE_FAILURES_ACCOUNT": "2",
        "ODR_RATELIMIT_LODGE": "1000 per hour",
    }
    envs = {name: host_env(common, name) for name in ("a", "b")}
    serve.set_up(envs["a"])
    processes = []
    try:
        for env in envs.values():
            processes.append(serve.start_gunicorn(env))
            serve.wait_until_serving(env, processes[-1])
        workers = {name: start_worker(env) for name, env in envs.items()}
        processes.extend(workers.values())
        yield {name: int(env["ODR_PORT"]) for name, env in envs.items()}, envs, workers
    finally:
        for process in processes:
            serve.stop(process)


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """A Huey worker without the periodic sweep: the sweeps here are the ones the test starts."""
    command = [sys.executable, "-m", "flask", "--app", "app", "odr", "worker", "--no-periodic"]
    return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)


def login_form(port: int) -> tuple[str, str]:
    """A fresh browser's cookie and CSRF token from the log-in page of the host on `port`."""
    status, page, headers = exchange(port, "GET", "/login")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    return cookie, re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)


def try_log_in(port: int, password: str) -> tuple[int, dict[str, str]]:
    cookie, csrf = login_form(port)
    form = urllib.parse.urlencode({"csrf_token": csrf, "email": CONSUMER, "password": password})
    status, _page, headers = exchange(
        port,
        "POST",
        "/login",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    return status, headers


def exchange(port: int, method: str, path: str, body=None, headers=None):
    """Status, body and headers, with `Set-Cookie` the session cookie set (if any)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    found = dict(response.getheaders())
    sessions = [
        v for k, v in response.getheaders() if k == "Set-Cookie" and v.startswith("session=")
    ]
    found["Set-Cookie"] = sessions[0] if sessions else ""
    return response.status, data, found


def upload(port: int, token: str, dispute_id: str, name: str, data: bytes) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, answer = request(
        port,
        "POST",
        f"/api/v1/disputes/{dispute_id}/evidence",
        body,
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert status == 201, answer[:300]
    return json.loads(answer)


def test_two_hosts_share_sessions_limits_files_sweeps_and_the_outbox(hosts, smtp):
    ports, envs, workers = hosts
    token = flask_json(envs["a"], "odr", "token", "create", "--email", CONSUMER, "--json")["token"]
    bearer = {"Authorization": f"Bearer {token}"}

    # A session made on host a is honoured by host b.
    status, headers = try_log_in(ports["a"], DEMO_PASSWORD)
    assert status == 302, status
    session = headers["Set-Cookie"].split(";", 1)[0]
    dispute = lodge(ports["a"], token)
    status, page = request(
        ports["b"], "GET", f"/disputes/{dispute['id']}", None, {"Cookie": session}
    )
    assert status == 200 and dispute["reference"].encode() in page

    # A file uploaded through host b is downloaded through host a, byte for byte.
    data = "".join(f"{i:08d} {uuid.uuid4()}\n" for i in range(70_000)).encode()  # 3.2 MB of text
    item = upload(ports["b"], token, dispute["id"], "chat-log.txt", data)
    path = urllib.parse.urlsplit(item["url"]).path
    status, downloaded = request(ports["a"], "GET", path, None, bearer)
    assert status == 200 and downloaded == data

    # Wrong passwords on both hosts add up. The account's two free failures are one on each host
    # (the second sets a delay of a second); once that has passed, a third on host a sets one of
    # two seconds, which host b enforces at once. Counted per host, b would have seen one.
    assert try_log_in(ports["a"], "wrong one")[0] == 401
    assert try_log_in(ports["b"], "wrong two")[0] == 401
    time.sleep(1.2)
    assert try_log_in(ports["a"], "wrong three")[0] == 401
    status, headers = try_log_in(ports["b"], DEMO_PASSWORD)
    assert status == 429 and int(headers["Retry-After"]) >= 1

    # Two sweeps, one on each host, started together: every due dispute fires once.
    disputes = [lodge(ports["a" if i % 2 else "b"], token) for i in range(40)]
    engine = sa.create_engine(envs["a"]["ODR_DATABASE_URL"])
    with engine.begin() as connection:
        due = "UPDATE cases SET deadline_at = now() - interval '1 day' WHERE state = :state"
        connection.execute(sa.text(due), {"state": "negotiation"})
    sweeps = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "odr", "sweep"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for env in envs.values()
    ]
    for sweep in sweeps:
        _out, err = sweep.communicate(timeout=120)
        assert sweep.returncode == 0, err[-500:]
    with engine.connect() as connection:
        fired = connection.execute(
            sa.text(
                "SELECT c.public_id, count(e.id) FROM cases c LEFT JOIN events e "
                "ON e.case_id = c.id AND e.kind = 'escalate' GROUP BY c.public_id"
            )
        ).all()
    escalations = dict(fired)  # the demo's disputes too: none fired twice either
    assert max(escalations.values()) == 1
    assert {d["id"]: escalations[d["id"]] for d in [dispute, *disputes]} == {
        d["id"]: 1 for d in [dispute, *disputes]
    }

    # A worker killed while it delivers: the message stays in the outbox and goes out later.
    # A worker killed while it delivers: the message stays in the outbox and goes out later.
    undelivered_mail = sa.text(
        "SELECT count(*) FROM outbox WHERE kind = 'mail' AND delivered_at IS NULL"
    )
    deadline = time.monotonic() + 60
    with engine.connect() as connection:  # the sweeps' mail first, so that the next is the receipt
        while connection.execute(undelivered_mail).scalar() and time.monotonic() < deadline:
            connection.rollback()
            time.sleep(0.2)
    serve.stop(workers["b"])
    smtp.hold = True
    lodge(ports["a"], token)  # its mails are queued, and worker a takes the first
    assert smtp.held.wait(30), "no worker started delivering"
    workers["a"].send_signal(signal.SIGKILL)
    workers["a"].wait(10)
    smtp.hold = False
    smtp.release.set()
    with engine.connect() as connection:  # claimed by the dead worker, still there, not sent
        claimed = connection.execute(
            sa.text(
                "SELECT destination FROM outbox WHERE kind = 'mail' AND delivered_at IS NULL "
                "AND attempts = 1"
            )
        ).scalars()
        assert claimed.all() == [smtp.held_message["To"]]
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": envs["a"]["ODR_DATABASE_URL"],
            "STORAGE_URL": envs["a"]["ODR_STORAGE_URL"],
            "S3_ENDPOINT_URL": envs["a"]["ODR_S3_ENDPOINT_URL"],
            "SMTP_PORT": smtp.port,
            "BASE_URL": envs["a"]["ODR_BASE_URL"],
            "QUEUE_IMMEDIATE": True,
        }
    )
    with app.app_context(), clock.travel_to(clock.now() + LEASE + timedelta(minutes=1)):
        while deliver_due():  # the next sweep's delivery, once the dead worker's lease has passed
            pass
    with engine.connect() as connection:
        assert connection.execute(undelivered_mail).scalar() == 0
    engine.dispose()
    delivered = [
        m
        for m in smtp.messages
        if (m["To"], m["Subject"]) == (smtp.held_message["To"], smtp.held_message["Subject"])
    ]
    assert len(delivered) == 1  # once: the killed worker never finished sending it
