"""The notices page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from odr.delivery.services import list_notices, mark_notices_read

bp = Blueprint("notices", __name__)


@bp.get("/notices")
@login_required
def notices() -> Any:
    return render_template("notices/list.html", notices=list_notices(current_user))


@bp.post("/notices/read")
@login_required
def mark_read() -> Any:
    notice = request.form.get("notice", "")
    mark_notices_read(current_user, int(notice) if notice.isdigit() else None)
    return redirect(url_for("notices.notices"), 303)
