"""Documents on the web: the download for those on the case, and the public verification page
(anyone holding a document can check it is genuine)."""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from odr.documents import fingerprint, services
from odr.errors import NotFound, ValidationError
from odr.extensions import csrf
from odr.i18n import language_name
from odr.limits import limiter

bp = Blueprint("documents", __name__)
VERIFY_FILE_LIMIT = "30 per hour"  # files checked per client address; RATELIMIT_VERIFY_FILE


@bp.get("/documents/<document_id>")
@login_required
def download(document_id: str) -> Any:
    document = services.find_document(current_user, document_id)
    return services.pdf_response(document, services.document_file(document))


@bp.post("/disputes/<dispute_id>/case-file")
@login_required
def request_case_file(dispute_id: str) -> Any:
    services.request_case_file(current_user, dispute_id)
    flash(_("Your case file is being prepared; it appears under Documents in a moment."))
    return redirect(url_for("cases.dispute", dispute_id=dispute_id) + "#documents-h")


def _verify_page(
    *,
    found: dict[str, Any] | None = None,
    code: str = "",
    checked: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    """The verification page: a code looked up (`found`), or a file checked (`checked`)."""
    page = render_template(
        "documents/verify.html",
        found=found,
        code=code,
        checked=checked,
        errors=errors or {},
        languages_of=_languages,
    )
    return page, status


def _languages(codes: list[str]) -> str:
    names = [language_name(code) for code in codes]
    return format_list(names, locale=get_locale() or "en")


def _verify_file_limit() -> str:
    return current_app.config.get("RATELIMIT_VERIFY_FILE", VERIFY_FILE_LIMIT)


@bp.get("/verify")
def verify_form() -> Any:
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("documents.verify_page", code=code))
    return _verify_page()


@bp.post("/verify")
@csrf.exempt  # checked below, once this route's upload limit and file container are in force
@limiter.limit(_verify_file_limit, methods=["POST"], scope="RATELIMIT_VERIFY_FILE:ip")
def verify_file() -> Any:
    """Check a file: its SHA-256, taken as it streams in (or by the browser, which then sends
    only that), against the documents issued. The file is never stored nor logged."""
    if (request.content_length or 0) > fingerprint.MAX_REQUEST:
        return _verify_page(errors={"document": fingerprint.TOO_LARGE}, status=413)
    request.max_content_length = fingerprint.MAX_REQUEST
    request._get_file_stream = fingerprint.fingerprint_stream  # for this request only
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    try:
        if request.form.get("sha256"):
            sha256 = fingerprint.checked_hash(request.form["sha256"])
        else:
            upload = request.files.get("document")
            sha256 = fingerprint.checked_fingerprint(upload.stream if upload else None)
    except ValidationError as error:
        return _verify_page(errors=error.errors, status=error.status)
    return _verify_page(checked={"sha256": sha256, "document": services.verify_file(sha256)})


@bp.get("/verify/<code>")
def verify_page(code: str) -> Any:
    try:
        found = services.verify(code)
    except NotFound:
        return _verify_page(code=code, status=404)
    return _verify_page(found=found, code=code)
