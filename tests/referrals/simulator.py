"""A partner agency's webhook endpoint, on a real local port, for the tests.

It verifies every request with the `standardwebhooks` package against the secrets it was told,
answers as it is told (`ok`, `error`, `hang`, `gone`, `redirect`) and records what it received.
An unverified request is answered 401, as a real receiver would.

The package checks a signature's timestamp against its own `datetime.now` (5 minutes' tolerance);
the tests move time with `odr.clock.travel_to`, so while the simulator runs, the package reads the
same clock as the app: a partner whose clock agrees with ours. A stale timestamp still fails.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import standardwebhooks.webhooks as package
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from odr import clock

ANSWERS = ("ok", "error", "hang", "gone", "redirect")
HANG_SECONDS = 11.0


class _OurClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return clock.now() if tz is None else clock.now().astimezone(tz)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: datetime  # by the app's clock
    answered: int | None = None


@dataclass
class PartnerSimulator:
    secrets: list[str] = field(default_factory=list)
    answer: str = "ok"
    received: list[Received] = field(default_factory=list)
    followed: list[Received] = field(default_factory=list)  # requests to the redirect's target

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._package_datetime = package.datetime

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks"

    def start(self) -> None:
        package.datetime = _OurClock
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # a hanging answer ends now
        self._server.shutdown()
        self._server.server_close()
        package.datetime = self._package_datetime

    def verifies(self, request: Received, secrets: list[str]) -> bool:
        """Whether one of these secrets verifies the request, by the package."""
        for secret in secrets:
            try:
                Webhook(secret).verify(request.body, request.headers)
                return True
            except WebhookVerificationError:
                continue
        return False

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received = Received(
            path=request.path,
            headers={key.lower(): value for key, value in request.headers.items()},
            body=request.get_data(),
            verified=False,
            at=clock.now(),
        )
        if request.path == "/moved":
            with self._lock:
                self.followed.append(received)
            return Response("moved here", 200)(environ, start_response)
        received.verified = self.verifies(received, list(self.secrets))
        with self._lock:
            self.received.append(received)
        response = self._answer(received)
        received.answered = response.status_code
        return response(environ, start_response)

    def _answer(self, received: Received) -> Response:
        if not received.verified:
            return Response("bad signature", 401)
        if self.answer == "error":
            return Response("try later", 500)
        if self.answer == "gone":
            return Response("no such endpoint", 410)
        if self.answer == "redirect":
            return Response("", 302, headers={"Location": self.url.replace("/hooks", "/moved")})
        if self.answer == "hang":
            self._stopping.wait(HANG_SECONDS)
        return Response("", 204)
