"""`Idempotency-Key` on every POST: the same key and body give the same answer.

The key is claimed in its own committed transaction before the work starts, so a second request
with the same key sees it: a different body is 422, a request still running is 409, and a finished
one is answered from the stored response. A failed request (5xx) frees its key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Response, g, make_response, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from odr.api.models import IdempotencyRecord
from odr.api.problems import problem, problem_for
from odr.db import write_transaction
from odr.errors import DomainError
from odr.extensions import db

MAX_KEY_LENGTH = 200


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def idempotent(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            return problem(
                400,
                _("Invalid Idempotency-Key."),
                _("Send a key of 1 to %(count)d characters.", count=MAX_KEY_LENGTH),
                errors={"Idempotency-Key": _("Invalid Idempotency-Key.")},
            )
        fingerprint = _fingerprint()
        user_id = g.api_user.id
        try:
            with write_transaction(db.session):
                db.session.add(
                    IdempotencyRecord(user_id=user_id, key=key, request_hash=fingerprint)
                )
        except IntegrityError:
            return _replay(user_id, key, fingerprint)
        response = None
        try:
            response = make_response(view(*args, **kwargs))
        except DomainError as error:
            response = problem_for(error)
        finally:
            _store(user_id, key, response)
        return response

    wrapper.honours_idempotency_key = True  # kept by the decorators above (`wraps`); see openapi
    return wrapper


def _replay(user_id: int, key: str, fingerprint: str) -> Response:
    record = db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if record is None:  # freed by a failure between our insert and this read
        return problem(409, _("Conflict"), _("Retry the request."))
    if record.request_hash != fingerprint:
        return problem(
            422,
            _("This Idempotency-Key was used with another request."),
            errors={"Idempotency-Key": _("This Idempotency-Key was used with another request.")},
        )
    if record.response_status is None:
        return problem(409, _("Conflict"), _("A request with this Idempotency-Key is running."))
    response = Response(record.response_body, status=record.response_status)
    response.headers["Content-Type"] = (
        "application/problem+json" if record.response_status >= 400 else "application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _store(user_id: int, key: str, response: Any) -> None:
    db.session.rollback()
    with write_transaction(db.session):
        record = db.session.scalar(
            sa.select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
            )
        )
        if response is None or not isinstance(response, Response) or response.status_code >= 500:
            db.session.delete(record)
            return
        record.response_status = response.status_code
        record.response_body = response.get_data(as_text=True)
