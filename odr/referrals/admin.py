"""Case managers' pages for the partner directory and for webhooks that could not be delivered.

The API token and the signing secret of an agency are shown once, on the page that answers the
form that made them (never stored in plain, never in a redirect's flash), and that page is not
cached.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from odr.accounts.admin import case_manager_required
from odr.errors import NotFound, ValidationError
from odr.referrals.directory import (
    add_partner,
    disable_partner,
    enable_partner,
    find_partner,
    grace_until,
    partner_directory,
    replace_api_token,
    rotate_secret,
)
from odr.referrals.webhooks import dead_webhooks, retry_dead_webhook
from odr.validation import FieldReader

bp = Blueprint("partner_admin", __name__, url_prefix="/admin")

WEBHOOKS_PAGE = 50


# ---- the pages ----------------------------------------------------------------------------------


def _codes(value: str) -> list[str]:
    """`DE, AT` or `de en` → the codes, as the directory reads them."""
    return [part for part in re.split(r"[\s,;]+", value) if part]


def _directory_page(errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    page = render_template("admin/partners.html", entries=partner_directory(), errors=errors or {})
    return page, status


def _show_once(**context: Any) -> Any:
    """The page that shows a token or a secret: once, and never from a cache."""
    response = make_response(render_template("admin/partner_secret.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/partners")
@case_manager_required
def partners() -> Any:
    return _directory_page()


@bp.route("/partners/new", methods=["GET", "POST"])
@case_manager_required
def new_partner() -> Any:
    errors: dict[str, Any] = {}
    form = request.form
    if request.method == "POST":
        try:
            partner, user, token, secret = add_partner(
                name=form.get("name", ""),
                countries=_codes(form.get("countries", "")),
                languages=_codes(form.get("languages", "")),
                webhook_url=form.get("webhook_url", ""),
                legal_basis=form.get("legal_basis", ""),
                user_email=form.get("email", ""),
            )
        except ValidationError as error:
            errors = error.errors
        else:
            return _show_once(partner=partner, user_email=user.email, token=token, secret=secret)
    page = render_template("admin/partner_new.html", errors=errors, form=form)
    return page, 422 if errors else 200


@bp.post("/partners/<public_id>/disable")
@case_manager_required
def disable(public_id: str) -> Any:
    partner = find_partner(public_id)
    if not partner.active:
        flash(_("%(name)s is disabled already.", name=partner.name))
        return redirect(url_for("partner_admin.partners"), 303)
    reader = FieldReader()
    reason = reader.string(request.form, "reason", "reason", max_length=500)
    if reason is None:
        return _directory_page({partner.public_id: reader.errors["reason"]}, 422)
    disable_partner(partner, reason)
    flash(
        _(
            "%(name)s is disabled: it gets no new referrals and no webhooks.",
            name=partner.name,
        )
    )
    return redirect(url_for("partner_admin.partners"), 303)


@bp.post("/partners/<public_id>/enable")
@case_manager_required
def enable(public_id: str) -> Any:
    partner = find_partner(public_id)
    try:
        enable_partner(partner, request.form.get("webhook_url", "").strip() or None)
    except ValidationError as error:
        return _directory_page({partner.public_id: error.errors["webhook_url"]}, 422)
    flash(_("%(name)s receives referrals and webhooks again.", name=partner.name))
    return redirect(url_for("partner_admin.partners"), 303)


@bp.post("/partners/<public_id>/rotate-secret")
@case_manager_required
def rotate(public_id: str) -> Any:
    partner = find_partner(public_id)
    secret = rotate_secret(partner)
    return _show_once(partner=partner, secret=secret, previous_until=grace_until(partner.id))


@bp.post("/partners/<public_id>/token")
@case_manager_required
def replace_token(public_id: str) -> Any:
    partner = find_partner(public_id)
    user, token = replace_api_token(partner)
    return _show_once(partner=partner, user_email=user.email, token=token)


@bp.get("/webhooks")
@case_manager_required
def webhooks() -> Any:
    before = request.args.get("before", type=int)
    rows = dead_webhooks(before=before, limit=WEBHOOKS_PAGE + 1)
    more = len(rows) > WEBHOOKS_PAGE
    return render_template(
        "admin/webhooks.html",
        messages=rows[:WEBHOOKS_PAGE],
        before=before,
        next_before=rows[WEBHOOKS_PAGE - 1].id if more else None,
    )


@bp.post("/webhooks/<int:message_id>/retry")
@case_manager_required
def retry_webhook(message_id: int) -> Any:
    try:
        retry_dead_webhook(message_id)
    except NotFound:
        flash(_("That webhook is no longer waiting for a retry: it was retried already."), "error")
    else:
        flash(
            _(
                "The webhook goes out again now. If the agency still does not take it, it is "
                "retried on the usual schedule and you are told if it fails for good."
            )
        )
    before = request.form.get("before", type=int)
    return redirect(url_for("partner_admin.webhooks", before=before), 303)
