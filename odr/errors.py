"""Domain errors raised by services and turned into pages or problem documents by the views."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400

    def __init__(self, detail: Any = "", **extra: Any) -> None:
        super().__init__(str(detail))
        self.detail = detail
        self.extra = extra


class ValidationError(DomainError):
    """One or more fields are invalid; `errors` maps a field path to a message."""

    status = 422

    def __init__(self, errors: dict[str, Any], detail: Any = "") -> None:
        super().__init__(detail)
        self.errors = errors


class NotFound(DomainError):
    """Unknown, or not visible to the caller: the answer never hints at which."""

    status = 404


class Forbidden(DomainError):
    """The caller's role may never do this on this case."""

    status = 403


class EmailNotConfirmed(Forbidden):
    """The account's e-mail address is not confirmed yet, so it may not act: the answer says how
    to confirm it (and to ask for the link again)."""


class Conflict(DomainError):
    """Not allowed in the current state, a guard fails, or a concurrent change won."""

    status = 409


class StaleVersion(DomainError):
    """An `If-Match` version that is no longer current."""

    status = 412
