"""Pages of a dispute: my disputes, lodging, and the dispute itself with its actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from odr import field_labels, pickers
from odr.cases import (
    actions,
    casefile,
    confirmation,
    drafts,
    firing,
    lodging,
    performance,
    progress,
    reading,
)
from odr.cases.forms import (
    action_params_from_form,
    lodging_body_from_form,
    lodging_errors_for_form,
    message_params_from_form,
    offer_body_from_form,
    with_amount_errors,
)
from odr.cases.law import rule_reason
from odr.cases.models import CATEGORIES, REMEDIES
from odr.delivery.services import mark_case_seen
from odr.errors import Conflict, StaleVersion, ValidationError
from odr.evidence import checks
from odr.evidence import services as evidence
from odr.extensions import csrf
from odr.limits import limited, logged_in_user
from odr.mediation.services import (
    candidates,
    cases_waiting_for_a_neutral,
    excluded_neutrals,
    neutral_role,
)
from odr.negotiation import services as negotiation
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
    rows = reading.list_cases(current_user, limit=51, after_id=after)
    waiting = cases_waiting_for_a_neutral() if current_user.role == "case_manager" else []
    return render_template(
        "cases/list.html",
        cases=rows[:50],
        waiting=waiting,
        next_after=rows[49].id if len(rows) > 50 else None,
    )


def _lodging_choices() -> dict[str, Any]:
    """The choices of the lodging form; the consumer's own currency first and preselected."""
    own = pickers.home_currency(current_user.country)
    return {
        "categories": CATEGORIES,
        "remedies": REMEDIES,
        "currencies": pickers.currencies(own),
        "own_currency": own or "CNY",
        "labels": field_labels.LODGING,
    }


def _lodging_refused() -> Any:
    """The page of someone who may not lodge, or None."""
    if current_user.role not in ("consumer", "platform"):
        abort(403)
    if not current_user.email_verified:
        return render_template("accounts/verify_first.html"), 403
    return None


@bp.route("/disputes/new", methods=["GET", "POST"])
@csrf.exempt  # checked by drafts.keeps_typing, once what a logged-out browser sent is kept
@limited("RATELIMIT_LODGE", logged_in_user)
@drafts.keeps_typing
@login_required
def lodge() -> Any:
    refused = _lodging_refused()
    if refused:
        return refused
    errors: dict[str, Any] = {}
    form = request.form
    draft = None
    if request.method == "POST":
        try:
            case = lodging.lodge_dispute(filer=current_user, body=lodging_body_from_form(form))
        except ValidationError as error:
            errors = lodging_errors_for_form(form, error.errors)
        else:
            drafts.discard_draft(current_user)
            flash(_("Your dispute %(reference)s has been lodged.", reference=case.reference), "ok")
            return redirect(url_for("cases.dispute", dispute_id=case.public_id))
    else:
        draft = drafts.draft_of(current_user)
        form = draft.form() if draft else form
    return _lodge_page(form, errors, draft=draft)


def _lodge_page(form: Any, errors: dict[str, Any], *, draft: Any = None, status: int = 0) -> Any:
    page = render_template(
        "cases/lodge.html",
        errors=errors,
        form=form,
        draft=draft,
        draft_note=request.args.get("draft"),
        draft_days=drafts.DRAFT_LIFE.days,
        **_lodging_choices(),
    )
    return page, status or (422 if errors else 200)


@bp.post("/disputes/new/draft")
@csrf.exempt  # checked by drafts.keeps_typing, as for the lodging form itself
@drafts.limit_stashes
@drafts.keeps_typing
@login_required
def save_draft() -> Any:
    """The form's "Save draft" button, and the autosave of drafts.js (which asks for JSON)."""
    refused = _lodging_refused()
    if refused:
        return refused
    try:
        drafts.save_draft(current_user, request.form)
    except drafts.DraftTooLarge:
        if drafts.wants_json():
            return jsonify(message=str(drafts.TOO_LARGE)), 413
        flash(str(drafts.TOO_LARGE), "error")
        return _lodge_page(request.form, {}, status=413)
    if drafts.wants_json():
        return drafts.draft_saved_answer()
    return redirect(url_for("cases.lodge", draft="saved"), 303)


@bp.post("/disputes/new/draft/discard")
@login_required
def discard_draft() -> Any:
    drafts.discard_draft(current_user)
    flash(_("The draft is discarded."), "ok")
    return redirect(url_for("cases.lodge"), 303)


def _dispute_page(
    dispute_id: str, errors: dict | None = None, status: int = 200, refused_files: Any = ()
) -> Any:
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
        progress=progress.for_page(view, case_file.timeline),
        binding_acts=confirmation.BINDING_ACTS,
        law_reason=rule_reason(view.case.governing_law_rule),
        remedies=REMEDIES,
        currencies=pickers.currencies(view.case.claim_currency),
        errors=errors or {},
        refused_files=refused_files,
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
    except (ValidationError, StaleVersion, Conflict) as error:
        _say_why_not(error)
    else:
        flash(done, "ok")
        if not reading.is_visible(current_user, dispute_id):
            return redirect(url_for("cases.my_disputes"), 303)
    return redirect(url_for("cases.dispute", dispute_id=dispute_id), 303)


def _say_why_not(error: ValidationError | StaleVersion | Conflict) -> None:
    if isinstance(error, ValidationError):
        for field, message in with_amount_errors(request.form, error.errors).items():
            label = field_labels.label_for(field, field_labels.ACTION)
            said = _("%(field)s: %(message)s", field=label, message=message) if label else message
            flash(said, "error")
    elif isinstance(error, StaleVersion):
        flash(_("The dispute changed while you were looking at it. Please try again."), "error")
    else:
        flash(_("That is not possible at this stage of the dispute."), "error")


def _ask_first(dispute_id: str, ask: Callable[[], confirmation.Confirmation]) -> Any:
    """A binding act's first press: the confirmation step; or, when the act is not possible
    now, back to the dispute saying why, as for a change that failed."""
    try:
        asked = ask()
    except (ValidationError, StaleVersion, Conflict) as error:
        _say_why_not(error)
        return redirect(url_for("cases.dispute", dispute_id=dispute_id), 303)
    return render_template("cases/confirm.html", asked=asked, case=asked.case)


@bp.get("/disputes/<dispute_id>/actions/<action>")
@bp.get("/disputes/<dispute_id>/offers/<offer_id>/<decision>")
@login_required
def back_to_dispute(dispute_id: str, **_address: str) -> Any:
    """A confirmation step's address loaded again (the language switch, a reload) leads back to
    the dispute, where the act can be started afresh."""
    return redirect(url_for("cases.dispute", dispute_id=dispute_id))


@bp.post("/disputes/<dispute_id>/actions/<action>")
@login_required
def fire_action(dispute_id: str, action: str) -> Any:
    case = reading.find_case(current_user, dispute_id)
    spec = reading.action_spec(case, action)
    params = action_params_from_form(spec, request.form)
    step = confirmation.step(action, request.form)
    if step == "back":
        return redirect(url_for("cases.dispute", dispute_id=dispute_id), 303)
    if step == "ask":
        return _ask_first(
            dispute_id,
            lambda: confirmation.ask(
                case, current_user, action, params, expected_version=_form_version()
            ),
        )
    return _change_then_show(
        dispute_id,
        lambda: firing.fire(case, action, current_user, expected_version=_form_version(), **params),
        _("Done: %(action)s.", action=action_label(action)),
    )


@bp.post("/disputes/<dispute_id>/offers")
@login_required
def make_offer(dispute_id: str) -> Any:
    case = reading.find_case(current_user, dispute_id)
    try:
        negotiation.make_offer(case, current_user, offer_body_from_form(request.form))
    except ValidationError as error:
        return _dispute_page(dispute_id, with_amount_errors(request.form, error.errors), 422)
    flash(_("Your offer has been sent."), "ok")
    return redirect(url_for("cases.dispute", dispute_id=dispute_id))


@bp.post("/disputes/<dispute_id>/offers/<offer_id>/<decision>")
@login_required
def answer_offer(dispute_id: str, offer_id: str, decision: str) -> Any:
    answers = {"accept": negotiation.accept_offer, "reject": negotiation.reject_offer}
    if decision not in answers:
        abort(404)
    case = reading.find_case(current_user, dispute_id)
    step = confirmation.step(f"{decision}_offer", request.form)
    if step == "back":
        return redirect(url_for("cases.dispute", dispute_id=dispute_id), 303)
    if step == "ask":
        return _ask_first(
            dispute_id,
            lambda: confirmation.ask(
                case,
                current_user,
                "accept_offer",
                {"offer": negotiation.find_offer(case, offer_id)},
                expected_version=_form_version(),
            ),
        )
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
        actions.message_channel(params),
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
    case = reading.find_case(current_user, dispute_id)
    try:
        firing.fire(case, action, current_user, **params)
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
    """Several files in one go: each is added or refused on its own; the refused ones are named,
    with their reasons, next to the file control."""
    back = url_for("cases.dispute", dispute_id=dispute_id) + "#evidence-h"
    if (request.content_length or 0) > checks.MAX_BATCH_REQUEST:
        flash(_("Evidence file: %(error)s", error=checks.BATCH_TOO_LARGE), "error")
        return redirect(back, 303)
    request.max_content_length = checks.MAX_BATCH_REQUEST
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect()
    case = reading.find_case(current_user, dispute_id)
    files = [upload for upload in request.files.getlist("file") if upload.filename]
    if len(files) > checks.MAX_BATCH_FILES:
        return _dispute_page(dispute_id, {"file": checks.TOO_MANY_FILES}, 422)
    uploads = evidence.uploads_from_form(files, request.form)
    try:
        batch = evidence.add_evidence_batch(case, current_user, uploads)
    except ValidationError as error:
        return _dispute_page(dispute_id, error.errors, error.status)
    except Conflict:
        flash(_("That is not possible at this stage of the dispute."), "error")
        return redirect(back, 303)
    if batch.added:
        flash(evidence.added_message(batch.added), "ok")
    if batch.refused:
        errors = {"file": evidence.refused_message(batch.refused)}
        statuses = {refused.status for refused in batch.refused}
        status = statuses.pop() if len(statuses) == 1 else 422
        return _dispute_page(dispute_id, errors, status, refused_files=batch.refused)
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


@bp.get("/disputes/<dispute_id>/evidence/<evidence_id>/thumbnail")
@login_required
def evidence_thumbnail(dispute_id: str, evidence_id: str) -> Any:
    try:
        item, data = evidence.read_thumbnail(current_user, dispute_id, evidence_id)
    except evidence.DamagedEvidence:
        abort(404)
    return evidence.thumbnail_image(item, data)
