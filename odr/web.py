"""What every page shares: template helpers, error pages, security headers, the language switch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from odr import clock, field_labels, i18n, pickers
from odr.accounts.links import LinkError
from odr.cases import labels, performance
from odr.config import SUPPORTED_LOCALES
from odr.errors import DomainError
from odr.referrals.progress import progress_label
from odr.workflow import get_workflow

bp = Blueprint("web", __name__)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)


def safe_next(target: str | None, default: str) -> str:
    """Only a path of this site: never an open redirect.

    Browsers drop tabs and line breaks from a URL and read `\\` as `/`, so `/\t/evil.example`
    and `/\\evil.example` both lead to another host: any control, space or backslash is refused,
    and so is anything that does not start with one `/` followed by a plain character.
    """
    if not target or len(target) > 2000:
        return default
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.post("/language")
def switch_language() -> Any:
    chosen = request.form.get("language", "")
    if chosen in SUPPORTED_LOCALES:
        session["language"] = chosen
        if current_user.is_authenticated:
            from odr.accounts.services import set_language

            set_language(current_user, chosen)
    return redirect(safe_next(request.form.get("next"), url_for("cases.home")))


def state_label(state: str) -> str:
    return str(get_workflow("dispute").states[state]["label"])


def action_label(action: str) -> str:
    return str(get_workflow("dispute").actions[action]["label"])


def event_label(kind: str) -> str:
    if kind in labels.EVENT_LABELS:
        return str(labels.EVENT_LABELS[kind])
    return action_label(kind)


def _keep_error_headers(response: Response, error: HTTPException) -> Response:
    """The headers the error carries on the page that tells it: `Allow` on a 405 (RFC 9110)."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    from odr.documents.codes import display_code

    app.register_blueprint(bp)
    app.jinja_env.filters.update(
        money=i18n.format_money,
        country=i18n.country_name,
        language=i18n.language_name,
        datetime=i18n.format_time,
        date=i18n.format_day,
        countdown=i18n.format_countdown,
        perform_by=performance.deadline_text,  # {{ due|perform_by(zone) }}
        perform_by_here=performance.in_viewers_zone,
        moment=performance.moment_text,  # {{ at|moment(zone) }}: an instant where one lives
        party_label=lambda party: str(labels.PARTY_LABELS.get(party, party)),
        state_label=state_label,
        progress_label=progress_label,  # a partner's reported `status`
        action_label=action_label,
        verification_code=display_code,
        translated=lambda labels: {key: str(label) for key, label in labels.items()},
        currency_label=pickers.currency_label,  # "EUR — Euro"
    )
    app.jinja_env.globals.update(
        supported_locales=SUPPORTED_LOCALES,
        language_names=i18n.LANGUAGE_NAMES,
        category_labels=labels.CATEGORY_LABELS,
        remedy_labels=labels.REMEDY_LABELS,
        flag_labels=labels.FLAG_LABELS,
        foreign_law_notes=labels.FOREIGN_LAW_NOTES,
        outcome_labels=labels.OUTCOME_LABELS,
        referral_status_labels=labels.REFERRAL_STATUS_LABELS,
        portal_status_labels=labels.PORTAL_STATUS_LABELS,
        offer_status_labels=labels.OFFER_STATUS_LABELS,
        party_labels=labels.PARTY_LABELS,
        role_labels=labels.ROLE_LABELS,
        channel_labels=labels.CHANNEL_LABELS,
        answer_labels=labels.ANSWER_LABELS,
        document_kind_labels=labels.DOCUMENT_KIND_LABELS,
        event_label=event_label,
        pickers=pickers,  # countries, languages, time zones named in the page's language
        form_labels=field_labels,  # a form's field labels, for its error summary
        error_problems=field_labels.problems,
    )

    @app.context_processor
    def page_context() -> dict[str, Any]:
        from flask_babel import get_locale

        unread = 0
        if has_request_context() and current_user.is_authenticated:
            from odr.delivery.services import unread_count

            unread = unread_count(current_user)
        return {
            "current_locale": str(get_locale() or "en"),
            "unread_notices": unread,
            "now": clock.now(),
        }

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Browsers ignore HSTS over plain http (RFC 6797 8.1), so it can always be sent.
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            # Pages hold personal data, CSRF tokens or link tokens: no cache keeps them.
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        return response

    @app.errorhandler(DomainError)
    def domain_error_page(error: DomainError) -> Any:
        if request.path.startswith("/api/"):
            from odr.api.problems import problem_for

            return problem_for(error)
        titles = {
            403: _("You may not do that on this dispute."),
            404: _("We could not find that page."),
            409: _("That is not possible at this stage of the dispute."),
            412: _("The dispute changed while you were looking at it. Please try again."),
        }
        title = titles.get(error.status, _("Please check what you entered."))
        return render_template("error.html", title=title, status=error.status), error.status

    @app.errorhandler(LinkError)
    def link_error_page(error: LinkError) -> Any:
        """A dead link's page offers the next step that fits what the link was for."""
        from odr.accounts.link_help import link_help

        token = (request.view_args or {}).get("token")
        next_step = link_help(error, request.path, token, current_user)
        if next_step.already_confirmed:  # the viewer's own old link: not an error
            message = _("Your e-mail address is already confirmed.")
            return render_template("accounts/link_error.html", message=message, step=next_step)
        messages = {
            "expired": _("This link has expired."),
            "used": _("This link has already been used."),
            "invalid": _("This link is not valid. Check that you copied all of it."),
        }
        return (
            render_template(
                "accounts/link_error.html", message=messages[error.reason], step=next_step
            ),
            400,
        )

    @app.errorhandler(HTTPException)
    def http_error_page(error: HTTPException) -> Any:
        titles = {
            400: _("Something in that request was not right. Please try again."),
            404: _("We could not find that page."),
            405: _("We could not find that page."),
            413: _("That upload is too large."),
            429: _("Too many attempts. Please wait a little and try again."),
        }
        if request.path.startswith("/api/"):
            from odr.api.problems import problem

            title = titles[429] if error.code == 429 else error.name
            problem_response = problem(error.code or 500, title, error.description or "")
            return _keep_error_headers(problem_response, error)
        if error.code == 400 and "CSRF" in (error.description or ""):
            flash(_("Your form had expired. Please try again."), "error")
        title = titles.get(error.code, _("Something went wrong on our side. Please try again."))
        page = make_response(render_template("error.html", title=title, status=error.code))
        page.status_code = error.code or 500
        return _keep_error_headers(page, error)
