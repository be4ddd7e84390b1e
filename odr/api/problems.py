"""`application/problem+json` answers (RFC 9457)."""

from __future__ import annotations

from typing import Any

from flask import Response, json
from flask_babel import gettext as _

from odr.errors import Conflict, DomainError, ValidationError

PROBLEM_TYPES = {
    400: "malformed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    429: "too-many-requests",
    500: "server-error",
}


def _default_detail(status: int) -> str:
    """What a problem without a detail of its own says, so that `detail` is never empty."""
    if status == 404:
        return _("There is nothing here, or nothing you may see.")
    if status == 422:
        return _("Each entry of `errors` names a field and says what it needs.")
    return ""


def problem(
    status: int, title: Any, detail: Any = "", errors: dict[str, Any] | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://odr.example/problems/{PROBLEM_TYPES.get(status, 'error')}",
        "title": str(title),
        "status": status,
        "detail": str(detail) or _default_detail(status),
    }
    if errors:
        body["errors"] = {field: str(message) for field, message in errors.items()}
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="odr"'
    return response


def problem_for(error: DomainError) -> Response:
    if isinstance(error, ValidationError):
        return problem(422, _("Some fields are invalid."), error.detail or "", error.errors)
    if isinstance(error, Conflict):
        reasons = {
            "state": _("This action is not allowed in the dispute's current state."),
            "guard": _("The conditions for this action are not met."),
            "concurrent": _("Another change won; read the dispute again."),
        }
        detail = reasons.get(str(error.detail), str(error.detail))
        return problem(409, _("Conflict"), detail, **error.extra)
    titles = {
        403: _("Your role may not do this on this dispute."),
        404: _("Not found."),
        412: _("The dispute has changed since you read it."),
    }
    return problem(error.status, titles.get(error.status, _("Bad request.")), error.detail or "")
