"""The attack suite: each test attacks the app over HTTP, served by a real server in a child
process on a local port, with mail going to the in-process SMTP server.

The test process opens the same SQLite file to seed users and read what the attack left behind;
the server's own memory and logs are its child process's, so they can be measured and read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from flask import Flask

from odr.config import PROJECT_ROOT
from odr.extensions import db
from tests.conftest import _TMP, Mailbox, build_app, database_url, free_port, wipe

SECRET_KEY = "attack-suite-" + os.urandom(16).hex()


@dataclass
class Server:
    """A served app: its address, its process, its log, and an app object on the same database."""

    app: Flask
    url: str
    process: subprocess.Popen
    log: Path
    config: dict = field(default_factory=dict)

    def rss_mb(self) -> float:
        """The serving process's resident memory now, in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024

    def peak_mb(self) -> float:
        """The most resident memory the serving process has had, in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def visitor(self) -> Visitor:
        return Visitor(self.url)


def start_server(mailbox: Mailbox, name: str, env: dict | None = None, **config) -> Server:
    """Migrate a fresh SQLite file, then serve it from a child process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    storage = tempfile.mkdtemp(prefix="storage-", dir=_TMP)
    settings = {
        "SECRET_KEY": SECRET_KEY,
        "BASE_URL": url,
        "STORAGE_DIR": storage,
        **config,
    }
    app = build_app("sqlite", mailbox, name=name, **settings)
    served = {
        "SQLALCHEMY_DATABASE_URI": database_url("sqlite", name),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": mailbox.port,
        "QUEUE_IMMEDIATE": True,
        "ARGON2_CHEAP": True,
        "RATELIMIT_ENABLED": False,
        **settings,
    }
    served = {name: value for name, value in served.items() if value is not None}
    log = _TMP / f"{name}.log"
    child_env = {
        **os.environ,
        "ODR_SERVE_CONFIG": json.dumps(served),
        "PYTHONPATH": str(PROJECT_ROOT),
        **(env or {}),
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.security.serve", str(port)],
            cwd=PROJECT_ROOT,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=sink,
        )
    ready = process.stdout.readline().strip()
    if ready != b"ready":
        process.kill()
        raise RuntimeError(f"the server did not start:\n{log.read_text()}")
    return Server(app, url, process, log, served)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
    with server.app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, mailbox: Mailbox) -> Iterator[Server]:
    """One served app per test module; tables are emptied after each test."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    served = start_server(mailbox, f"security-{module}.db")
    yield served
    stop_server(served)


@pytest.fixture(autouse=True)
def _empty_server_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        wipe(request.getfixturevalue("server").app)


@pytest.fixture
def start(mailbox: Mailbox) -> Iterator[Callable[..., Server]]:
    """Start a server of the test's own (a setting of its own); stopped after the test."""
    started: list[Server] = []

    def start(name: str, env: dict | None = None, **config) -> Server:
        started.append(start_server(mailbox, name, env, **config))
        return started[-1]

    yield start
    for served in started:
        stop_server(served)


class Visitor:
    """An HTTP client with its own cookies that carries the CSRF token of the pages it reads.

    Redirects are not followed: attacks look at `Location` themselves.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.csrf: str | None = None

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        response = self.http.get(self.url + path, timeout=60, **kwargs)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:
        if self.csrf is None:
            self.get("/login")
        kwargs.setdefault("allow_redirects", False)
        data = {"csrf_token": self.csrf, **(data or {})}
        return self.http.post(self.url + path, data=data, timeout=60, **kwargs)

    def api(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.http.request(
            method, self.url + path, headers=headers, timeout=60, allow_redirects=False, **kwargs
        )

    def login(self, email: str, password: str) -> requests.Response:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        self.get("/disputes")  # a log-in starts a new session, with a new CSRF token
        return response


def signup_form(email: str, password: str, **fields: str) -> dict[str, str]:
    """What the sign-up form sends; `fields` change any of it (`role="merchant"`)."""
    return {
        "role": "consumer",
        "name": "Lin Wei",
        "email": email,
        "country": "CN",
        "language": "en",
        "timezone": "UTC",
        "password": password,
        "terms": "yes",
        **fields,
    }
