"""Rate limits (Flask-Limiter): sign-up, password reset, re-sent links, lodging and adding staff,
each per IP address and per account. Memory storage in the embedded default; Redis via
`ODR_RATELIMIT_URL` when several processes serve the app. Log-in has a throttle of its own that
counts wrong passwords rather than requests (`odr.accounts.throttle`), in the same storage."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

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
