"""Rate limits (Flask-Limiter): sign-up, password reset, re-sent links, lodging and adding staff,
each per IP address and per account. Memory storage in the embedded default; Redis via
`ODR_RATELIMIT_URL` when several processes serve the app. Log-in has a throttle of its own that
counts wrong passwords rather than requests (`odr.accounts.throttle`), in the same storage."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits.storage import MemoryStorage

EXPIRE_EVERY = 1.0  # seconds between two clean-ups of expired counters in memory


class MemoryCounters(MemoryStorage):
    """`memory://` without a thread a request.

    limits' memory storage cleans expired counters in a timer thread of 10 ms, started again by
    every hit that finds it finished: under steady traffic a new thread for nearly every request
    (about 2 ms each under gunicorn here). A counter read after its expiry is already treated as
    gone (`get`), so the clean-up only gives memory back: done here on a hit, at most once a
    second. Registered for the `memory` scheme, so `ODR_RATELIMIT_URL=memory://` uses it.
    """

    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self._expired_at = time.monotonic()
        self._expiring = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the name limits calls)
        now = time.monotonic()
        if now - self._expired_at < EXPIRE_EVERY or not self._expiring.acquire(blocking=False):
            return
        try:
            self._expired_at = now
            self._MemoryStorage__expire_events()
        finally:
            self._expiring.release()


limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _hashed(value: str) -> str:
    # Keys name accounts without putting e-mail addresses into the limiter's storage.
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def submitted_email() -> str:
    return "email:" + _hashed(request.form.get("email", ""))


def logged_in_user() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "ip:" + get_remote_address()


def limited(setting: str, account: Callable[[], str]) -> Callable:
    """Apply the configured limit to POSTs, once per IP address and once per account."""

    def decorate(view: Callable) -> Callable:
        per_account = limiter.limit(
            _setting(setting), key_func=account, methods=["POST"], scope=f"{setting}:account"
        )
        per_ip = limiter.limit(_setting(setting), methods=["POST"], scope=f"{setting}:ip")
        return per_ip(per_account(view))

    return decorate
