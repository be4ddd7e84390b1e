"""`/livez` and `/readyz` (issue 16): alive without touching anything; ready only when the
database, Redis, the storage, the queue and the schema are, naming what is not."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from flask_migrate import upgrade

from odr import create_app
from odr.extensions import db
from tests.conftest import _TMP, build_app, free_port, redis_url


def broken_app(**config):
    """An app whose database (PostgreSQL, with a password in its address) listens nowhere."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": (
                f"postgresql+psycopg://odr:db-password-7@127.0.0.1:{free_port()}/odr"
            ),
            "STORAGE_DIR": str(_TMP / "storage-broken"),
            "QUEUE_IMMEDIATE": True,  # the queue is one per process: keep it as the tests have it
            **config,
        }
    )


def test_alive_and_ready_when_everything_answers(app):
    client = app.test_client()
    assert client.get("/livez").get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    body = ready.get_json()
    assert body["status"] == "ready" and "failed" not in body
    assert set(body["checks"]) == {"database", "storage", "queue", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())
    with app.app_context():
        head = db.session.execute(db.text("SELECT version_num FROM alembic_version")).scalar()
    assert body["checks"]["migrations"]["revision"] == head


def test_redis_is_checked_when_the_rate_limits_live_there(mailbox):
    app = build_app("sqlite", mailbox, "health-redis.db", RATELIMIT_STORAGE_URI=redis_url(14))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"]["redis"] == {"ok": True, "url": redis_url(14)}


def test_not_ready_names_the_database_and_redis_that_do_not_answer_without_passwords():
    redis_port = free_port()
    app = broken_app(RATELIMIT_STORAGE_URI=f"redis://:redis-password-9@127.0.0.1:{redis_port}/0")
    client = app.test_client()
    assert client.get("/livez").status_code == 200  # alive all the same: nothing is touched

    started = time.monotonic()
    ready = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "not ready"
    assert set(body["failed"]) == {"database", "redis", "migrations"}
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["storage"]["ok"] and body["checks"]["queue"]["ok"]
    text = ready.get_data(as_text=True)
    assert "db-password-7" not in text and "redis-password-9" not in text


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_check_that_hangs_fails_within_the_timeout(app, silent_server):
    hanging = broken_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{silent_server}/0",
        READY_TIMEOUT=0.5,
    )
    started = time.monotonic()
    ready = hanging.test_client().get("/readyz")
    assert time.monotonic() - started < 2
    assert ready.status_code == 503
    assert ready.get_json()["failed"] == ["redis"]


def test_a_schema_behind_the_code_is_not_ready(mailbox):
    app = build_app("sqlite", mailbox, "health-behind.db")
    with app.app_context():
        from flask_migrate import downgrade

        downgrade(revision="-1")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["failed"] == ["migrations"]
    assert "the code's head is" in body["checks"]["migrations"]["error"]
    with app.app_context():
        upgrade()
    assert app.test_client().get("/readyz").status_code == 200


def test_health_pages_need_no_log_in_nor_csrf_and_set_no_cookie(app):
    client = app.test_client()
    for path in ("/livez", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_when_the_bucket_is_missing_and_ready_once_it_is_made(mailbox):
    from odr.storage.s3 import s3_client
    from tests.storage_helpers import s3_endpoint

    bucket = f"odr-missing-{free_port()}"
    app = build_app(
        "sqlite",
        mailbox,
        "health-bucket.db",
        STORAGE_URL=f"s3://{bucket}/files",
        S3_ENDPOINT_URL=s3_endpoint(),
    )
    client = app.test_client()
    missing = client.get("/readyz")
    assert missing.status_code == 503
    assert missing.get_json()["failed"] == ["storage"]
    s3_client(s3_endpoint()).create_bucket(Bucket=bucket)
    assert client.get("/readyz").status_code == 200


def test_not_ready_when_the_storage_folder_cannot_be_written(mailbox, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    app = build_app("sqlite", mailbox, "health-folder.db", STORAGE_DIR=str(folder))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root writes anywhere: make the folder a file instead
            folder.chmod(0o700)
            folder.rmdir()
            folder.write_text("not a folder")
        unready = client.get("/readyz")
    finally:
        if folder.is_dir():
            folder.chmod(0o700)
    assert unready.status_code == 503
    assert unready.get_json()["failed"] == ["storage"]
