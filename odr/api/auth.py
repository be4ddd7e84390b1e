"""Bearer tokens for the API, and the scope each request needs.

`partner` opens the referral endpoints; elsewhere a GET needs `read` and a POST `write`. Who the
caller is, and what their role may do on a dispute, is still the policy's to decide: a scope only
narrows what a token can do for its account.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, g, request, url_for
from flask_babel import gettext as _

from odr.accounts.models import ApiToken
from odr.accounts.tokens import token_in_use
from odr.api.problems import problem
from odr.limits import get_remote_address

NO_SCOPE = frozenset({"api.me"})  # any live token may ask who it is


def scope_needed() -> str | None:
    """The scope the current request needs, or None."""
    if request.endpoint in NO_SCOPE:
        return None
    if request.path.startswith("/api/v1/referrals"):
        return "partner"
    return "read" if request.method in ("GET", "HEAD") else "write"


def unconfirmed_problem() -> Response:
    """The answer to an account whose e-mail address is not confirmed yet, and how to confirm."""
    return problem(
        403,
        _("Confirm your e-mail address first."),
        _(
            "Follow the link we sent to your address, or log in and ask for a new one "
            "(POST %(path)s).",
            path=url_for("accounts.resend_verification"),
        ),
    )


def bearer_token() -> ApiToken | None:
    """The live token the request bears, or None; looked up once a request (the rate limiter's
    key and the authentication both ask)."""
    if "bearer_token" not in g:
        scheme, _sep, plain = request.headers.get("Authorization", "").partition(" ")
        g.bearer_token = token_in_use(plain.strip()) if scheme.lower() == "bearer" else None
    return g.bearer_token


def token_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if token is None:
            return problem(
                401,
                _("Authentication required."),
                _("Send a valid API token as 'Authorization: Bearer <token>'."),
            )
        if not token.user.email_verified:
            return unconfirmed_problem()
        scope = scope_needed()
        if scope is not None and scope not in token.scopes:
            answer = problem(
                403,
                _("This token lacks the scope this request needs."),
                _(
                    "The request needs the scope '%(scope)s'; this token has: %(scopes)s. "
                    "Make a token with that scope on your account page.",
                    scope=scope,
                    scopes=", ".join(token.scopes),
                ),
                scope=scope,
            )
            answer.headers["WWW-Authenticate"] = (
                f'Bearer realm="odr", error="insufficient_scope", scope="{scope}"'
            )
            return answer
        g.api_user = token.user
        g.api_token = token
        return view(*args, **kwargs)

    return wrapper


def api_caller() -> str:
    """The rate-limit key of an API call: the token's account, else the address."""
    token = bearer_token()
    return f"user:{token.user_id}" if token else "ip:" + get_remote_address()
