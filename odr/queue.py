"""The Huey queue: SQLite storage in the embedded default, Redis when `ODR_QUEUE_URL` is set.

Task decorators need the queue at import time, so it is configured from the same environment
variables as `odr.config`; `create_app` switches it to immediate mode for tests. The tasks
themselves are in `odr/worker.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.storage import SqliteStorage

from odr.config import load_config
from odr.logs import current_request_id

log = logging.getLogger(__name__)


class NudgeStorage(SqliteStorage):
    """Huey's SQLite storage with `synchronous=NORMAL` instead of FULL: no fsync a task.

    Every task here is a nudge to do what the database already records as due (deliver the
    outbox, render pending documents); a task lost with the last moments before a power cut is
    done by the next sweep. In WAL mode NORMAL keeps the file consistent; it only may forget the
    latest commits, and it spares each request that schedules work a disk flush.
    """

    def _create_connection(self) -> Any:
        connection = super()._create_connection()
        connection.execute("pragma synchronous=1")
        return connection


class NudgeHuey(SqliteHuey):
    storage_class = NudgeStorage


def _make_huey() -> Huey:
    settings = load_config()
    if settings["QUEUE_URL"]:
        return RedisHuey("odr", url=settings["QUEUE_URL"])
    path = Path(settings["QUEUE_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return NudgeHuey("odr", filename=str(path))


huey = _make_huey()
# What the queue runs, by what it does: `odr/worker.py` defines each task and registers it here,
# so that the code asking for work never imports the code that does it.
TASKS: dict[str, Callable[..., Any]] = {}


def _schedule(name: str, what: str) -> None:
    task = TASKS[name]  # a task nobody registered is a bug, not a queue outage
    try:
        task(request_id=current_request_id())  # the task's log lines carry the request's id
    except Exception:  # the row stays due; the next sweep picks it up
        log.exception("could not enqueue %s", what)


def schedule_delivery() -> None:
    """Ask the queue to deliver the outbox now; the sweep delivers anything a failure leaves."""
    _schedule("deliver_outbox", "outbox delivery")


def schedule_rendering() -> None:
    """Ask the queue to render pending documents now; the sweep renders anything left."""
    _schedule("render_documents", "document rendering")
