"""The queue's tasks: what a worker process runs, each inside the application.

An entry point like the web server: it may use any capability, and nothing imports it but the
app factory, which registers the tasks with the queue (`odr.queue.TASKS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context
from huey import crontab

from odr.delivery.services import deliver_due
from odr.documents.services import render_due
from odr.logs import bound_request_id
from odr.metrics import observe_sweep
from odr.queue import TASKS, huey
from odr.sweep import sweep

_worker_app: Flask | None = None


def serve(app: Flask) -> None:
    """Run this process's tasks in `app` (`flask odr worker` calls it before consuming)."""
    global _worker_app
    _worker_app = app


@contextmanager
def app_context() -> Iterator[Flask]:
    """The current app inside a request (immediate mode), else the worker's own app."""
    if has_app_context():
        yield current_app._get_current_object()
        return
    if _worker_app is None:
        raise RuntimeError("tasks run in `flask odr worker`, which names their application")
    with _worker_app.app_context():
        yield _worker_app


@huey.task()
def deliver_outbox_task(request_id: str | None = None) -> int:
    """`request_id`: of the request that asked, on the task's log lines."""
    with bound_request_id(request_id), app_context():
        return deliver_due()


@huey.task()
def render_documents_task(request_id: str | None = None) -> int:
    with bound_request_id(request_id), app_context():
        return render_due()


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("odr-sweep")
def sweep_task() -> None:
    with bound_request_id(None), app_context():  # an id of its own for the sweep's lines
        observe_sweep(sweep)


TASKS.update(deliver_outbox=deliver_outbox_task, render_documents=render_documents_task)
