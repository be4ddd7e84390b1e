"""Nothing typed into the lodging form is lost: a draft per account, and a stash for a browser
whose session ended while the person was typing.

A draft is kept server side, one per account, for `DRAFT_LIFE`: saved by the form's "Save draft"
button and by `static/drafts.js` a few seconds after typing stops, filled back into the form when
it is opened, deleted when the dispute is lodged or the person discards it.

A lodging form (or a draft) posted after the session ended would be lost to the log-in redirect.
`keeps_typing` runs before `login_required`: it keeps the fields under a random key for
`STASH_LIFE`, gives the browser a signed cookie holding only that key, and sends the person to log
in; the log-in (Flask-Login's `user_logged_in` signal) turns the stash into that account's draft,
and the form opens with the text. A stash is claimed only by the account whose session had ended
when the browser still says which (its signed session cookie), and only by an account that lodges.

Only the lodging form's own fields are kept (`DRAFT_FIELDS`: never a password or a token), at most
`MAX_DRAFT_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from babel.dates import format_skeleton
from flask import (
    after_this_request,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, user_logged_in
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict

from odr import clock
from odr.cases.forms import ITEM_ROWS
from odr.db import UTCDateTime, write_transaction
from odr.errors import ValidationError
from odr.extensions import csrf, db
from odr.limits import limiter

DRAFT_LIFE = timedelta(days=30)
STASH_LIFE = timedelta(hours=2)
MAX_DRAFT_BYTES = 64 * 1024
STASH_COOKIE = "odr_lodging_stash"

_PARTY = ("name", "email", "country", "language", "address")
# Fields whose value is picked from a list or a box ticked: a form holding only these (their
# defaults) has nothing typed worth keeping.
CHOICE_FIELDS = frozenset(
    {
        "order.total.currency",
        "claim.category",
        "claim.remedy",
        "claim.amount.currency",
        "law.consumer_chose_merchant_law",
        "law.merchant_targets_consumer_country",
        "language",
        "arbitration_consent",
        "transfer_consent",
    }
)
DRAFT_FIELDS = CHOICE_FIELDS | frozenset(
    [f"claimant.{name}" for name in _PARTY]
    + [f"respondent.{name}" for name in (*_PARTY, "website")]
    + ["order.platform", "order.reference", "order.ordered_on", "order.delivered_on"]
    + ["order.total.amount", "claim.description", "claim.amount.amount"]
    + [
        f"order.items.{row}.{name}"
        for row in range(ITEM_ROWS)
        for name in ("description", "quantity")
    ]
)

TOO_LARGE = _l(
    "This draft is too large to keep: at most %(size)s of text. Shorten the longest fields and "
    "save again.",
    size="64 KB",
)


class DraftTooLarge(ValidationError):
    status = 413

    def __init__(self) -> None:
        super().__init__({"draft": TOO_LARGE})


class LodgingDraft(db.Model):
    """What an account has typed into the lodging form and not yet lodged."""

    __tablename__ = "lodging_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    fields: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    def form(self) -> MultiDict:
        """The fields as the lodging template reads a posted form."""
        return MultiDict(self.fields)


class LodgingStash(db.Model):
    """A lodging form posted by a browser whose session had ended, until a log-in claims it."""

    __tablename__ = "lodging_stashes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The account whose session had ended, when the browser's session cookie still named it.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    fields: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


# ---- the store -------------------------------------------------------------------------------


def draft_fields(form: MultiDict) -> dict[str, str]:
    """The lodging form's own fields that hold something; anything else posted is dropped."""
    return {name: form[name] for name in sorted(DRAFT_FIELDS) if form.get(name, "").strip()}


def _checked(fields: dict[str, str]) -> dict[str, str]:
    if len(json.dumps(fields, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
        raise DraftTooLarge()
    return fields


def _worth_keeping(fields: dict[str, str]) -> bool:
    return any(name not in CHOICE_FIELDS for name in fields)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def draft_of(user: Any) -> LodgingDraft | None:
    """The account's draft, unless it is older than `DRAFT_LIFE` (the sweep deletes those)."""
    return db.session.scalar(
        sa.select(LodgingDraft).where(
            LodgingDraft.user_id == user.id, LodgingDraft.updated_at > clock.now() - DRAFT_LIFE
        )
    )


def _upsert_draft(user_id: int, fields: dict[str, str]) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(LodgingDraft)
    values = {"fields": fields, "updated_at": clock.now()}
    db.session.execute(
        insert.values(user_id=user_id, **values).on_conflict_do_update(
            index_elements=[LodgingDraft.user_id], set_=values
        )
    )


def save_draft(user: Any, form: MultiDict) -> LodgingDraft | None:
    """Keep what the form holds as the account's draft; a form with nothing typed in it deletes
    the draft instead. Raises `DraftTooLarge` beyond `MAX_DRAFT_BYTES`."""
    fields = _checked(draft_fields(form))
    with write_transaction(db.session):
        if _worth_keeping(fields):
            _upsert_draft(user.id, fields)
        else:
            db.session.execute(sa.delete(LodgingDraft).where(LodgingDraft.user_id == user.id))
    return draft_of(user)


def discard_draft(user: Any) -> None:
    with write_transaction(db.session):
        db.session.execute(sa.delete(LodgingDraft).where(LodgingDraft.user_id == user.id))


def stash(form: MultiDict, *, former_user_id: int | None, key: str | None = None) -> str | None:
    """Keep a logged-out browser's form under a random key (the same one again if the browser
    already has a stash); the key, or None when there is nothing typed worth keeping."""
    fields = _checked(draft_fields(form))
    if not _worth_keeping(fields):
        return None
    key = key or secrets.token_urlsafe(32)
    with write_transaction(db.session):
        db.session.execute(sa.delete(LodgingStash).where(LodgingStash.key_hash == _hash(key)))
        db.session.add(LodgingStash(key_hash=_hash(key), user_id=former_user_id, fields=fields))
    return key


def claim_stash(user: Any, key: str) -> bool | None:
    """Make a browser's stash the draft of the account that has just logged in there.

    True when claimed; False when it stays for the account whose session had ended (another
    account logged in, or one that does not lodge); None when there is no such stash (expired).
    """
    with write_transaction(db.session):
        found = db.session.scalar(
            sa.select(LodgingStash).where(
                LodgingStash.key_hash == _hash(key),
                LodgingStash.created_at > clock.now() - STASH_LIFE,
            )
        )
        if found is None:
            return None
        if found.user_id not in (None, user.id) or user.role not in ("consumer", "platform"):
            return False
        _upsert_draft(user.id, found.fields)
        db.session.delete(found)
    return True


def purge_expired_drafts() -> int:
    """Delete drafts and stashes past their life; run by the sweep."""
    now = clock.now()
    with write_transaction(db.session):
        drafts = db.session.execute(
            sa.delete(LodgingDraft).where(LodgingDraft.updated_at <= now - DRAFT_LIFE)
        )
        stashes = db.session.execute(
            sa.delete(LodgingStash).where(LodgingStash.created_at <= now - STASH_LIFE)
        )
    return drafts.rowcount + stashes.rowcount


# ---- the browser's side ----------------------------------------------------------------------


def _cookies() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="odr-lodging-stash")


def _stash_key() -> str | None:
    cookie = request.cookies.get(STASH_COOKIE)
    if not cookie:
        return None
    try:
        return _cookies().loads(cookie, max_age=int(STASH_LIFE.total_seconds()))
    except BadSignature:  # tampered, or older than the stash
        return None


def _forget_stash_cookie(response: Any) -> Any:
    response.delete_cookie(STASH_COOKIE, path="/")
    return response


def _former_user_id() -> int | None:
    """The account this browser was logged in as, by its signed session cookie, if it says."""
    user_id, _, _key = str(session.get("_user_id") or "").partition(":")
    return int(user_id) if user_id.isdigit() else None


def from_this_site() -> bool:
    """Whether the browser says the request comes from a page of this site: by Fetch Metadata,
    or else by the Origin header. Browsers set both themselves; another site's page cannot."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin", "")
    ours = {request.host_url, current_app.config["BASE_URL"]}
    return bool(origin) and origin in {
        f"{parts.scheme}://{parts.netloc}" for parts in map(urlsplit, ours)
    }


def _csrf_error() -> CSRFError | None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    try:
        csrf.protect()
    except CSRFError as error:
        return error
    return None


def wants_json() -> bool:
    """A request of `drafts.js` (autosave), not a form the browser submits."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _keep_for_log_in() -> Any:
    """A POST whose session has ended: keep what it holds for this browser, then log in.

    The CSRF token of a session that ended on the server still matches the browser's session
    cookie; a browser that lost that cookie is believed when it says the form is one of our pages
    (`from_this_site`). Anything else could be another site planting text into the next lodging,
    and gets the plain log-in redirect. A stash only stores text for the same browser and only
    a log-in there makes it a draft, never a lodged dispute.
    """
    ended = _(
        "Your session had ended, so nothing was sent yet. What you typed is kept: log in again "
        "and it will be back in the form."
    )
    key = None
    if _csrf_error() is None or from_this_site():
        try:
            key = stash(request.form, former_user_id=_former_user_id(), key=_stash_key())
        except DraftTooLarge:
            key = None
    if key is None:
        if wants_json():
            return jsonify(message=_("Your session has ended. Log in again to go on.")), 401
        return current_app.login_manager.unauthorized()
    if wants_json():
        response = jsonify(message=ended)
        response.status_code = 401
    else:
        flash(ended, "warn")
        response = redirect(url_for("accounts.login", next=url_for("cases.lodge")), 303)
    response.set_cookie(
        STASH_COOKIE,
        _cookies().dumps(key),
        max_age=int(STASH_LIFE.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _keep_after_expired_page() -> Any:
    """A logged-in POST whose CSRF token no longer matches (the person logged in again in
    another tab): from a page of ours, what it holds becomes the draft and the form shows it
    again, nothing lodged; from anywhere else, the usual refusal."""
    error = _csrf_error()
    if error is None:
        return None
    if not from_this_site() or current_user.role not in ("consumer", "platform"):
        raise error
    try:
        save_draft(current_user, request.form)
    except DraftTooLarge:
        raise error from None
    if wants_json():
        return draft_saved_answer()
    return redirect(url_for("cases.lodge", draft="kept"), 303)


def keeps_typing(view: Callable) -> Callable:
    """For the lodging form's POSTs, above `login_required` on a view exempt from the global
    CSRF check: keeps the text of a browser whose session ended (`_keep_for_log_in`), and checks
    CSRF for everyone else (`_keep_after_expired_page`)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            if not current_user.is_authenticated:
                return _keep_for_log_in()
            answer = _keep_after_expired_page()
            if answer is not None:
                return answer
        return view(*args, **kwargs)

    return wrapped


def limit_stashes(view: Callable) -> Callable:
    """Logged-out browsers have the lodging limit of their address here too; the autosave of a
    logged-in person is not limited."""
    return limiter.limit(
        lambda: current_app.config["RATELIMIT_LODGE"],
        methods=["POST"],
        scope="RATELIMIT_LODGE:draft-stash",
        exempt_when=lambda: current_user.is_authenticated,
    )(view)


def draft_saved_answer() -> Any:
    """What `drafts.js` shows after an autosave, in the person's language and time zone."""
    draft = draft_of(current_user)
    if draft is None:
        return jsonify(message="")
    # Hours and minutes in 24 hours, as `odr.i18n.format_time` writes every moment.
    when = format_skeleton("Hm", draft.updated_at.astimezone(get_timezone()), locale=get_locale())
    message = _("Draft saved at %(time)s", time=when)
    return jsonify(saved_at=draft.updated_at.isoformat(), message=message)


def _claim_on_log_in(sender: Any, user: Any, **extra: Any) -> None:
    if not has_request_context():
        return
    key = _stash_key()
    if key is None:
        return
    claimed = claim_stash(user, key)
    if claimed is False:
        return  # it stays for the account whose session had ended
    after_this_request(_forget_stash_cookie)
    if claimed:
        flash(_("What you typed before your session ended is kept as your draft."), "ok")


user_logged_in.connect(_claim_on_log_in)
