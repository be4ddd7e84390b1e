"""Prometheus metrics: what is counted, and how the counts of several processes add up.

Counted where it happens: requests by route (the URL rule, never the path), method and status,
with their latency (`odr.health`); disputes lodged and actions fired, once their transaction
commits (`odr.analytics.metrics`, listening to the case core); the sweep's duration and the cases
it fired (`observe_sweep`, called by the worker's periodic task and `flask odr sweep`); the time a
PDF takes to render (`odr.documents.services.render_one`). Read from the database when scraped:
the outbox's depth and the age of its oldest undelivered message, and the dead webhooks
(`OutboxCollector`, two indexed queries).

Several processes (gunicorn workers, the Huey worker) each count in files of their own under
`PROMETHEUS_MULTIPROC_DIR` when it is set, and a scrape adds them up (`MultiProcessCollector`);
without it a process counts in memory and reports its own counts. prometheus_client reads the
variable when it is first imported, so it must be set before the app is imported.

gunicorn: its config must, before any worker starts and before the app is imported, point
`PROMETHEUS_MULTIPROC_DIR` at an empty directory (`prepare_multiprocess_dir(path)` of
`odr.metrics_setup`, at the top of the config file, in the master), and call
`odr.metrics_setup.gunicorn_child_exit(server, worker)` from its `child_exit` hook, so the gauges
of a dead worker are dropped. The Huey worker on the same host shares the directory to have its
sweeps and renders counted. Each host is scraped on its own; Prometheus adds the hosts up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

# A process started beside gunicorn (the CLI, the Huey worker) may come before its master has made
# the directory; prometheus_client would fail on creating the first metric below.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402 (after the directory exists)
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from odr import clock
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from odr.metrics_setup import MULTIPROC_DIR

REQUESTS = Counter(
    "odr_http_requests",
    "HTTP requests answered, by route (the URL rule), method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "odr_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method",
    ["route", "method"],
)
DISPUTES_LODGED = Counter(
    "odr_disputes_lodged", "Disputes lodged, by channel (web, api, other)", ["channel"]
)
ACTIONS_FIRED = Counter(
    "odr_actions_fired", "Workflow actions fired (by people and the sweep), by action", ["action"]
)
SWEEP_SECONDS = Histogram(
    "odr_sweep_duration_seconds",
    "Time one sweep took",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600),
)
SWEEP_CASES_FIRED = Counter(
    "odr_sweep_cases_fired", "Cases whose passed deadline a sweep acted on (timeouts, reminders)"
)
PDF_RENDER_SECONDS = Histogram(
    "odr_pdf_render_duration_seconds",
    "Time to render one document's PDF, by kind",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)


def observe_sweep(sweep: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one sweep, counting its time and the cases it fired."""
    started = time.perf_counter()
    result = sweep()
    SWEEP_SECONDS.observe(time.perf_counter() - started)
    SWEEP_CASES_FIRED.inc(result.get("timeouts", 0))
    return result


# ---- counts that wait for their transaction ------------------------------------------------------

_PENDING = "metrics_pending"


def count_when_committed(increment: Callable[[], None], session: Any = None) -> None:
    """Count once the session's transaction commits; never if it (or the savepoint it was made
    in) rolls back, as when the sweep does a group of cases again one by one."""
    session = session or db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        increment()
        return
    session.info.setdefault(_PENDING, []).append((transaction, increment))


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for _transaction, increment in session.info.pop(_PENDING, ()):
        increment()


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending[:] = [item for item in pending if not _within(item[0], previous)]


# ---- what a scrape reads -------------------------------------------------------------------------


class OutboxCollector:
    """The outbox as it is now: depth, age of the oldest undelivered message, dead webhooks."""

    def collect(self) -> Iterator[Metric]:
        waiting, oldest = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(OutboxMessage.created_at)).where(
                OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_(None)
            )
        ).one()
        dead = db.session.scalar(
            sa.select(sa.func.count()).where(
                OutboxMessage.dead_at.is_not(None), OutboxMessage.kind == "webhook"
            )
        )
        db.session.rollback()
        age = (clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "odr_outbox_depth", "Outbox messages neither delivered nor dead", value=waiting
        )
        yield GaugeMetricFamily(
            "odr_outbox_oldest_age_seconds",
            "Age of the oldest outbox message neither delivered nor dead (0 when none)",
            value=max(age, 0.0),
        )
        yield GaugeMetricFamily(
            "odr_webhooks_dead", "Webhook messages given up on (dead), not retried", value=dead
        )


def exposition() -> bytes:
    """The text a scrape gets: every process's counts, then the outbox read now."""
    if os.environ.get(MULTIPROC_DIR):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    outbox = CollectorRegistry(auto_describe=False)
    outbox.register(OutboxCollector())
    return generate_latest(counted) + generate_latest(outbox)
