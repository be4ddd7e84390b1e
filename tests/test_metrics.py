"""Prometheus metrics at `/metrics` (issue 16): private unless a token is set; requests by route,
disputes lodged, actions fired (by people and by the sweep), the sweep, PDF renders and the
outbox; and counts that add up across gunicorn's workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from odr import clock
from odr.config import PROJECT_ROOT
from odr.db import write_transaction
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from odr.metrics import ACTIONS_FIRED, count_when_committed
from tests.conftest import _TMP, build_app, database_url, free_port
from tests.documents.test_documents import settle_by_offer
from tests.factories import lodge, make_user

TOKEN = "metrics-token-" + "x" * 20


@pytest.fixture
def scrape(app):
    """Read `/metrics` as the scraper does: {(sample name, sorted labels): value}."""
    app.config["METRICS_TOKEN"] = TOKEN
    client = app.test_client()

    def read() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        return samples(response.get_data(as_text=True))

    yield read
    app.config["METRICS_TOKEN"] = ""


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- who may read them ---------------------------------------------------------------------------


def test_metrics_are_not_found_unless_a_token_is_set(app):
    app.config["METRICS_TOKEN"] = ""
    assert app.test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "]
)
def test_metrics_need_the_bearer_token(app, authorization):
    app.config["METRICS_TOKEN"] = TOKEN
    try:
        headers = {"Authorization": authorization} if authorization else {}
        response = app.test_client().get("/metrics", headers=headers)
    finally:
        app.config["METRICS_TOKEN"] = ""
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "odr_http_requests" not in response.get_data(as_text=True)


# ---- what is counted -----------------------------------------------------------------------------


def test_requests_are_counted_by_route_never_by_path(app, scrape):
    client = app.test_client()
    before = scrape()
    for public_id in ("aaaa1111", "bbbb2222", "cccc3333"):
        client.get(f"/disputes/{public_id}")
    client.get("/no/such/page/secret-looking-path")
    client.get("/livez")
    text = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    after = samples(text)
    route = {"route": "/disputes/<dispute_id>", "method": "GET", "status": "302"}
    assert (
        value(after, "odr_http_requests_total", **route)
        - value(before, "odr_http_requests_total", **route)
        == 3
    )
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "odr_http_requests_total", **unmatched) >= 1
    latency = {"route": "/livez", "method": "GET"}
    count = "odr_http_request_duration_seconds_count"
    assert value(after, count, **latency) - value(before, count, **latency) == 1
    assert "aaaa1111" not in text and "secret-looking-path" not in text


def test_lodgings_and_actions_are_counted_by_channel_and_action(app, api, scrape):
    claimant = api.as_user(make_user(app))
    before = scrape()
    dispute = lodge(claimant)
    lodge(claimant)
    response = claimant.post(
        f"/api/v1/disputes/{dispute['id']}/actions/escalate", {"reason": "no answer"}
    )
    assert response.status_code == 200, response.get_json()
    after = scrape()
    lodged = "odr_disputes_lodged_total"
    assert value(after, lodged, channel="api") - value(before, lodged, channel="api") == 2
    fired = "odr_actions_fired_total"
    assert value(after, fired, action="escalate") - value(before, fired, action="escalate") == 1


def test_the_sweep_is_timed_and_its_fires_counted_once(app, api, scrape):
    claimant = api.as_user(make_user(app))
    for _ in range(3):
        lodge(claimant)
    before = scrape()
    with clock.travel_to(clock.now() + timedelta(days=8)):
        result = app.test_cli_runner().invoke(args=["odr", "sweep"])
    assert result.exit_code == 0, result.output
    after = scrape()
    fired = "odr_actions_fired_total"
    assert value(after, fired, action="escalate") - value(before, fired, action="escalate") == 3
    cases = "odr_sweep_cases_fired_total"
    assert value(after, cases) - value(before, cases) == 3
    runs = "odr_sweep_duration_seconds_count"
    assert value(after, runs) - value(before, runs) == 1


def test_a_count_whose_transaction_rolls_back_is_not_counted(app):
    child = ACTIONS_FIRED.labels(action="counted_in_a_test")
    start = child._value.get()
    with app.app_context():
        with pytest.raises(RuntimeError), write_transaction(db.session):
            count_when_committed(child.inc)
            raise RuntimeError("rolled back")
        assert child._value.get() == start
        with write_transaction(db.session):
            count_when_committed(child.inc)  # kept
            try:
                with db.session.begin_nested():
                    count_when_committed(child.inc)  # its savepoint rolls back
                    raise RuntimeError("one case refused")
            except RuntimeError:
                pass
            assert child._value.get() == start  # nothing counted before the commit
    assert child._value.get() == start + 1


def test_a_pdf_render_is_timed_by_kind(app, api, scrape):
    before = scrape()
    settle_by_offer(app, api)
    after = scrape()
    count = "odr_pdf_render_duration_seconds_count"
    kind = {"kind": "settlement_agreement"}
    assert value(after, count, **kind) - value(before, count, **kind) == 1


def test_the_outbox_is_read_when_scraped(app, scrape):
    now = clock.now()
    rows = [
        {"kind": "mail", "created_at": now - timedelta(minutes=10)},
        {"kind": "mail", "created_at": now - timedelta(minutes=2)},
        {"kind": "mail", "delivered_at": now, "created_at": now - timedelta(hours=5)},
        {"kind": "webhook", "dead_at": now, "created_at": now - timedelta(hours=9)},
        {"kind": "mail", "dead_at": now, "created_at": now - timedelta(hours=9)},
    ]
    with app.app_context():
        db.session.execute(
            sa.insert(OutboxMessage),
            [
                {"destination": "x", "payload": {}, "idempotency_key": f"k{n}", **row}
                for n, row in enumerate(rows)
            ],
        )
        db.session.commit()
    with clock.travel_to(now):
        found = scrape()
    assert value(found, "odr_outbox_depth") == 2
    assert value(found, "odr_outbox_oldest_age_seconds") == pytest.approx(600, abs=1)
    assert value(found, "odr_webhooks_dead") == 1


# ---- several processes ---------------------------------------------------------------------------

GUNICORN_CONF = """
from odr.metrics_setup import gunicorn_child_exit, prepare_multiprocess_dir

prepare_multiprocess_dir({directory!r})
workers = 2
worker_class = "sync"
bind = "127.0.0.1:{port}"


def child_exit(server, worker):
    gunicorn_child_exit(server, worker)
"""


def test_counts_add_up_across_two_gunicorn_workers(mailbox, tmp_path):
    """Two worker processes count in their own files; one scrape (whichever worker answers it)
    reports what both answered."""
    name = "metrics-gunicorn.db"
    build_app("sqlite", mailbox, name)  # migrated
    port = free_port()
    directory = tmp_path / "prometheus"
    config = tmp_path / "gunicorn_conf.py"
    config.write_text(GUNICORN_CONF.format(directory=str(directory), port=port))
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ODR_DATABASE_URL": database_url("sqlite", name),
        "ODR_METRICS_TOKEN": TOKEN,
        "ODR_STORAGE_DIR": str(_TMP / "storage-gunicorn"),
        "ODR_LOG_FORMAT": "json",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(gunicorn), "-c", str(config), "odr:create_app()"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_served(url, server, log)
        made = 60
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(
                pool.map(lambda _: requests.get(f"{url}/livez", timeout=10), range(made))
            )
        assert all(answer.status_code == 200 for answer in answers)

        counted = {f.name.split("_")[-1] for f in directory.glob("counter_*.db")}
        assert len(counted) == 2, "both workers answered some of the requests"
        for _ in range(4):  # each scrape may be answered by either worker
            scraped = requests.get(
                f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
            )
            found = samples(scraped.text)
            route = {"route": "/livez", "method": "GET", "status": "200"}
            assert value(found, "odr_http_requests_total", **route) == made
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert sum(line.get("route") == "/livez" for line in lines) == made


def _wait_until_served(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # workers still importing the app
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer:\n{log.read_text()}")
