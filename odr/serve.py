"""`make serve` (`python -m odr.serve`): the production shape on this machine.

gunicorn (odr/gunicorn_conf.py) with N workers on 127.0.0.1:8000 (`ODR_PORT`), a Huey worker,
PostgreSQL, Redis and S3-compatible object storage. Each service on this machine is started if it
does not answer: PostgreSQL by `pg_ctlcluster`, Redis by `redis-server --daemonize`, object storage
by moto's S3 server from the venv (in the background, left running: it keeps the files in memory,
so they last as long as it does). Then the database is made if missing, migrated, and given the
demo data once (when it has no users; seeded as development, since `seed-demo` refuses
production); gunicorn runs in the foreground with the worker beside it,
and stopping one stops both.

Production settings, each taken from the environment when set: `ODR_ENV=production`, the database
`odr` on the local PostgreSQL, Redis for the queue and the rate limits, the bucket `odr`, keys made
once in the instance folder. The site is plain http on 127.0.0.1, where `Secure` cookies would
never come back: `ODR_INSECURE_LOCAL=1` drops `Secure`, and production honours it only for a base
URL on this machine (`odr.config.check_shared_state`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

from odr.config import LOOPBACK_HOSTS, PROJECT_ROOT, instance_secret

Env = MutableMapping[str, str]
WAIT_SECONDS = 60


def log(message: str) -> None:
    print(f"serve: {message}", file=sys.stderr, flush=True)


def production_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment of the production shape: `base` wins where it sets a value."""
    env = dict(base)
    port = env.setdefault("ODR_PORT", "8000")
    env.setdefault("ODR_WORKERS", str(os.cpu_count() or 1))  # measured best here (gunicorn_conf)
    instance = Path(env.setdefault("ODR_INSTANCE_DIR", str(PROJECT_ROOT / "instance")))
    defaults = {
        "ODR_ENV": "production",
        "ODR_INSECURE_LOCAL": "1",
        "ODR_BASE_URL": f"http://127.0.0.1:{port}",
        "ODR_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/odr",
        "ODR_QUEUE_URL": "redis://127.0.0.1:6379/0",
        "ODR_RATELIMIT_URL": "redis://127.0.0.1:6379/1",
        "ODR_STORAGE_URL": "s3://odr/files",
        "ODR_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        # moto accepts any credentials; a real endpoint is given its own.
        "AWS_ACCESS_KEY_ID": "odr-local",
        "AWS_SECRET_ACCESS_KEY": "odr-local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in defaults.items():
        env.setdefault(name, value)
    # Kept in the instance folder, so that sessions and the audit chains outlive a restart.
    env.setdefault("ODR_SECRET_KEY", instance_secret(instance, "secret.key"))
    env.setdefault("ODR_AUDIT_KEY", instance_secret(instance, "audit.key"))
    return env


def _local(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def _wait(what: str, ready: object) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"serve: {what} did not start within {WAIT_SECONDS} s")
        time.sleep(0.2)


def ensure_postgres(env: Env) -> None:
    parts = urlsplit(env["ODR_DATABASE_URL"].replace("+psycopg", ""))
    host, port = parts.hostname or "127.0.0.1", str(parts.port or 5432)

    def ready() -> bool:
        command = ["pg_isready", "-q", "-h", host, "-p", port]
        return subprocess.run(command, check=False).returncode == 0

    if ready() or host not in LOOPBACK_HOSTS:
        return
    log("starting PostgreSQL")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True
    )
    _wait("PostgreSQL", ready)


def ensure_redis(env: Env) -> None:
    for url in (env["ODR_QUEUE_URL"], env["ODR_RATELIMIT_URL"]):
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", str(parts.port or 6379)

        def ready(host: str = host, port: str = port) -> bool:
            command = ["redis-cli", "-h", host, "-p", port, "ping"]
            answer = subprocess.run(command, capture_output=True, text=True, check=False)
            return answer.stdout.strip() == "PONG"

        if ready() or host not in LOOPBACK_HOSTS:
            continue
        log(f"starting Redis on {host}:{port}")
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", host, "--port", port]
            + ["--save", "", "--appendonly", "no"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        _wait("Redis", ready)


def ensure_object_storage(env: Env) -> None:
    """moto's S3 server on the endpoint's port when nothing answers there; the bucket made."""
    endpoint = env.get("ODR_S3_ENDPOINT_URL", "")
    if endpoint and _local(endpoint) and not _answers(endpoint):
        parts = urlsplit(endpoint)
        log(f"starting moto's S3 server on {parts.hostname}:{parts.port} (files kept in memory)")
        instance = Path(env["ODR_INSTANCE_DIR"])
        instance.mkdir(parents=True, exist_ok=True)
        with (instance / "s3-server.log").open("ab") as output:
            subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", parts.hostname, "-p", str(parts.port)],
                stdout=output,
                stderr=output,
                start_new_session=True,  # outlives `make serve`, so the files do too
            )
        _wait("moto's S3 server", lambda: _answers(endpoint))
    bucket = urlsplit(env["ODR_STORAGE_URL"]).netloc
    client = _s3_client(env)
    try:
        client.head_bucket(Bucket=bucket)
    except Exception:
        log(f"creating the bucket {bucket}")
        client.create_bucket(Bucket=bucket)


def _s3_client(env: Env):  # noqa: ANN202 (boto3's client has no public type)
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env.get("ODR_S3_ENDPOINT_URL") or None,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # it answered, if not with 200
    except OSError:
        return False
    return True


def prepare_database(env: Env) -> None:
    """Make the database if missing, migrate it, and load the demo data if it has no users."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(env["ODR_DATABASE_URL"])
    if url.get_backend_name() == "postgresql":
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if not exists:
                log(f"creating the database {url.database}")
                connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
        admin.dispose()
    flask(env, "db", "upgrade")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        users = connection.exec_driver_sql("SELECT count(*) FROM users").scalar()
    engine.dispose()
    if not users:
        # Demo accounts have a published password: `seed-demo` refuses production, and is run
        # here, on this machine's own database, as development.
        flask({**env, "ODR_ENV": "development"}, "odr", "seed-demo")


def flask(env: Env, *args: str) -> None:
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    subprocess.run(command, env=env, cwd=PROJECT_ROOT, check=True)


def start_gunicorn(env: Env) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "-c", "python:odr.gunicorn_conf", "app:app"]
    return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)


def start_worker(env: Env) -> subprocess.Popen:
    """The Huey worker, counting its metrics in the directory gunicorn's master has emptied
    (odr/gunicorn_conf.py chooses it the same way)."""
    metrics = env.get("PROMETHEUS_MULTIPROC_DIR") or str(
        Path(env["ODR_INSTANCE_DIR"]) / f"prometheus-{env['ODR_PORT']}"
    )
    command = [sys.executable, "-m", "flask", "--app", "app", "odr", "worker"]
    return subprocess.Popen(
        command, env={**env, "PROMETHEUS_MULTIPROC_DIR": metrics}, cwd=PROJECT_ROOT
    )


def wait_until_serving(env: Env, gunicorn: subprocess.Popen) -> None:
    url = f"http://127.0.0.1:{env['ODR_PORT']}/login"

    def ready() -> bool:
        if gunicorn.poll() is not None:
            raise SystemExit(f"serve: gunicorn exited with {gunicorn.returncode}")
        return _answers(url)

    _wait("gunicorn", ready)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def set_up(env: Env) -> None:
    """Every step before serving: the services, the database, the migrations, the demo data."""
    ensure_postgres(env)
    ensure_redis(env)
    ensure_object_storage(env)
    prepare_database(env)


def main() -> int:
    for tool in ("pg_isready", "redis-cli"):
        if shutil.which(tool) is None:
            raise SystemExit(f"serve: {tool} is not installed (PostgreSQL and Redis are needed)")
    env = production_env(os.environ)
    set_up(env)
    gunicorn = start_gunicorn(env)
    worker = None

    def end(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, end)
    try:
        wait_until_serving(env, gunicorn)
        # After gunicorn: its master empties the metrics directory the worker writes into too.
        worker = start_worker(env)
        log(f"ODR on {env['ODR_BASE_URL']} (production shape); Ctrl-C stops it")
        return gunicorn.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(worker)
        stop(gunicorn)


if __name__ == "__main__":
    sys.exit(main())
