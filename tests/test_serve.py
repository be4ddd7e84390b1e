"""`make serve`'s steps, run as it runs them: the services found running, an S3 bucket made, the
database migrated and given the demo data once, then gunicorn (by odr/gunicorn_conf.py) and a Huey
worker on PostgreSQL, Redis and S3, answering a logged-in page and a lodging through the API, with
the receipt mailed by the worker through the Redis queue."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest
import sqlalchemy as sa

from odr import serve
from odr.config import PROJECT_ROOT
from odr.demo import DEMO_PASSWORD
from tests.conftest import _TMP, _reset_postgres, free_port, redis_url
from tests.factories import lodging_body
from tests.storage_helpers import s3_endpoint

POSTGRES = os.environ.get(
    "ODR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SCHEMA = f"{os.environ.get('PYTEST_XDIST_WORKER', '')}serve_shape".lstrip("_")


@pytest.fixture
def shape(mailbox):
    """The production environment `make serve` builds, on a schema, Redis database, bucket and
    port of this test's own."""
    _reset_postgres(POSTGRES, SCHEMA)
    redis = redis_url(8)
    subprocess.run(["redis-cli", "-u", redis, "FLUSHDB"], check=True, capture_output=True)
    base = {
        **os.environ,
        "ODR_PORT": str(free_port()),
        "ODR_INSTANCE_DIR": str(_TMP / f"serve-{uuid.uuid4().hex[:8]}"),
        "ODR_DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{SCHEMA}",
        "ODR_QUEUE_URL": redis,
        "ODR_RATELIMIT_URL": redis,
        "ODR_STORAGE_URL": f"s3://odr-serve-{uuid.uuid4().hex[:12]}/files",
        "ODR_S3_ENDPOINT_URL": s3_endpoint(),
        "ODR_SMTP_PORT": str(mailbox.port),
        "ODR_WORKERS": "2",
    }
    for name in ("ODR_ENV", "ODR_SECRET_KEY", "ODR_AUDIT_KEY", "ODR_BASE_URL", "ODR_SINGLE_HOST"):
        base.pop(name, None)
    return serve.production_env(base)


def flask_json(env, *args: str) -> dict:
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, check=True)
    return json.loads(done.stdout)


def log_in(port: int, email: str, password: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": csrf, "email": email, "password": password})
    connection.request(
        "POST",
        "/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    [session] = [
        value.split(";", 1)[0]
        for name, value in response.getheaders()
        if name == "Set-Cookie" and value.startswith("session=")
    ]
    assert "Secure" not in dict(response.getheaders())["Set-Cookie"]  # ODR_INSECURE_LOCAL
    return session


def request(port: int, method: str, path: str, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def lodge(port: int, token: str) -> dict:
    """A dispute lodged through the API of the server on `port`."""
    status, body = request(
        port,
        "POST",
        "/api/v1/disputes",
        json.dumps(lodging_body()),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 201, body[:300]
    return json.loads(body)


def test_the_production_shape_serves_pages_and_lodgings_with_a_worker_beside_it(shape, mailbox):
    serve.set_up(shape)
    engine = sa.create_engine(shape["ODR_DATABASE_URL"])
    with engine.connect() as connection:
        users = connection.exec_driver_sql("SELECT count(*) FROM users").scalar()
    assert users > 0  # the demo data
    serve.prepare_database(shape)  # a second start loads nothing again
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == users
    engine.dispose()

    consumer = "consumer@demo.odr"
    token = flask_json(shape, "odr", "token", "create", "--email", consumer, "--json")["token"]

    port = int(shape["ODR_PORT"])
    gunicorn = serve.start_gunicorn(shape)
    worker = None
    try:
        serve.wait_until_serving(shape, gunicorn)
        worker = serve.start_worker(shape)
        dispute = lodge(port, token)
        cookie = log_in(port, consumer, DEMO_PASSWORD)
        status, page = request(
            port, "GET", f"/disputes/{dispute['id']}", headers={"Cookie": cookie}
        )
        assert status == 200 and dispute["reference"].encode() in page

        def receipts() -> list:
            return [m for m in mailbox.to(consumer) if dispute["reference"] in m["Subject"]]

        deadline = time.monotonic() + 30
        while not receipts() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receipts(), [m["Subject"] for m in mailbox.to(consumer)]
    finally:
        serve.stop(worker)
        serve.stop(gunicorn)
    assert gunicorn.returncode == 0
