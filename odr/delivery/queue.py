"""The Huey queue: SQLite storage in the embedded default, Redis when `ODR_QUEUE_URL` is set.

Task decorators need the queue at import time, so it is configured from the same environment
variables as `odr.config`; `create_app` switches it to immediate mode for tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab

from odr.config import load_config

log = logging.getLogger(__name__)


def _make_huey() -> Huey:
    settings = load_config()
    if settings["QUEUE_URL"]:
        return RedisHuey("odr", url=settings["QUEUE_URL"])
    path = Path(settings["QUEUE_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("odr", filename=str(path))


huey = _make_huey()
_worker_app: Flask | None = None


@contextmanager
def app_context() -> Iterator[Flask]:
    """The current app inside a request (immediate mode), else the worker's own app."""
    global _worker_app
    if has_app_context():
        yield current_app._get_current_object()
        return
    if _worker_app is None:
        from odr import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        yield _worker_app


@huey.task()
def deliver_outbox_task() -> int:
    from odr.delivery.services import deliver_due

    with app_context():
        return deliver_due()


@huey.task()
def render_documents_task() -> int:
    from odr.documents.services import render_due

    with app_context():
        return render_due()


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("odr-sweep")
def sweep_task() -> None:
    from odr.sweep import sweep

    with app_context():
        sweep()


def schedule_delivery() -> None:
    """Ask the queue to deliver the outbox now; the sweep delivers anything a failure leaves."""
    try:
        deliver_outbox_task()
    except Exception:  # the outbox row stays due; the next sweep delivers it
        log.exception("could not enqueue outbox delivery")


def schedule_rendering() -> None:
    """Ask the queue to render pending documents now; the sweep renders anything left."""
    try:
        render_documents_task()
    except Exception:  # the document stays pending; the next sweep renders it
        log.exception("could not enqueue document rendering")
