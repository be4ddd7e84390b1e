"""The partner portal: an agency's users see their referrals, accept or decline them, report
progress and the outcome, with the same services as the partner API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from odr import pickers
from odr.cases.forms import money_from_form, with_amount_errors
from odr.cases.labels import OUTCOME_LABELS
from odr.errors import Conflict, ValidationError
from odr.evidence import checks
from odr.evidence import services as evidence
from odr.extensions import csrf
from odr.referrals import services
from odr.referrals.lifecycle import act_on_referral
from odr.referrals.models import OPEN_REFERRALS
from odr.referrals.progress import PROGRESS_LABELS
from odr.referrals.reports import OUTCOMES

bp = Blueprint("partner", __name__, url_prefix="/partner")
PAGE = 50
SHOWN = {"open": OPEN_REFERRALS, "all": None}


def partner_required(view: Callable) -> Callable:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.role != "partner" or current_user.partner_id is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/referrals")
@partner_required
def referrals() -> Any:
    shown = request.args.get("show", "open")
    if shown not in SHOWN:
        shown = "open"
    after = request.args.get("after", type=int)
    rows = services.partner_referrals(
        current_user, limit=PAGE + 1, after_id=after, statuses=SHOWN[shown]
    )
    return render_template(
        "referrals/list.html",
        rows=rows[:PAGE],
        shown=shown,
        next_after=rows[PAGE - 1][0].id if len(rows) > PAGE else None,
    )


def _evidence_url(referral: Any, item: Any) -> str:
    return url_for(
        "partner.download_evidence", referral_id=referral.public_id, evidence_id=item.public_id
    )


def _referral_page(referral_id: str, errors: dict[str, Any] | None = None, status: int = 200):
    referral, case = services.find_referral(current_user, referral_id)
    page = render_template(
        "referrals/referral.html",
        referral=referral,
        package=services.referral_to_api(referral, case, _evidence_url),
        case=case,
        outcomes=OUTCOMES,
        outcome_labels=OUTCOME_LABELS,
        progress_labels=PROGRESS_LABELS,
        currencies=pickers.currencies(case.claim_currency),
        errors=errors or {},
        form=request.form,
    )
    return page, status


@bp.get("/referrals/<referral_id>")
@partner_required
def referral(referral_id: str) -> Any:
    return _referral_page(referral_id)


@bp.get("/referrals/<referral_id>/evidence/<evidence_id>")
@partner_required
def download_evidence(referral_id: str, evidence_id: str) -> Any:
    item, data = services.referral_evidence(current_user, referral_id, evidence_id)
    return evidence.attachment(item, data)


def _act(referral_id: str, action: str, body: dict[str, Any], done: str, upload=None) -> Any:
    """Act, then go back to the referral; a refused input re-shows the page with its errors."""
    try:
        act_on_referral(current_user, referral_id, action, body, upload)
    except ValidationError as error:
        errors = with_amount_errors(request.form, error.errors)
        return _referral_page(referral_id, errors, error.status)
    except Conflict:
        flash(_("That is not possible any more: the referral has changed meanwhile."), "error")
    else:
        flash(done, "ok")
    return redirect(url_for("partner.referral", referral_id=referral_id), 303)


def _text(name: str) -> str | None:
    return request.form.get(name) or None


@bp.post("/referrals/<referral_id>/accept")
@partner_required
def accept(referral_id: str) -> Any:
    body = {"partner_reference": _text("partner_reference")}
    return _act(referral_id, "accept_referral", body, _("You accepted the referral."))


@bp.post("/referrals/<referral_id>/decline")
@partner_required
def decline(referral_id: str) -> Any:
    body = {"reason": _text("reason")}
    done = _("You declined the referral; the dispute is handled by us again.")
    return _act(referral_id, "decline_referral", body, done)


@bp.post("/referrals/<referral_id>/updates")
@partner_required
def report_progress(referral_id: str) -> Any:
    body = {"status": _text("status"), "note": _text("note")}
    done = _("Your progress report was sent to both parties.")
    return _act(referral_id, "report_progress", body, done)


@bp.post("/referrals/<referral_id>/outcome")
@csrf.exempt  # checked below, once this route's larger upload limit is in force
@partner_required
def report_outcome(referral_id: str) -> Any:
    if (request.content_length or 0) > checks.MAX_UPLOAD_REQUEST:
        return _referral_page(referral_id, {"document": checks.TOO_LARGE}, 413)
    request.max_content_length = checks.MAX_UPLOAD_REQUEST
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    body: dict[str, Any] = {"outcome": _text("outcome"), "summary": _text("summary")}
    if _text("amount.amount"):
        body["amount"] = money_from_form(request.form, "amount")
    upload = request.files.get("document")  # an empty file input sends no file name
    pdf = (upload.filename, upload.read()) if upload and upload.filename else None
    done = _("The outcome was recorded and both parties were told.")
    return _act(referral_id, "report_outcome", body, done, pdf)
