"""`/livez` and `/readyz` (issue 16): alive without touching anything; ready only when the
database, Redis, the storage, the queue and the schema are, naming what is not."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from flask_migrate import upgrade

from odr import create_app
from odr.extensions import db
from tests.conftest import _TMP, _reset_postgres, build_app, free_port, redis_url


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


class Proxy:
    """A TCP relay to PostgreSQL that can be stopped and started again on the same port, as the
    database going away and coming back looks to the app."""

    def __init__(self, target_port: int = 5432) -> None:
        self.port, self.target_port = free_port(), target_port
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def test_not_ready_while_postgresql_is_away_and_ready_when_it_returns(mailbox):
    from tests.test_serve import POSTGRES

    proxy = Proxy(port_of(POSTGRES))
    proxy.start()
    url = POSTGRES.replace(f":{port_of(POSTGRES)}/", f":{proxy.port}/")
    _reset_postgres(POSTGRES, "health_return")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"{url}?options=-csearch_path%3Dhealth_return",
            "STORAGE_DIR": str(_TMP / "storage-return"),
            "QUEUE_IMMEDIATE": True,
            "READY_TIMEOUT": 2,
        }
    )
    with app.app_context():
        upgrade()
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        proxy.stop()
        away = client.get("/readyz")
        assert away.status_code == 503
        assert "database" in away.get_json()["failed"]
        proxy.start()
        assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()
        with app.app_context():
            db.engine.dispose()


def test_not_ready_while_redis_is_away_and_ready_when_it_returns(mailbox, tmp_path):
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp_path)]

    def start_redis() -> subprocess.Popen:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while (
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout
            != b"PONG\n"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return server

    server = start_redis()
    app = build_app(
        "sqlite",
        mailbox,
        "health-redis-return.db",
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
    )
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        server.terminate()
        server.wait(10)
        away = client.get("/readyz")
        assert away.status_code == 503 and away.get_json()["failed"] == ["redis"]
        server = start_redis()
        assert client.get("/readyz").status_code == 200
    finally:
        server.terminate()
        server.wait(10)


def port_of(url: str) -> int:
    return int(url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
