"""What an operator's tools ask of a process: is it alive (`/livez`), may it serve (`/readyz`),
and what has it counted (`/metrics`); and the count of every request by route.

`/livez` answers 200 without touching anything: a process that answers is alive. `/readyz` checks
what serving needs, in parallel, each within `ODR_READY_TIMEOUT` seconds: the database (`SELECT 1`),
Redis when the rate limits live there, the file storage, the queue's storage, and the database's
schema at the head of `migrations/` (the head is read once a process). 200 lists each check; 503
names what failed and why, with any password in an address replaced. A load balancer takes a
host out while it answers 503 and puts it back when it answers 200 again.

`/metrics` is the Prometheus text (`odr.metrics`); it answers 404 unless `ODR_METRICS_TOKEN` is set,
and then only to `Authorization: Bearer <that token>`.

None of the three needs a log-in, a CSRF token or a rate limit, and none touches the session.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache
from typing import Any

import redis
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from odr.config import PROJECT_ROOT
from odr.extensions import csrf, db
from odr.logs import redact_text, safe_url
from odr.metrics import REQUEST_SECONDS, REQUESTS, exposition
from odr.queue import huey
from odr.storage import get_storage

bp = Blueprint("health", __name__)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MIGRATIONS = PROJECT_ROOT / "migrations"
REDIS_SCHEMES = ("redis://", "rediss://")


@bp.get("/livez")
def livez() -> Any:
    return jsonify(status="alive")


@bp.get("/readyz")
def readyz() -> Any:
    checks = readiness(current_app._get_current_object())
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "not ready" if failed else "ready", "checks": checks}
    if failed:
        body["failed"] = failed
    return jsonify(body), 503 if failed else 200


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        return Response(
            "metrics need Authorization: Bearer <ODR_METRICS_TOKEN>\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"},
        )
    return Response(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


# ---- the checks ----------------------------------------------------------------------------------


@cache
def migration_heads() -> frozenset[str]:
    """The head revision(s) of `migrations/`, read once a process."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def _database() -> dict[str, Any]:
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    return {}


def _migrations() -> dict[str, Any]:
    with db.engine.connect() as connection:
        found = frozenset(
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        )
    heads = migration_heads()
    if found != heads:
        raise LookupError(
            f"the database is at {', '.join(sorted(found)) or 'no revision'}, "
            f"the code's head is {', '.join(sorted(heads))}"
        )
    return {"revision": ", ".join(sorted(found))}


def _redis(url: str) -> Callable[[], dict[str, Any]]:
    def ping() -> dict[str, Any]:
        timeout = current_app.config["READY_TIMEOUT"]
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return {"url": safe_url(url)}

    return ping


def _storage() -> dict[str, Any]:
    get_storage().ready()
    return {}


def _queue() -> dict[str, Any]:
    return {"queued": huey.storage.queue_size()}


def checks_for(config: dict[str, Any]) -> dict[str, Callable[[], dict[str, Any]]]:
    checks = {"database": _database}
    limits_url = config.get("RATELIMIT_STORAGE_URI") or ""
    if limits_url.startswith(REDIS_SCHEMES):
        checks["redis"] = _redis(limits_url)
    checks.update(storage=_storage, queue=_queue, migrations=_migrations)
    return checks


def _run(app: Flask, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    with app.app_context():
        try:
            return {"ok": True, **check()}
        except Exception as exc:  # what failed is the answer
            return {"ok": False, "error": redact_text(f"{type(exc).__name__}: {exc}")[:300]}


def readiness(app: Flask) -> dict[str, dict[str, Any]]:
    """Each check's result, run side by side; one that takes longer than the timeout failed.

    A check that hangs (a database host that drops packets) keeps its thread until the driver
    gives up; the answer does not wait for it.
    """
    checks = checks_for(app.config)
    timeout = app.config["READY_TIMEOUT"]
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
    futures = {name: pool.submit(_run, app, check) for name, check in checks.items()}
    wait(futures.values(), timeout=timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    late = {"ok": False, "error": f"no answer within {timeout:g} s"}
    return {name: future.result() if future.done() else late for name, future in futures.items()}


# ---- wiring --------------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """The blueprint, outside CSRF (no rate limit applies to it), and the count of every request."""
    app.register_blueprint(bp)
    csrf.exempt(bp)

    @app.after_request
    def count_request(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
        return response
