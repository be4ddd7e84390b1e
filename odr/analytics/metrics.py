"""The operator's counters (Prometheus, `odr.metrics`): disputes lodged and actions fired.

Counted when the transaction that made them commits: the sweep fires a group of cases in one
transaction and, when the rules refuse one of them, does the group again one case at a time, so a
count made at once would count the others twice.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from odr.cases.guards import GuardContext
from odr.cases.hooks import on_fired, on_lodged
from odr.cases.models import Case
from odr.metrics import ACTIONS_FIRED, DISPUTES_LODGED, count_when_committed


def _channel() -> str:
    if not has_request_context():
        return "other"  # the demo data, the command line
    return "api" if request.path.startswith("/api/") else "web"


@on_lodged
def _count_lodged(case: Case, lodged: dict[str, Any]) -> None:
    count_when_committed(DISPUTES_LODGED.labels(channel=_channel()).inc)


@on_fired()
def _count_fired(ctx: GuardContext, action: str, before: str, data: dict[str, Any]) -> None:
    count_when_committed(ACTIONS_FIRED.labels(action=action).inc)
