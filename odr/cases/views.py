"""Pages of a dispute: my disputes, lodging, and the dispute itself with its actions."""

from __future__ import annotations

from collections.abc import Callable
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

from odr.cases import casefile, evidence, performance, services
from odr.cases.forms import (
    action_params_from_form,
    lodging_body_from_form,
    lodging_errors_for_form,
    message_params_from_form,
    offer_body_from_form,
)
from odr.cases.models import CATEGORIES, REMEDIES
from odr.delivery.services import mark_case_seen
from odr.errors import Conflict, StaleVersion, ValidationError
from odr.extensions import csrf
from odr.limits import limited, logged_in_user
from odr.mediation.services import (
    candidates,
    cases_waiting_for_a_neutral,
    excluded_neutrals,
    neutral_role,
)
from odr.money import CURRENCIES
from odr.negotiation import services as negotiation
from odr.referrals.law import rule_reason
from odr.validation import COUNTRIES
from odr.web import action_label
from odr.workflow import get_workflow

bp = Blueprint("cases", __name__)


@bp.get("/")
def home() -> Any:
    if current_user.is_authenticated and current_user.role == "partner":
        return redirect(url_for("partner.referrals"))
    if current_user.is_authenticated:
        return redirect(url_for("cases.my_disputes"))
    return render_template("home.html")


@bp.get("/disputes")
@login_required
def my_disputes() -> Any:
    after = request.args.get("after", type=int)
    rows = services.list_cases(current_user, limit=51, after_id=after)
    waiting = cases_waiting_for_a_neutral() if current_user.role == "case_manager" else []
    return render_template(
        "cases/list.html",
        cases=rows[:50],
        waiting=waiting,
        next_after=rows[49].id if len(rows) > 50 else None,
    )


def _lodging_choices() -> dict[str, Any]:
    return {
        "categories": CATEGORIES,
        "remedies": REMEDIES,
        "countries": sorted(COUNTRIES),
        "currencies": sorted(CURRENCIES),
    }


@bp.route("/disputes/new", methods=["GET", "POST"])
@login_required
@limited("RATELIMIT_LODGE", logged_in_user)
def lodge() -> Any:
    if current_user.role not in ("consumer", "platform"):
        abort(403)
    if not current_user.email_verified:
        return render_template("accounts/verify_first.html"), 403
    errors: dict[str, Any] = {}
    form = request.form
    if request.method == "POST":
        try:
            case = services.lodge_dispute(filer=current_user, body=lodging_body_from_form(form))
        except ValidationError as error:
            errors = lodging_errors_for_form(form, error.errors)
        else:
            flash(_("Your dispute %(reference)s has been lodged.", reference=case.reference), "ok")
            return redirect(url_for("cases.dispute", dispute_id=case.public_id))
    status = 422 if errors else 200
    return (
        render_template("cases/lodge.html", errors=errors, form=form, **_lodging_choices()),
        status,
    )


def _dispute_page(dispute_id: str, errors: dict | None = None, status: int = 200) -> Any:
    case_file = casefile.read_case_file(
        current_user, dispute_id, casefile.cursors_from(request.args)
    )
    view = case_file.view
    mark_case_seen(current_user, view.case.id)
    neutrals = []
    if "reassign" in view.actions:
        role = neutral_role(view.case)
        neutrals = [
            user for user, _load in candidates(view.case, role, excluded_neutrals(view.case))
        ]
    page = render_template(
        "cases/dispute.html",
        view=view,
        case_file=case_file,
        case=view.case,
        specs=get_workflow(view.case.workflow, view.case.workflow_version).actions,
        neutrals=neutrals,
        performance=performance.FormDefaults(view.case),
        law_reason=rule_reason(view.case.governing_law_rule),
        remedies=REMEDIES,
        currencies=sorted(CURRENCIES),
        errors=errors or {},
        form=request.form,
    )
    return page, status


@bp.get("/disputes/<dispute_id>")
@login_required
def dispute(dispute_id: str) -> Any:
    return _dispute_page(dispute_id)


def _change_then_show(dispute_id: str, change: Callable[[], Any], done: str) -> Any:
    """Make the change; either way, go back to the dispute page and say what happened."""
    try:
        change()
    except ValidationError as error:
        for field, message in error.errors.items():
            flash(f"{field}: {message}", "error")
    except StaleVersion:
        flash(_("The dispute changed while you were looking at it. Please try again."), "error")
    except Conflict:
        flash(_("That is not possible at this stage of the dispute."), "error")
    else:
        flash(done, "ok")
        if not services.is_visible(current_user, dispute_id):
            return redirect(url_for("cases.my_disputes"), 303)
    return redirect(url_for("cases.dispute", dispute_id=dispute_id), 303)


@bp.post("/disputes/<dispute_id>/actions/<action>")
@login_required
def fire_action(dispute_id: str, action: str) -> Any:
    case = services.find_case(current_user, dispute_id)
    spec = services.action_spec(case, action)
    params = action_params_from_form(spec, request.form)
    return _change_then_show(
        dispute_id,
        lambda: services.fire(
            case, action, current_user, expected_version=_form_version(), **params
        ),
        _("Done: %(action)s.", action=action_label(action)),
    )


@bp.post("/disputes/<dispute_id>/offers")
@login_required
def make_offer(dispute_id: str) -> Any:
    case = services.find_case(current_user, dispute_id)
    try:
        negotiation.make_offer(case, current_user, offer_body_from_form(request.form))
    except ValidationError as error:
        return _dispute_page(dispute_id, error.errors, 422)
    flash(_("Your offer has been sent."), "ok")
    return redirect(url_for("cases.dispute", dispute_id=dispute_id))


@bp.post("/disputes/<dispute_id>/offers/<offer_id>/<decision>")
@login_required
def answer_offer(dispute_id: str, offer_id: str, decision: str) -> Any:
    answers = {"accept": negotiation.accept_offer, "reject": negotiation.reject_offer}
    if decision not in answers:
        abort(404)
    case = services.find_case(current_user, dispute_id)
    return _change_then_show(
        dispute_id,
        lambda: answers[decision](case, current_user, offer_id, expected_version=_form_version()),
        _("The offer was accepted.") if decision == "accept" else _("The offer was rejected."),
    )


# The fields of the message forms on the dispute page, by the parameter they send: a message's
# channel (a party) and party (a mediator) are chosen in the same field.
MESSAGE_FIELDS = {"body": "message-body", "channel": "message-channel", "party": "message-channel"}
NOTE_FIELDS = {"body": "note-body"}


@bp.post("/disputes/<dispute_id>/messages")
@login_required
def post_message(dispute_id: str) -> Any:
    params = message_params_from_form(request.form)
    return _write_message(
        dispute_id,
        "post_message",
        params,
        MESSAGE_FIELDS,
        services.message_channel(params),
        _("Your message has been sent."),
    )


@bp.post("/disputes/<dispute_id>/notes")
@login_required
def write_note(dispute_id: str) -> Any:
    params = {"body": request.form.get("body", "")}
    return _write_message(
        dispute_id, "write_note", params, NOTE_FIELDS, "notes", _("Your note has been saved.")
    )


def _write_message(
    dispute_id: str,
    action: str,
    params: dict[str, Any],
    fields: dict[str, str],
    channel: str,
    done: str,
) -> Any:
    """Send through the service the API uses, then back to the channel; a message that cannot be
    sent comes back on the page with the text as typed and the reason next to its field.

    No version check: a message answers what the writer read, and whatever happened meanwhile
    (another message, a deadline) is no reason to refuse it. Who may not write at all gets the
    error page, as for any action."""
    case = services.find_case(current_user, dispute_id)
    try:
        services.fire(case, action, current_user, **params)
    except ValidationError as error:
        errors = {fields.get(name, fields["body"]): text for name, text in error.errors.items()}
        return _dispute_page(dispute_id, errors, 422)
    except Conflict:  # the stage no longer allows it, the caucus has closed
        errors = {fields["body"]: _("That is not possible at this stage of the dispute.")}
        return _dispute_page(dispute_id, errors, 409)
    flash(done, "ok")
    back = url_for("cases.dispute", dispute_id=dispute_id, _anchor=f"channel-{channel}-h")
    return redirect(back, 303)


def _form_version() -> int | None:
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else None


@bp.post("/disputes/<dispute_id>/evidence")
@csrf.exempt  # checked below, once this route's larger upload limit is in force
@login_required
def upload_evidence(dispute_id: str) -> Any:
    back = url_for("cases.dispute", dispute_id=dispute_id) + "#evidence-h"
    if (request.content_length or 0) > evidence.MAX_UPLOAD_REQUEST:
        flash(_("Evidence file: %(error)s", error=evidence.TOO_LARGE), "error")
        return redirect(back, 303)
    request.max_content_length = evidence.MAX_UPLOAD_REQUEST
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    case = services.find_case(current_user, dispute_id)
    upload = request.files.get("file")  # an empty file input sends no file name
    filename, data = (upload.filename, upload.read()) if upload else (None, None)
    try:
        item = evidence.add_evidence(case, current_user, filename, data)
    except ValidationError as error:
        return _dispute_page(dispute_id, error.errors, error.status)
    except Conflict:
        flash(_("That is not possible at this stage of the dispute."), "error")
        return redirect(back, 303)
    flash(_("%(name)s was added to the evidence.", name=item.filename), "ok")
    return redirect(back, 303)


@bp.get("/disputes/<dispute_id>/evidence/<evidence_id>")
@login_required
def download_evidence(dispute_id: str, evidence_id: str) -> Any:
    try:
        item, data = evidence.read_evidence(current_user, dispute_id, evidence_id)
    except evidence.DamagedEvidence:
        flash(
            _(
                "This file was not sent: its contents no longer match the SHA-256 recorded when "
                "it was uploaded. The problem has been logged; please tell the case manager."
            ),
            "error",
        )
        return redirect(url_for("cases.dispute", dispute_id=dispute_id) + "#evidence-h", 303)
    return evidence.attachment(item, data)
