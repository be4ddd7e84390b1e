"""Bearer tokens for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_babel import gettext as _

from odr.accounts.services import user_for_token
from odr.api.problems import problem


def token_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return problem(
                401,
                _("Authentication required."),
                _("Send a valid API token as 'Authorization: Bearer <token>'."),
            )
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper
