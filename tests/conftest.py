"""Fixtures: the app on SQLite with files in a local folder (and on PostgreSQL with files in S3,
the production shape, when ODR_TEST_DATABASE_URL is set), a real SMTP server, a test client with
CSRF, and factories for users and disputes."""

from __future__ import annotations

import os
import re
import socket
import tempfile
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="odr-tests-"))
os.environ["ODR_INSTANCE_DIR"] = str(_TMP)
os.environ.pop("ODR_QUEUE_URL", None)

import sqlalchemy as sa  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from odr import create_app  # noqa: E402
from odr.config import instance_secret  # noqa: E402
from odr.extensions import db  # noqa: E402
from tests.storage_helpers import s3_settings, stop_s3_server  # noqa: E402

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("ODR_TEST_DATABASE_URL") else [])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Collects what the in-process SMTP server receives; can be told to refuse."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.refuse:
            return "451 try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
        self.refuse = False


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="session", autouse=True)
def _s3_server() -> Iterator[None]:
    """moto's S3 server, once started by an app that keeps its files in S3, stops at the end."""
    yield
    stop_s3_server()


# pytest-xdist runs the suite in several processes: each has its own schemas on PostgreSQL.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def redis_url(first: int) -> str:
    """A Redis database of this test process's own: number `first` for the first (or only)
    process, one less for each worker after it, so that workers never flush each other's."""
    return f"redis://127.0.0.1:6379/{first - int(WORKER.removeprefix('gw') or 0)}"


def _schema(name: str) -> str:
    if name == "odr.db" and not WORKER:
        return "public"
    base = re.sub(r"\W", "_", name.removesuffix(".db"))
    return f"{WORKER}_{base}" if WORKER else base


def _reset_postgres(url: str, schema: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()


def database_url(backend: str, name: str) -> str:
    """SQLite: a file per name. PostgreSQL: the test database, a schema per name."""
    if backend == "postgresql":
        url = os.environ["ODR_TEST_DATABASE_URL"]
        schema = _schema(name)
        if schema == "public":
            return url
        return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    return f"sqlite:///{_TMP / name}"


def build_app(backend: str, mailbox: Mailbox, name: str = "odr.db", **extra):
    url = database_url(backend, name)
    if backend == "postgresql":
        _reset_postgres(os.environ["ODR_TEST_DATABASE_URL"], _schema(name))
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": mailbox.port,
        "QUEUE_IMMEDIATE": True,
        "ARGON2_CHEAP": True,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "https://odr.test",
        "STORAGE_DIR": tempfile.mkdtemp(prefix="storage-", dir=_TMP),  # each app its own files
        # The key a served app (tests/security) makes in the same instance folder, given here
        # too so that an app built as production has one.
        "AUDIT_KEY": instance_secret(_TMP, "audit.key"),
        # PostgreSQL goes with S3 (the production shape), SQLite with the folder above.
        **(s3_settings() if backend == "postgresql" else {}),
        **extra,
    }
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, mailbox):
    app = build_app(request.param, mailbox)
    app.backend = request.param
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request, mailbox):
    """Each test starts with empty tables and an empty mailbox."""
    yield
    mailbox.clear()
    if "app" not in request.fixturenames:
        return
    wipe(request.getfixturevalue("app"))


def wipe(app) -> None:
    """Empty every table of the app's database, numbering from 1 again.

    DELETE, not TRUNCATE: the tables of a test hold a few rows, and on PostgreSQL a TRUNCATE of
    every table (new files for each table and index) cost 149 ms a test against 23 ms for
    DELETE and restarting the sequences, measured here.
    """
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            for table in tables:
                connection.exec_driver_sql(f"DELETE FROM {table}")
            if connection.dialect.name == "postgresql":
                sequences = connection.exec_driver_sql(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
                ).scalars()
                for sequence in sequences.all():
                    connection.exec_driver_sql(f"ALTER SEQUENCE {sequence} RESTART")


@pytest.fixture
def ctx(app):
    with app.app_context(), app.test_request_context():
        yield


class WebClient:
    """A test client that carries the CSRF token of the pages it reads."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.csrf = None

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        found = re.search(rb'name="csrf_token" value="([^"]+)"', response.data)
        if found:
            self.csrf = found.group(1).decode()
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):
        if csrf and self.csrf is None:
            self.get("/login")
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, **kwargs)

    def login(self, email: str, password: str = "correct horse battery"):
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.data[:300]
        self.get("/disputes")  # log-in starts a new session, with a new CSRF token
        return response


@pytest.fixture
def web(app):
    return WebClient(app)


@pytest.fixture
def make_web(app):
    return lambda: WebClient(app)


@pytest.fixture
def api(app):
    from tests.factories import ApiClient

    return ApiClient(app)
