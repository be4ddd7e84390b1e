"""Documents on the web: the download for those on the case, and the public verification page
(anyone holding a document can check it is genuine)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from odr.documents import services
from odr.errors import NotFound

bp = Blueprint("documents", __name__)


@bp.get("/documents/<document_id>")
@login_required
def download(document_id: str) -> Any:
    document = services.find_document(current_user, document_id)
    return services.pdf_response(document, services.document_bytes(document))


@bp.post("/disputes/<dispute_id>/case-file")
@login_required
def request_case_file(dispute_id: str) -> Any:
    services.request_case_file(current_user, dispute_id)
    flash(_("Your case file is being prepared; it appears under Documents in a moment."))
    return redirect(url_for("cases.dispute", dispute_id=dispute_id) + "#documents-h")


@bp.get("/verify")
def verify_form() -> Any:
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("documents.verify_page", code=code))
    return render_template("documents/verify.html", found=None, code="")


@bp.get("/verify/<code>")
def verify_page(code: str) -> Any:
    try:
        found = services.verify(code)
    except NotFound:
        return render_template("documents/verify.html", found=None, code=code), 404
    return render_template("documents/verify.html", found=found, code=code)
