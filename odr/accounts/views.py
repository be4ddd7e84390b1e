"""Log-in and log-out."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from odr.accounts.services import authenticate
from odr.web import safe_next

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("cases.home"))
    error = None
    if request.method == "POST":
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            log.info("failed log-in from %s", request.remote_addr)
            error = _("The e-mail address or the password is not right.")
        else:
            language = session.get("language")
            session.clear()  # a new session on log-in: nothing carried over but the language
            if language:
                session["language"] = language
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(safe_next(request.args.get("next"), url_for("cases.home")))
    return render_template("accounts/login.html", error=error), 401 if error else 200


@bp.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))
