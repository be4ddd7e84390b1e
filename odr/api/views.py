"""The JSON API, v1. Thin: parse, call a service, shape the answer."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from odr.api.auth import api_caller, token_required
from odr.api.idempotency import idempotent
from odr.api.openapi import openapi_document
from odr.api.problems import problem
from odr.cases import firing, lodging, reading
from odr.cases.schemas import case_to_api, event_to_api, message_to_api, offer_to_api
from odr.documents import services as documents
from odr.errors import ValidationError
from odr.evidence import checks
from odr.evidence import services as evidence
from odr.limits import limited
from odr.negotiation import services as negotiation
from odr.referrals import services as referrals
from odr.referrals.lifecycle import act_on_referral

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 100


def json_body() -> Any:
    """The request's JSON, or None when it is not JSON (the caller answers 400)."""
    if not request.is_json:
        return None
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the parser allows: malformed, not a crash
        return None


def _malformed() -> Response:
    return problem(
        400,
        _("Malformed request body."),
        _("Send a JSON object with 'Content-Type: application/json'."),
        errors={"body": _("Not a JSON object.")},
    )


def _is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes '³', which `int` refuses (a 500)."""
    return re.fullmatch(r"[0-9]{1,9}", text) is not None


def _page_params() -> tuple[int, int | None] | Response:
    raw_limit = request.args.get("limit", "50")
    if not _is_number(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return problem(
            422,
            _("Some fields are invalid."),
            errors={"limit": _("Must be a whole number from 1 to %(max)d.", max=MAX_LIMIT)},
        )
    cursor = request.args.get("cursor")
    after = None
    if cursor:
        try:
            after = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return problem(
                422, _("Some fields are invalid."), errors={"cursor": _("Unknown cursor.")}
            )
    return int(raw_limit), after


def _cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def _page_response(
    rows: list[Any], limit: int, to_item: Callable[[Any], Any], key: Callable[[Any], int]
) -> Response:
    """A page of a list fetched with one row more than `limit`: the items and the next cursor."""
    next_cursor = _cursor(key(rows[limit - 1])) if len(rows) > limit else None
    return jsonify({"items": [to_item(row) for row in rows[:limit]], "next_cursor": next_cursor})


def _expected_version() -> int | None:
    """The version named by `If-Match`, if any (`"3"`, `W/"3"` or `3`)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not _is_number(value):
        raise ValidationError({"If-Match": _l('Send the dispute\'s version, such as "3".')})
    return int(value)


def _dispute_response(public_id: str, status: int = 200) -> Response:
    return _view_response(reading.view_case(g.api_user, public_id), status)


def _view_response(view: reading.CaseView, status: int = 200) -> Response:
    body = case_to_api(
        view.case,
        offers=view.offers,
        actions=view.actions,
        neutrals=view.users,
        proposal=view.proposal,
        referral=view.referral,
    )
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{view.case.version}"'
    if status == 201:
        response.headers["Location"] = url_for("api.get_dispute", dispute_id=view.case.public_id)
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.get("/me")
@token_required
def me() -> Response:
    user = g.api_user
    return jsonify(
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "roles": [user.role],
            "country": user.country,
            "language": user.language,
            "token": {
                "scopes": g.api_token.scopes,
                "expires_at": g.api_token.expires_at.isoformat(),
            },
        }
    )


@bp.post("/disputes")
@limited("RATELIMIT_LODGE", api_caller)
@token_required
@idempotent
def lodge() -> Response:
    body = json_body()
    if not isinstance(body, dict):
        return _malformed()
    case = lodging.lodge_dispute(filer=g.api_user, body=body)
    return _view_response(reading.view_lodged_case(g.api_user, case), 201)


@bp.get("/disputes")
@token_required
def list_disputes() -> Response:
    page = _page_params()
    if isinstance(page, Response):
        return page
    limit, after = page
    rows = reading.list_cases(g.api_user, limit=limit + 1, after_id=after)
    items = [
        {
            "id": case.public_id,
            "reference": case.reference,
            "state": case.state,
            "version": case.version,
            "deadline_at": case.deadline_at.isoformat() if case.deadline_at else None,
            "respondent": {"name": case.respondent_name, "country": case.respondent_country},
            "created_at": case.created_at.isoformat(),
        }
        for case in rows[:limit]
    ]
    next_cursor = _cursor(rows[limit - 1].id) if len(rows) > limit else None
    return jsonify({"items": items, "next_cursor": next_cursor})


@bp.get("/disputes/<dispute_id>")
@token_required
def get_dispute(dispute_id: str) -> Response:
    return _dispute_response(dispute_id)


@bp.get("/disputes/<dispute_id>/events")
@token_required
def list_events(dispute_id: str) -> Response:
    page = _page_params()
    if isinstance(page, Response):
        return page
    limit, after = page
    events = reading.list_events(g.api_user, dispute_id, limit=limit + 1, after_seq=after or 0)
    return _page_response(events, limit, event_to_api, lambda event: event.seq)


def _action_body(allowed: set[str] | frozenset[str] = frozenset()) -> dict[str, Any] | Response:
    """An optional JSON object of the named fields; anything else is refused."""
    if not request.get_data(cache=True):
        return {}
    body = json_body()
    if not isinstance(body, dict):
        return _malformed()
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationError({field: _l("Unknown field.") for field in unknown})
    return body


@bp.post("/disputes/<dispute_id>/actions/<action>")
@token_required
@idempotent
def fire_action(dispute_id: str, action: str) -> Response:
    case = reading.find_case(g.api_user, dispute_id)
    spec = reading.action_spec(case, action)
    body = _action_body(set(spec.get("params", [])))
    if isinstance(body, Response):
        return body
    firing.fire(case, action, g.api_user, expected_version=_expected_version(), **body)
    if not reading.is_visible(g.api_user, dispute_id):
        return Response(status=204)  # done, and no longer the caller's to see (a recusal)
    return _dispute_response(dispute_id)


@bp.post("/disputes/<dispute_id>/offers")
@token_required
@idempotent
def make_offer(dispute_id: str) -> Response:
    body = json_body()
    if not isinstance(body, dict):
        return _malformed()
    case = reading.find_case(g.api_user, dispute_id)
    offer = negotiation.make_offer(case, g.api_user, body)
    return jsonify(offer_to_api(offer)), 201


@bp.post("/disputes/<dispute_id>/offers/<offer_id>/accept")
@token_required
@idempotent
def accept_offer(dispute_id: str, offer_id: str) -> Response:
    return _answer_offer(dispute_id, offer_id, negotiation.accept_offer)


@bp.post("/disputes/<dispute_id>/offers/<offer_id>/reject")
@token_required
@idempotent
def reject_offer(dispute_id: str, offer_id: str) -> Response:
    return _answer_offer(dispute_id, offer_id, negotiation.reject_offer)


def _answer_offer(dispute_id: str, offer_id: str, answer: Any) -> Response:
    body = _action_body()
    if isinstance(body, Response):
        return body
    version = _expected_version()
    case = reading.find_case(g.api_user, dispute_id)
    answer(case, g.api_user, offer_id, expected_version=version)
    return _dispute_response(dispute_id)


@bp.get("/disputes/<dispute_id>/messages")
@token_required
def list_messages(dispute_id: str) -> Response:
    view = reading.view_case(g.api_user, dispute_id, with_events=True)
    return jsonify({"items": [message_to_api(m) for m in view.messages], "next_cursor": None})


@bp.post("/disputes/<dispute_id>/messages")
@token_required
@idempotent
def post_message(dispute_id: str) -> Response:
    case = reading.find_case(g.api_user, dispute_id)
    body = _action_body({"body", "channel", "party"})
    if isinstance(body, Response):
        return body
    firing.fire(case, "post_message", g.api_user, **body)
    view = reading.view_case(g.api_user, dispute_id, with_events=True)
    return jsonify(message_to_api(view.messages[-1])), 201


def _upload_too_large(field: str = "file", message: Any = checks.TOO_LARGE) -> Response:
    return problem(413, _("The upload is too large."), errors={field: message})


def carries_file(
    limit: int, field: str, message: Any = checks.TOO_LARGE
) -> Callable[[Callable], Callable]:
    """Lets this route's request carry one file (the app's limit is lower); `limit` is the
    request's size with it, `field` the field named when it is too large, with `message`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if (request.content_length or 0) > limit:
                return _upload_too_large(field, message)
            request.max_content_length = limit
            try:
                return view(*args, **kwargs)
            except RequestEntityTooLarge:  # a body sent without a length, found too long
                return _upload_too_large(field, message)

        return wrapper

    return decorator


evidence_upload = carries_file(checks.MAX_EVIDENCE_REQUEST, "file", checks.VIDEO_TOO_LARGE)
# An outcome's PDF travels base64-encoded in JSON: 4 bytes for every 3, and room for the rest.
outcome_upload = carries_file(checks.MAX_FILE_SIZE * 4 // 3 + 64 * 1024, "document")


def _evidence_url(dispute_id: str, item: Any) -> str:
    return url_for("api.download_evidence", dispute_id=dispute_id, evidence_id=item.public_id)


@bp.post("/disputes/<dispute_id>/evidence")
@token_required
@evidence_upload
@idempotent
def upload_evidence(dispute_id: str) -> Response:
    case = reading.find_case(g.api_user, dispute_id)
    upload = request.files.get("file")  # a part with a file name; no name means no file
    filename, data = (upload.filename, upload.stream) if upload else (None, None)
    caption = request.form.get("caption")
    try:
        item = evidence.add_evidence(case, g.api_user, filename, data, caption)
    except checks.EvidenceTooLarge as too_large:
        return _upload_too_large("file", too_large.errors["file"])
    body = evidence.evidence_to_api(item, g.api_user, _evidence_url(dispute_id, item))
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = body["url"]
    return response


@bp.get("/disputes/<dispute_id>/evidence")
@token_required
def list_evidence(dispute_id: str) -> Response:
    page = _page_params()
    if isinstance(page, Response):
        return page
    limit, after = page
    rows, users = evidence.list_evidence(g.api_user, dispute_id, limit=limit + 1, after_id=after)
    return _page_response(
        rows,
        limit,
        lambda item: evidence.evidence_to_api(
            item, users.get(item.uploader_id), _evidence_url(dispute_id, item)
        ),
        lambda item: item.id,
    )


@bp.get("/disputes/<dispute_id>/evidence/<evidence_id>")
@token_required
def download_evidence(dispute_id: str, evidence_id: str) -> Response:
    try:
        item, data = evidence.read_evidence(g.api_user, dispute_id, evidence_id)
    except evidence.DamagedEvidence:
        return problem(
            409,
            _("The stored file is damaged."),
            _(
                "Its contents no longer match the SHA-256 recorded when it was uploaded, so it "
                "is not sent. The problem has been logged for the ODR team."
            ),
        )
    return evidence.attachment(item, data)


# ---- documents -----------------------------------------------------------------------------------


def _document_url(document: Any) -> str:
    return url_for("api.download_document", document_id=document.public_id, _external=True)


@bp.get("/disputes/<dispute_id>/documents")
@token_required
def list_documents(dispute_id: str) -> Response:
    page = _page_params()
    if isinstance(page, Response):
        return page
    limit, after = page
    rows = documents.list_documents(g.api_user, dispute_id, limit=limit + 1, after_id=after)
    newer = documents.public_ids({row.superseded_by_id for row in rows})
    return _page_response(
        rows,
        limit,
        lambda row: documents.document_to_api(
            row, newer.get(row.superseded_by_id), _document_url(row)
        ),
        lambda row: row.id,
    )


@bp.get("/documents/<document_id>")
@token_required
def download_document(document_id: str) -> Response:
    document = documents.find_document(g.api_user, document_id)
    return documents.pdf_response(document, documents.document_file(document))


@bp.get("/verify/<code>")
def verify_document(code: str) -> Response:
    found = documents.verify(code)
    return jsonify(found | {"issued_at": found["issued_at"].isoformat()})


# ---- referrals (partner agencies) ---------------------------------------------------------------


def _referral_evidence_url(referral: Any, item: Any) -> str:
    return url_for(
        "api.referral_evidence",
        referral_id=referral.public_id,
        evidence_id=item.public_id,
        _external=True,
    )


def _referral_response(referral_id: str) -> Response:
    referral, case = referrals.find_referral(g.api_user, referral_id)
    return jsonify(referrals.referral_to_api(referral, case, _referral_evidence_url))


@bp.get("/referrals")
@token_required
def list_referrals() -> Response:
    page = _page_params()
    if isinstance(page, Response):
        return page
    limit, after = page
    rows = referrals.partner_referrals(g.api_user, limit=limit + 1, after_id=after)
    parts = referrals.package_parts([case.id for _referral, case in rows[:limit]])
    return _page_response(
        rows,
        limit,
        lambda row: referrals.referral_to_api(*row, _referral_evidence_url, parts),
        lambda row: row[0].id,
    )


@bp.get("/referrals/<referral_id>")
@token_required
def read_referral(referral_id: str) -> Response:
    return _referral_response(referral_id)


@bp.get("/referrals/<referral_id>/evidence/<evidence_id>")
@token_required
def referral_evidence(referral_id: str, evidence_id: str) -> Response:
    item, data = referrals.referral_evidence(g.api_user, referral_id, evidence_id)
    return evidence.attachment(item, data)


def _referral_action(referral_id: str, action: str, fields: set[str]) -> Response:
    referrals.find_referral(g.api_user, referral_id)  # another agency's: 404 before the body
    body = _action_body(fields)
    if isinstance(body, Response):
        return body
    act_on_referral(g.api_user, referral_id, action, body)
    return _referral_response(referral_id)


@bp.post("/referrals/<referral_id>/accept")
@token_required
@idempotent
def accept_referral(referral_id: str) -> Response:
    return _referral_action(referral_id, "accept_referral", {"partner_reference"})


@bp.post("/referrals/<referral_id>/decline")
@token_required
@idempotent
def decline_referral(referral_id: str) -> Response:
    return _referral_action(referral_id, "decline_referral", {"reason"})


@bp.post("/referrals/<referral_id>/updates")
@token_required
@idempotent
def report_progress(referral_id: str) -> Response:
    return _referral_action(referral_id, "report_progress", {"status", "note"})


@bp.post("/referrals/<referral_id>/outcome")
@token_required
@outcome_upload
@idempotent
def report_outcome(referral_id: str) -> Response:
    return _referral_action(
        referral_id, "report_outcome", {"outcome", "summary", "amount", "document"}
    )
