"""gunicorn's settings for ODR: `gunicorn -c python:odr.gunicorn_conf app:app` (or, with the app
factory, `gunicorn -c python:odr.gunicorn_conf 'odr:create_app()'`).

Each setting comes from an `ODR_*` variable (`odr.config.server_settings`; the README's settings
table). The choices, measured in `bench/serve.py` and argued in docs/decisions.md:

- `sync` workers: measured against `gthread` (2 workers against 2 × 4 threads, 5 against 5 × 4)
  on a mix of dispute pages and API lodgings, threads gave no more requests a second and a p99 two
  to three times longer (the work is CPU-bound under the GIL; docs/benchmarks.md, "serve"). A sync
  worker serves one request at a time, so a slow client holds it: the load balancer in front must
  buffer requests and responses (docs/deployment.md). `ODR_WORKER_CLASS=gthread` with
  `ODR_THREADS` is there for a balancer that does not.
- `2 × cores + 1` workers unless `ODR_WORKERS` says otherwise (gunicorn's rule for workers that
  also wait on the network; on this 2-core machine, where PostgreSQL and the load shared the
  cores, 2 did best, and `make serve` starts as many as there are cores).
- The app is loaded once in the master (`preload_app`): workers share its memory copy-on-write and
  a broken configuration stops the master before any worker starts. The master opens no database
  connection; `post_fork` drops any pooled one all the same, so no two workers share a socket.
- A worker is replaced after `max_requests` requests (with jitter, so they do not all restart at
  once): whatever a long-lived process might accumulate is given back.
- Access lines (`ODR_ACCESS_LOG=1`; the app logs a line a request anyway) pass through the
  link-token filter, and gunicorn's own lines are written in the app's format (`odr.logs`).
- Prometheus counts across workers in a multiprocess directory emptied here, in the master,
  before the app (and prometheus_client) is imported (`odr.metrics_setup`); a dead worker's
  gauges are dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from odr.config import load_config, server_settings
from odr.logs import gunicorn_logconfig, install_log_filters
from odr.metrics_setup import gunicorn_child_exit, prepare_multiprocess_dir

_settings = load_config()
try:
    _server = server_settings()
except ValueError as error:
    raise SystemExit(str(error)) from None

PORT = _server["port"]
bind = [_server["bind"]]
workers = _server["workers"]
worker_class = _server["worker_class"]
threads = _server["threads"]
timeout = _server["timeout"]  # a request's longest: a 10 MB upload on a slow line
graceful_timeout = _server["graceful_timeout"]
keepalive = _server["keepalive"]  # gthread only: above the balancer's idle timeout (60 s)
max_requests = _server["max_requests"]
max_requests_jitter = max_requests // 10
preload_app = True
proc_name = "odr"
accesslog = "-" if _server["access_log"] else None


class AccessLinesWhenAsked(Logger):
    """gunicorn writes access lines whenever it is given a `logconfig_dict`, as it is here for its
    error log's format: only `ODR_ACCESS_LOG` asks for them (a line, and its formatting, a
    request)."""

    @property
    def access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


logger_class = AccessLinesWhenAsked

logconfig_dict = gunicorn_logconfig(_settings["LOG_FORMAT"])  # gunicorn's lines as the app's

# Counts of all workers add up: a directory per served port, emptied before the app is imported.
prepare_multiprocess_dir(
    os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    or Path(_settings["INSTANCE_DIR"]) / f"prometheus-{PORT}"
)


def when_ready(server: Any) -> None:
    install_log_filters()  # after gunicorn has set its loggers up
    server.log.info("ODR serving on %s with %s %s workers", ", ".join(bind), workers, worker_class)


def post_fork(server: Any, worker: Any) -> None:
    from odr.extensions import db

    install_log_filters()
    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # the master's connections, if any, stay the master's


def child_exit(server: Any, worker: Any) -> None:
    gunicorn_child_exit(server, worker)
