"""Rate limits: sign-up, password reset, re-sent links, lodging, adding staff and checking files,
each per IP address and per account where there is one, POSTs only, in fixed windows. Counted in
`RATELIMIT_STORAGE_URI` through `limits`: memory in the embedded default, Redis via
`ODR_RATELIMIT_URL` when several processes serve the app. Log-in has a throttle of its own that
counts wrong passwords rather than requests (`odr.accounts.throttle`), in the same storage."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache, wraps
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

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


def get_remote_address() -> str:
    return request.remote_addr or "127.0.0.1"


class RateLimits:
    """The limits the views ask for (`limit`, `limit_each`); the counters a request hits are
    counted in one call to the storage.

    Flask-Limiter did this before, at about 1 ms of Python a limit on every limited request (its
    limit managers, key and header machinery), twice a lodging: here a limit is parsed once, and a
    request that stays within it costs one increment. A refusal is a 429 with `Retry-After`.
    """

    def __init__(self) -> None:
        self.enabled = True

    def init_app(self, app: Flask) -> None:
        # One switch a process, as Flask-Limiter had: the last app made sets it (tests restore it).
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        app.extensions["odr.limits"] = FixedWindowRateLimiter(storage)
        app.extensions["odr.limits.together"] = (
            storage.get_connection().register_script(INCREMENT_ALL)
            if type(storage) is RedisStorage
            else None
        )

    def limit(
        self,
        rate: Callable[[], str],
        *,
        scope: str,
        key_func: Callable[[], str] = get_remote_address,
        methods: Iterable[str] = ("POST",),
        exempt_when: Callable[[], bool] | None = None,
    ) -> Callable[[Callable], Callable]:
        """Count `methods` requests per `key_func()` in `scope`, refusing those past `rate()`."""
        return self.limit_each(rate, {scope: key_func}, methods=methods, exempt_when=exempt_when)

    def limit_each(
        self,
        rate: Callable[[], str],
        keys: dict[str, Callable[[], str]],
        *,
        methods: Iterable[str] = ("POST",),
        exempt_when: Callable[[], bool] | None = None,
    ) -> Callable[[Callable], Callable]:
        """Count `methods` requests once in each scope of `keys`, per the key its function gives,
        refusing those past `rate()` in any of them. Every counter counts the request, even when
        another one refuses it."""
        counted = frozenset(method.upper() for method in methods)

        def decorate(view: Callable) -> Callable:
            @wraps(view)
            def limited_view(*args: Any, **kwargs: Any) -> Any:
                if (
                    self.enabled
                    and request.method in counted
                    and not (exempt_when is not None and exempt_when())
                ):
                    self.hit(rate(), [(scope, key()) for scope, key in keys.items()])
                return view(*args, **kwargs)

            return limited_view

        return decorate

    def hit(self, rate: str, counted: list[tuple[str, str]]) -> None:
        """Count one request of each (scope, key); a 429 once `rate` is used up in any."""
        item = _parsed(rate)
        counter: FixedWindowRateLimiter = current_app.extensions["odr.limits"]
        together = current_app.extensions["odr.limits.together"]
        if together is not None and len(counted) > 1:
            # Redis: one round trip for all (a lodging counts per address and per account).
            storage = counter.storage
            keys = [storage.prefixed_key(item.key_for(scope, key)) for scope, key in counted]
            results = [int(n) <= item.amount for n in together(keys, [item.get_expiry()])]
        else:
            results = [counter.hit(item, scope, key) for scope, key in counted]
        for (scope, key), within in zip(counted, results, strict=True):
            if not within:
                reset_at = counter.get_window_stats(item, scope, key).reset_time
                raise TooManyRequests(retry_after=max(1, math.ceil(reset_at - time.time())))


# limits' own increment (`incr_expire.lua`) for several counters in one round trip: each counter
# starts its window's expiry at its first hit, as there.
INCREMENT_ALL = """
local counts = {}
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if current == 1 then
        redis.call("expire", key, ARGV[1])
    end
    counts[i] = current
end
return counts
"""


@cache
def _parsed(rate: str) -> RateLimitItem:
    return parse(rate)


limiter = RateLimits()


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

    return limiter.limit_each(
        _setting(setting), {f"{setting}:ip": get_remote_address, f"{setting}:account": account}
    )
