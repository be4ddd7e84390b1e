"""The clock's work outside a request: `flask odr sweep`, the periodic sweep under its lock, and
a real `flask odr worker` process taking tasks from the queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey.exceptions import TaskLockedException

from odr import clock, worker
from odr.cases.models import Case
from odr.delivery.services import queue_mail
from odr.extensions import db
from tests.factories import lodge, make_user

ROOT = Path(__file__).resolve().parents[2]


def state_of(app, dispute) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Case.state).where(Case.public_id == dispute["id"]))


def test_the_sweep_command_fires_due_timeouts_and_reports_counts(app, api):
    dispute = lodge(api.as_user(make_user(app, "consumer")))
    runner = app.test_cli_runner()
    with clock.travel_to(clock.now() + timedelta(days=8)):
        result = runner.invoke(args=["odr", "sweep"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stderr) == {
        "assigned": 0,
        "timeouts": 1,
        "reminded": 0,  # mediation waits for a mediator: case managers are reminded when due
        "tokens_expiring": 0,
        "drafts_purged": 0,
        "rendered": 0,
        "delivered": 2,
    }
    assert state_of(app, dispute) == "mediation"


def test_the_periodic_sweep_runs_every_minute_and_never_twice_at_once(app, api):
    start = clock.now().replace(second=0, microsecond=0)
    assert all(
        worker.sweep_task.task_class().validate_datetime(start + timedelta(minutes=n))
        for n in range(5)
    )
    dispute = lodge(api.as_user(make_user(app, "consumer")))
    with clock.travel_to(clock.now() + timedelta(days=8)):
        with worker.huey.lock_task("odr-sweep"):
            with pytest.raises(TaskLockedException):
                worker.sweep_task.call_local()
            assert state_of(app, dispute) == "negotiation"
        with app.app_context():
            worker.sweep_task.call_local()
    assert state_of(app, dispute) == "mediation"


def test_a_worker_process_delivers_what_is_queued(app, api, mailbox, tmp_path):
    dispute = lodge(api.as_user(make_user(app, "consumer")))
    queue_file = tmp_path / "queue.db"
    environment = {
        **os.environ,
        "ODR_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ODR_QUEUE_PATH": str(queue_file),
        "ODR_SMTP_HOST": "127.0.0.1",
        "ODR_SMTP_PORT": str(mailbox.port),
    }
    environment.pop("ODR_QUEUE_URL", None)
    with app.app_context(), app.test_request_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        queue_mail(
            to="someone@example.com",
            language="en",
            template="deadline_reminder",
            key="worker-test",
            case_id=case.id,
            case=case,
        )
        db.session.commit()
    # Another process (a web server, say) asks the queue for a delivery.
    enqueue = "from odr.worker import deliver_outbox_task; deliver_outbox_task()"
    subprocess.run([sys.executable, "-c", enqueue], cwd=ROOT, env=environment, check=True)

    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "odr", "worker", "--no-periodic"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not mailbox.to("someone@example.com") and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stderr.read().decode()
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    assert len(mailbox.to("someone@example.com")) == 1
