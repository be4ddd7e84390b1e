"""Log-in, sign-up, e-mail verification, password recovery, invitations and the account page."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from odr.accounts import invitations, services, staff, tokens
from odr.accounts.audit import record_security_event_now
from odr.accounts.links import LinkError
from odr.accounts.sessions import end_session, start_session
from odr.accounts.throttle import DEVICE_COOKIE, LoginGate
from odr.errors import EmailNotConfirmed, Forbidden, ValidationError
from odr.i18n import normalise_language
from odr.limits import limited, logged_in_user, submitted_email
from odr.validation import FieldReader
from odr.web import safe_next

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)


def _log_in(user: Any, remember: bool = False) -> None:
    language, invitation = session.get("language"), session.get("invitation")
    session.clear()  # a new session on log-in: nothing carried over but these two
    if language:
        session["language"] = language
    if invitation:
        session["invitation"] = invitation  # joined only once confirmed on its page
    start_session(user, remember=remember)
    login_user(user, remember=remember)


def _landing() -> str:
    """Where a log-in or sign-up goes: back to an invitation the person opened, to confirm it
    there (it is never applied by itself), or home."""
    token = session.get("invitation")
    if token:
        try:
            invitations.read_invitation(token)
        except LinkError:  # used by someone else meanwhile, or expired
            session.pop("invitation", None)
        else:
            return url_for("accounts.invitation", token=token)
    return url_for("cases.home")


def _invited_email() -> str | None:
    """The address a pending invitation was sent to, which following it has proven."""
    token = session.get("invitation")
    if not token:
        return None
    try:
        return invitations.read_invitation(token)["email"]
    except LinkError:
        return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("cases.home"))
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        gate = LoginGate(email, request.remote_addr or "", request.cookies.get(DEVICE_COOKIE))
        wait = gate.wait()
        if wait:
            log.info("log-in delayed %d s from %s", wait, request.remote_addr)
            return _too_many_log_ins(wait)
        user = services.authenticate(email, request.form.get("password", ""))
        if user is None:
            log.info("failed log-in from %s", request.remote_addr)
            services.record_failed_login(request.form.get("email", ""))
            if gate.failed():
                services.warn_of_guessing(email)
            error = _("The e-mail address or the password is not right.")
        else:
            _log_in(user, remember=bool(request.form.get("remember")))
            response = redirect(safe_next(request.args.get("next"), _landing()))
            gate.succeeded(response)  # this browser is now one the account has used
            return response
    return render_template("accounts/login.html", error=error), 401 if error else 200


def _too_many_log_ins(wait: int) -> Any:
    """The page of a log-in that must wait: how long, and why (Retry-After says it to scripts)."""
    shown = wait if wait < 60 else 60 * math.ceil(wait / 60)  # whole minutes, never fewer
    page = render_template(
        "accounts/too_many_log_ins.html",
        wait=format_timedelta(timedelta(seconds=shown), granularity="second", threshold=1),
    )
    return page, 429, {"Retry-After": str(wait)}


@bp.post("/logout")
@login_required
def logout() -> Any:
    end_session(current_user.session_key)
    record_security_event_now("logout", user_id=current_user.id)
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
                return redirect(_landing(), 303)
            # The same answer whether or not the address had an account.
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
        ),
        422 if errors else 200,
    )


@bp.route("/account/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> Any:
    """The link shows a page; only its POST confirms, for the person who signed up: logged in as
    the account, or entering its password (throttled like a log-in)."""
    account = services.account_to_verify(token)
    mine = current_user.is_authenticated and current_user.id == account.id
    errors: dict[str, Any] = {}
    if request.method == "POST":
        gate = None
        if not mine:
            gate = LoginGate(
                account.email, request.remote_addr or "", request.cookies.get(DEVICE_COOKIE)
            )
            wait = gate.wait()
            if wait:
                return _too_many_log_ins(wait)
        try:
            user = services.verify_email(
                token,
                actor=current_user if mine else None,
                password=request.form.get("password", ""),
            )
        except ValidationError as error:
            if gate is not None:
                gate.failed()
            errors = error.errors
        else:
            if not mine:
                if current_user.is_authenticated:  # someone else's session in this browser
                    end_session(current_user.session_key)
                    logout_user()
                _log_in(user)  # a new session, so flash afterwards
            flash(_("Thank you: your e-mail address is confirmed."), "ok")
            response = redirect(_landing(), 303)
            if gate is not None:
                gate.succeeded(response)
            return response
    page = render_template("accounts/verify.html", account=account, mine=mine, errors=errors)
    return page, 422 if errors else 200


@bp.app_errorhandler(EmailNotConfirmed)
def email_not_confirmed(error: EmailNotConfirmed) -> Any:
    """Whatever an account whose address is not confirmed tried, the answer says how to confirm
    it: the page offers the link again."""
    if request.path.startswith("/api/"):
        from odr.api.auth import unconfirmed_problem

        return unconfirmed_problem()
    return render_template("accounts/verify_first.html"), 403


@bp.route("/account/verify/resend", methods=["GET", "POST"])
@login_required
@limited("RATELIMIT_RESEND", logged_in_user)
def resend_verification() -> Any:
    """GET: the page that offers a new link (where a dead link's log-in leads); POST sends it."""
    if request.method == "GET":
        if current_user.email_verified:
            flash(_("Your e-mail address is already confirmed."), "ok")
            return redirect(url_for("cases.home"))
        return render_template("accounts/verify_first.html")
    services.resend_verification(current_user)
    flash(_("We have sent the link again. Please check your mail."), "ok")
    return redirect(url_for("cases.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limited("RATELIMIT_RESET", submitted_email)
def forgot_password() -> Any:
    if request.method == "POST":
        services.request_password_reset(
            request.form.get("email", ""), language=str(get_locale() or "en")
        )
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
                if purpose == "reset_password":
                    done = _(
                        "Your new password is set; every session has ended and your API tokens "
                        "are revoked. Please log in."
                    )
                else:
                    done = _("Your new password is set. Please log in.")
                flash(done, "ok")
                return redirect(url_for("accounts.login"))
    page = render_template("accounts/reset.html", errors=errors, purpose=purpose)
    return page, 422 if errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    return _new_password_page(token, "reset_password")


@bp.route("/password/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str) -> Any:
    return _new_password_page(token, "staff_welcome")


@bp.get("/invitations/<token>")
def invitation(token: str) -> Any:
    """What the link would do: which dispute, what joining means, as which account. Opening it
    changes nothing; a log-in or sign-up comes back here to confirm."""
    invited = invitations.invitation_for(token)
    session["invitation"] = token
    return render_template("accounts/invitation.html", invited=invited, token=token)


@bp.post("/invitations/<token>")
@login_required
def join_dispute(token: str) -> Any:
    """A logged-in merchant, having seen the dispute, joins it."""
    try:
        case = invitations.accept_invitation(current_user, token)
    except EmailNotConfirmed:
        raise
    except Forbidden:  # not a merchant account: the page says so
        invited = invitations.invitation_for(token)
        return render_template("accounts/invitation.html", invited=invited, token=token), 403
    session.pop("invitation", None)
    flash(_("Dispute %(reference)s is now in your account.", reference=case.reference), "ok")
    return redirect(url_for("cases.dispute", dispute_id=case.public_id), 303)


# ---- the account page -------------------------------------------------------------------------


def _account_page(
    errors: dict[str, Any] | None = None,
    *,
    form: str = "",
    new_token: str | None = None,
    status: int | None = None,
) -> Any:
    """The account page; `form` names the form whose errors are shown (they share field names)."""
    members = staff.merchant_staff(current_user) if current_user.role == "merchant" else []
    page = render_template(
        "accounts/account.html",
        errors={form: errors or {}},
        tokens=tokens.list_tokens(current_user),
        new_token=new_token,
        scopes_allowed=tokens.token_scopes_allowed(current_user.role),
        token_days=tokens.TOKEN_DAYS,
        staff=members,
    )
    return page, status or (422 if errors else 200)


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
    flash(
        _(
            "Your password is changed; your other sessions have ended and your API tokens "
            "are revoked."
        ),
        "ok",
    )
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
        _token, plain = tokens.create_token(
            current_user,
            name=request.form.get("name", "").strip(),
            scopes=request.form.getlist("scopes"),
            expires_at=expires_at,
        )
    except EmailNotConfirmed:
        message = _(
            "Confirm your e-mail address before making an API token: follow the link we sent "
            "you, or ask for a new one."
        )
        return _account_page({"name": message}, form="token", status=403)
    except ValidationError as error:
        errors = dict(error.errors)
        if "expires_at" in errors:  # the form asks for a day
            errors["expires_on"] = errors.pop("expires_at")
        return _account_page(errors, form="token")
    return _account_page(new_token=plain)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    tokens.revoke_token(current_user, token_id)
    flash(_("The token is revoked."), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/staff")
@login_required
@limited("RATELIMIT_STAFF", logged_in_user)
def add_staff() -> Any:
    fields = {key: request.form.get(key, "") for key in ("name", "email", "language")}
    try:
        staff.add_merchant_staff(current_user, fields)
    except ValidationError as error:
        return _account_page(error.errors, form="staff")
    # The same whether or not the address had an account (it then got a notice instead).
    flash(_("We have sent an invitation to %(email)s.", email=fields["email"]), "ok")
    return redirect(url_for("accounts.account"), 303)


@bp.post("/account/staff/<int:user_id>/deactivate")
@login_required
def deactivate_staff(user_id: int) -> Any:
    staff.deactivate_user(current_user, user_id)
    flash(_("The account is deactivated."), "ok")
    return redirect(url_for("accounts.account"), 303)
