"""The workspace of neutrals and the case managers' desk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from odr.cases.reading import OPEN_STATES
from odr.errors import ValidationError
from odr.i18n import LANGUAGE_NAMES
from odr.mediation import services, workspace

bp = Blueprint("workspace", __name__)


def _page(template: str, **extra: Any) -> Any:
    errors: dict[str, Any] = {}
    try:
        filters = workspace.parse_filters(request.args)
        page = workspace.workspace_page(current_user, filters)
    except ValidationError as error:
        errors = error.errors
        filters = workspace.Filters()
        page = workspace.workspace_page(current_user, filters)
    return (
        render_template(
            template,
            page=page,
            filters=filters,
            errors=errors,
            states=OPEN_STATES if current_user.role == "case_manager" else (),
            languages=LANGUAGE_NAMES,
            sorts=workspace.SORTS,
            args=request.args,
            **extra,
        ),
        422 if errors else 200,
    )


@bp.get("/workspace")
@login_required
def my_workspace() -> Any:
    if current_user.role not in ("mediator", "arbitrator"):
        abort(403)
    return _page("workspace/workspace.html")


@bp.get("/desk")
@login_required
def desk() -> Any:
    if current_user.role != "case_manager":
        abort(403)
    return _page(
        "workspace/desk.html",
        screening=workspace.screening_queue(),
        waiting=services.cases_waiting_for_a_neutral(),
        loads=workspace.neutral_loads(),
        overdue=workspace.overdue_count(),
    )
