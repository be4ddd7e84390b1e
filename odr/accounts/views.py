"""Log-in, sign-up, e-mail verification, password recovery, invitations and the account page."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import available_timezones

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from odr.accounts import services
from odr.accounts.links import LinkError
from odr.accounts.sessions import end_session, start_session
from odr.errors import Forbidden, ValidationError
from odr.i18n import normalise_language
from odr.limits import limited, logged_in_user, submitted_email
from odr.validation import COUNTRIES, FieldReader
from odr.web import safe_next

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)
TIMEZONES = sorted(available_timezones())


def _log_in(user: Any, remember: bool = False) -> None:
    language, invitation = session.get("language"), session.get("invitation")
    session.clear()  # a new session on log-in: nothing carried over but these two
    if language:
        session["language"] = language
    start_session(user, remember=remember)
    login_user(user, remember=remember)
    if invitation:
        _accept_invitation(user, invitation)


def _accept_invitation(user: Any, token: str) -> None:
    try:
        case = services.accept_invitation(user, token)
    except LinkError:
        flash(
            _("The invitation link could not be used. Ask the ODR service for a new one."), "error"
        )
    except Forbidden:
        flash(_("Only a merchant account can answer a dispute."), "error")
    else:
        flash(_("Dispute %(reference)s is now in your account.", reference=case.reference), "ok")
    session.pop("invitation", None)


def _invited_email() -> str | None:
    """The address a pending invitation was sent to, which following it has proven."""
    token = session.get("invitation")
    if not token:
        return None
    try:
        return services.read_invitation(token)["email"]
    except LinkError:
        return None


@bp.route("/login", methods=["GET", "POST"])
@limited("RATELIMIT_LOGIN", submitted_email)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("cases.home"))
    error = None
    if request.method == "POST":
        user = services.authenticate(
            request.form.get("email", ""), request.form.get("password", "")
        )
        if user is None:
            log.info("failed log-in from %s", request.remote_addr)
            error = _("The e-mail address or the password is not right.")
        else:
            _log_in(user, remember=bool(request.form.get("remember")))
            return redirect(safe_next(request.args.get("next"), url_for("cases.home")))
    return render_template("accounts/login.html", error=error), 401 if error else 200


@bp.post("/logout")
@login_required
def logout() -> Any:
    end_session(current_user.session_key)
    session.clear()
    logout_user()  # after clearing: it leaves the order to delete the remember cookie
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/signup", methods=["GET", "POST"])
@limited("RATELIMIT_SIGNUP", submitted_email)
def signup() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("cases.home"))
    errors: dict[str, Any] = {}
    form = request.form
    if request.method == "POST":
        fields = {key: form.get(key, "") for key in ("name", "email", "country", "language")}
        fields |= {
            "timezone": form.get("timezone") or "UTC",
            "role": form.get("role", ""),
            "password": form.get("password", ""),
            "terms": form.get("terms") == "yes",
        }
        try:
            user = services.sign_up(fields, proven_email=_invited_email())
        except ValidationError as error:
            errors = error.errors
        else:
            if user is not None and user.email_verified:  # the invitation link proved it
                _log_in(user)
                return redirect(url_for("cases.home"), 303)
            # The same answer whether or not the address had an account: following the
            # verification link from this browser then logs the new account in.
            session["pending_signup"] = _signup_marker(fields["email"])
            chosen = normalise_language(fields["language"])
            if chosen:
                session["language"] = chosen  # the next pages in the language just chosen
            return render_template("accounts/check_mail.html", email=fields["email"])
    defaults = {
        "role": request.args.get("role", "consumer"),
        "email": request.args.get("email", ""),
    }
    return (
        render_template(
            "accounts/signup.html",
            errors=errors,
            form=form if request.method == "POST" else defaults,
            countries=sorted(COUNTRIES),
            timezones=TIMEZONES,
        ),
        422 if errors else 200,
    )


def _signup_marker(email: str) -> str:
    return hmac.new(
        current_app.config["SECRET_KEY"].encode(), email.strip().lower().encode(), "sha256"
    ).hexdigest()


@bp.get("/account/verify/<token>")
def verify_email(token: str) -> Any:
    user = services.verify_email(token)
    if not current_user.is_authenticated and session.get("pending_signup") == _signup_marker(
        user.email
    ):
        _log_in(user)  # the browser that signed up; a new session, so flash afterwards
    flash(_("Thank you: your e-mail address is confirmed."), "ok")
    return redirect(url_for("cases.home"))


@bp.post("/account/verify/resend")
@login_required
@limited("RATELIMIT_RESEND", logged_in_user)
def resend_verification() -> Any:
    services.resend_verification(current_user)
    flash(_("We have sent the link again. Please check your mail."), "ok")
    return redirect(url_for("cases.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limited("RATELIMIT_RESET", submitted_email)
def forgot_password() -> Any:
    if request.method == "POST":
        services.request_password_reset(request.form.get("email", ""))
        return render_template("accounts/check_mail.html", email=request.form.get("email", ""))
    return render_template("accounts/forgot.html")


def _new_password_page(token: str, purpose: str) -> Any:
    services.check_reset_link(token, purpose)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        password = request.form.get("new_password", "")
        if password != request.form.get("confirm_password", ""):
            errors = {"confirm_password": _("The two passwords are not the same.")}
        else:
            try:
                services.reset_password(token, password, purpose)
            except ValidationError as error:
                errors = error.errors
            else:
                flash(_("Your new password is set. Please log in."), "ok")
                return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", errors=errors), 422 if errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    return _new_password_page(token, "reset_password")


@bp.route("/password/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str) -> Any:
    return _new_password_page(token, "staff_welcome")


@bp.get("/invitations/<token>")
def invitation(token: str) -> Any:
    payload = services.read_invitation(token)
    if current_user.is_authenticated and current_user.role == "merchant":
        _accept_invitation(current_user, token)
        return redirect(url_for("cases.home"))
    session["invitation"] = token
    return render_template("accounts/invitation.html", email=payload["email"])


# ---- the account page -------------------------------------------------------------------------


def _account_page(
    errors: dict[str, Any] | None = None, *, form: str = "", new_token: str | None = None
) -> Any:
    """The account page; `form` names the form whose errors are shown (they share field names)."""
    staff = services.merchant_staff(current_user) if current_user.role == "merchant" else []
    page = render_template(
        "accounts/account.html",
        errors={form: errors or {}},
        tokens=services.list_tokens(current_user),
        new_token=new_token,
        staff=staff,
    )
    return page, 422 if errors else 200


@bp.get("/account")
@login_required
def account() -> Any:
    return _account_page()


@bp.post("/account/password")
@login_required
def change_password() -> Any:
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return _account_page(
            {"confirm_password": _("The two passwords are not the same.")}, form="password"
        )
    try:
        services.change_password(current_user, request.form.get("password", ""), new)
    except ValidationError as error:
        return _account_page(error.errors, form="password")
    flash(_("Your password is changed; your other sessions have ended."), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/email")
@login_required
def change_email() -> Any:
    try:
        services.request_email_change(
            current_user, request.form.get("password", ""), request.form.get("new_email", "")
        )
    except ValidationError as error:
        return _account_page(error.errors, form="email")
    flash(_("We have sent a link to the new address. Follow it to complete the change."), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.get("/account/email/confirm/<token>")
def confirm_email_change(token: str) -> Any:
    services.confirm_email_change(token)
    flash(_("Your e-mail address is changed."), "ok")
    return redirect(url_for("cases.home"))


@bp.post("/account/tokens")
@login_required
def create_token() -> Any:
    reader = FieldReader()
    day = reader.date(request.form, "expires_on", "expires_on", required=False, past=False)
    if reader.errors:
        return _account_page(reader.errors, form="token")
    expires_at = datetime.combine(day, time.max, tzinfo=UTC) if day else None
    try:
        _token, plain = services.create_token(
            current_user, name=request.form.get("name", "").strip(), expires_at=expires_at
        )
    except ValidationError as error:
        return _account_page(error.errors, form="token")
    return _account_page(new_token=plain)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    services.revoke_token(current_user, token_id)
    flash(_("The token is revoked."), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/staff")
@login_required
def add_staff() -> Any:
    fields = {key: request.form.get(key, "") for key in ("name", "email", "language")}
    try:
        services.add_merchant_staff(current_user, fields)
    except ValidationError as error:
        return _account_page(error.errors, form="staff")
    flash(_("We have sent %(email)s a link to choose a password.", email=fields["email"]), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/staff/<int:user_id>/deactivate")
@login_required
def deactivate_staff(user_id: int) -> Any:
    services.deactivate_user(current_user, user_id)
    flash(_("The account is deactivated."), "ok")
    return redirect(url_for("accounts.account"), 303)
