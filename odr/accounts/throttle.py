"""Log-in throttling that slows password guessing without letting anyone lock the owner out.

Wrong passwords are counted per account (its e-mail address, hashed) and per client address.
Once a count passes its free allowance, each further attempt waits twice as long as the one
before (1 s, 2 s, 4 s, ... up to `LOGIN_MAX_DELAY`); counts are forgotten a day after they began.

A browser that has logged in to an account before carries a device cookie (OWASP's device-cookie
scheme, https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies):
signed with the secret key, it names the account and a nonce of its own. Such a browser is judged
by its own failures only, so nobody else's guessing ever delays the owner there, and guessing from
it delays that browser alone.

The counters live in the rate limiter's storage (`RATELIMIT_STORAGE_URI`): memory when one process
serves, Redis when several do, so that they all count together. Keys hold hashes, never addresses.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits.storage import Storage, storage_from_string
from werkzeug.wrappers import Response

DEVICE_COOKIE = "odr_device"
DEVICE_COOKIE_DAYS = 365
DEVICES_PER_BROWSER = 5  # accounts one browser's cookie remembers (a shared family computer)
MEMORY_SECONDS = 24 * 3600  # how long failures are remembered; the owner is warned once in it
_LONGEST_EXPONENT = 30  # 2**30 s is far beyond any sane LOGIN_MAX_DELAY


def _hashed(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def _storage() -> Storage:
    storage = current_app.extensions.get("odr.login_throttle")
    if storage is None:
        storage = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        current_app.extensions["odr.login_throttle"] = storage
    return storage


def _cookies() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="odr.device-cookie")


def _devices(cookie: str | None) -> list[list[str]]:
    """The [account, nonce] pairs of a genuine, unexpired device cookie; [] otherwise."""
    if not cookie:
        return []
    try:
        devices = _cookies().loads(cookie, max_age=DEVICE_COOKIE_DAYS * 86400)
    except (BadSignature, ValueError):
        return []
    if not isinstance(devices, list):
        return []
    return [d for d in devices if isinstance(d, list) and len(d) == 2]


@dataclass(frozen=True)
class _Counter:
    kind: str  # "account", "address" or "device"
    key: str

    @property
    def failures(self) -> str:
        return f"login:{self.kind}:{self.key}:failures"

    @property
    def delay(self) -> str:
        return f"login:{self.kind}:{self.key}:delay"

    @property
    def allowance(self) -> int:
        return int(current_app.config[f"LOGIN_FREE_FAILURES_{self.kind.upper()}"])


class LoginGate:
    """The counters that judge one log-in attempt: the browser's own when it carries a device
    cookie for this account, otherwise the account's and the client address's."""

    def __init__(self, email: str, address: str, cookie: str | None) -> None:
        self.account = _hashed(email)
        self.cookie = cookie
        nonce = next((n for account, n in _devices(cookie) if account == self.account), None)
        if nonce:
            self.counters = [_Counter("device", nonce)]
        else:
            self.counters = [
                _Counter("account", self.account),
                _Counter("address", _hashed(address)),
            ]
        self.enabled = bool(current_app.config.get("RATELIMIT_ENABLED", True))

    @property
    def trusted(self) -> bool:
        return self.counters[0].kind == "device"

    def wait(self) -> int:
        """Whole seconds before this attempt may be judged; 0 when it may be now."""
        if not self.enabled:
            return 0
        storage = _storage()
        waits = [0.0]
        for counter in self.counters:
            if storage.get(counter.delay):
                waits.append(max(storage.get_expiry(counter.delay) - time.time(), 1))
        return math.ceil(max(waits))

    def failed(self) -> bool:
        """Count a wrong password. True the first time in a day that the account's count reaches
        its allowance: the moment to tell the owner someone is guessing."""
        if not self.enabled:
            return False
        storage, warn = _storage(), False
        for counter in self.counters:
            count = storage.incr(counter.failures, MEMORY_SECONDS)
            beyond = count - counter.allowance
            if beyond < 0:
                continue
            delay = min(2 ** min(beyond, _LONGEST_EXPONENT), current_app.config["LOGIN_MAX_DELAY"])
            storage.incr(counter.delay, int(delay))
            if counter.kind == "account":
                warn = storage.incr(f"login:account:{self.account}:warned", MEMORY_SECONDS) == 1
        return warn

    def succeeded(self, response: Response) -> None:
        """The right password: this browser's own failures are forgiven, and it gets a new device
        cookie naming this account (beside the few others it already named)."""
        if self.enabled and self.trusted:
            _storage().clear(self.counters[0].failures)
        others = [d for d in _devices(self.cookie) if d[0] != self.account]
        devices = [[self.account, secrets.token_urlsafe(16)], *others][:DEVICES_PER_BROWSER]
        response.set_cookie(
            DEVICE_COOKIE,
            _cookies().dumps(devices),
            max_age=DEVICE_COOKIE_DAYS * 86400,
            path=url_for("accounts.login"),
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
