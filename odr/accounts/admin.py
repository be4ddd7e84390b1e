"""Case managers' administration of accounts: staff accounts and deactivation."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from odr.accounts import staff
from odr.config import SUPPORTED_LOCALES
from odr.errors import ValidationError

bp = Blueprint("admin", __name__, url_prefix="/admin")


def case_manager_required(view: Callable) -> Callable:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.role != "case_manager" or not current_user.email_verified:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/users")
@case_manager_required
def users() -> Any:
    after = request.args.get("after", type=int)
    rows = staff.list_users(after_id=after, limit=51)
    return render_template(
        "admin/users.html", users=rows[:50], next_after=rows[49].id if len(rows) > 50 else None
    )


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


@bp.route("/users/new", methods=["GET", "POST"])
@case_manager_required
def new_user() -> Any:
    errors: dict[str, Any] = {}
    form = request.form
    if request.method == "POST":
        ceiling = form.get("caseload_ceiling", "").strip()
        fields = {key: form.get(key, "") for key in ("name", "email", "role", "country")}
        fields |= {
            "language": form.get("language", ""),
            "languages": form.getlist("languages"),
            "caseload_ceiling": int(ceiling) if ceiling.isdigit() else (ceiling or None),
            "conflicts": _csv(form.get("conflicts", "")),
        }
        try:
            user = staff.create_staff_account(current_user, fields)
        except ValidationError as error:
            errors = error.errors
        else:
            flash(_("%(name)s can now choose a password from the e-mail we sent.", name=user.name))
            return redirect(url_for("admin.users"), 303)
    return (
        render_template(
            "admin/new_user.html",
            errors=errors,
            form=form,
            roles=staff.PROVIDER_STAFF_ROLES,
            locales=SUPPORTED_LOCALES,
        ),
        422 if errors else 200,
    )


@bp.post("/users/<int:user_id>/deactivate")
@case_manager_required
def deactivate(user_id: int) -> Any:
    try:
        user = staff.deactivate_user(current_user, user_id)
    except ValidationError as error:
        for message in error.errors.values():
            flash(message, "error")
    else:
        flash(
            _("%(name)s is deactivated; their sessions and tokens no longer work.", name=user.name)
        )
    return redirect(url_for("admin.users"), 303)
