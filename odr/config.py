"""Settings, read from `ODR_*` environment variables (see the table in README.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LOCALES = ("en", "zh_Hans", "zh_Hant")
MIN_SECRET_LENGTH = 32


class MissingSecret(RuntimeError):
    """Production was started without a secret it must be given."""


def instance_secret(instance_dir: str | Path, name: str) -> str:
    """A random secret kept in a file of the instance folder, made on first use (mode 0600).

    The embedded default works with no set-up, yet every installation has keys of its own: there
    is no built-in key anyone could sign with. Production is given its keys by the environment.
    """
    path = Path(instance_dir) / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    return secret


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def check_secret_key(config: dict) -> None:
    """Production must be given a long secret key; elsewhere one is made in the instance folder.

    Called once the app's configuration is complete (the environment, then what the caller set).
    """
    key = (config.get("SECRET_KEY") or "").strip()
    if config["ODR_ENV"] == "production":
        if len(key) < MIN_SECRET_LENGTH:
            raise MissingSecret(
                f"ODR_SECRET_KEY must be set in production, at least {MIN_SECRET_LENGTH} characters"
            )
    elif not key:
        config["SECRET_KEY"] = instance_secret(config["INSTANCE_DIR"], "secret.key")


def check_audit_key(config: dict) -> None:
    """The key of the audit chains (`odr.audit`), handled like the secret key.

    It is kept out of the database so that someone who can write the database cannot re-chain the
    logs, and apart from the secret key so that changing that one (to end every session) leaves
    the chains verifiable.
    """
    key = (config.get("AUDIT_KEY") or "").strip()
    if config["ODR_ENV"] == "production":
        if len(key) < MIN_SECRET_LENGTH:
            raise MissingSecret(
                f"ODR_AUDIT_KEY must be set in production, at least {MIN_SECRET_LENGTH} characters"
            )
        if key == (config.get("SECRET_KEY") or "").strip():
            raise MissingSecret("ODR_AUDIT_KEY must differ from ODR_SECRET_KEY")
    elif not key:
        key = instance_secret(config["INSTANCE_DIR"], "audit.key")
    config["AUDIT_KEY"] = key


class UnsharedState(RuntimeError):
    """Production was configured with state that only one process or host can see."""


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_shared_state(config: dict) -> None:
    """Production runs on several hosts: refuse what each process or host would keep to itself.

    Rate-limit and log-in counters in memory, the SQLite queue (whose sweep lock is a file), a
    SQLite database and files in a local folder are each right for one host and wrong for two;
    `ODR_SINGLE_HOST=1` says there is only one. `ODR_INSECURE_LOCAL=1` (cookies without `Secure`,
    for `make serve` on plain http) is honoured only for a base URL on this machine.
    """
    if config["ODR_ENV"] != "production":
        return
    if config.get("INSECURE_LOCAL"):
        host = urlsplit(config["BASE_URL"]).hostname or ""
        if host not in LOOPBACK_HOSTS:
            raise UnsharedState(
                f"ODR_INSECURE_LOCAL is only for an ODR_BASE_URL on this machine "
                f"({', '.join(LOOPBACK_HOSTS)}), not {config['BASE_URL']}"
            )
    if config.get("SINGLE_HOST"):
        return
    unshared = []
    if config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        unshared.append("ODR_RATELIMIT_URL (memory://: each process counts alone; use redis://)")
    if not config["QUEUE_URL"]:
        unshared.append("ODR_QUEUE_URL (unset: a SQLite queue on this host; use redis://)")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        unshared.append("ODR_DATABASE_URL (SQLite: one host's file; use postgresql+psycopg://)")
    if not config.get("STORAGE_URL"):
        unshared.append("ODR_STORAGE_URL (unset: files in this host's folder; use s3://)")
    if unshared:
        raise UnsharedState(
            "production shares its state between hosts; set "
            + "; ".join(unshared)
            + ". Or set ODR_SINGLE_HOST=1 if this is the only process serving."
        )


WORKER_CLASSES = ("sync", "gthread")


def _whole_number(env: dict[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def server_settings(env: dict[str, str] | None = None) -> dict:
    """gunicorn's settings (`odr/gunicorn_conf.py`), from the environment; the defaults are
    argued there."""
    env = dict(os.environ if env is None else env)
    port = _whole_number(env, "ODR_PORT", 8000)
    worker_class = (env.get("ODR_WORKER_CLASS") or "sync").strip()
    if worker_class not in WORKER_CLASSES:
        raise ValueError(
            f"ODR_WORKER_CLASS must be one of {', '.join(WORKER_CLASSES)}, not {worker_class!r}"
        )
    return {
        "port": port,
        "bind": (env.get("ODR_BIND") or "").strip() or f"127.0.0.1:{port}",
        "workers": _whole_number(env, "ODR_WORKERS", 2 * (os.cpu_count() or 1) + 1),
        "worker_class": worker_class,
        "threads": _whole_number(env, "ODR_THREADS", 4) if worker_class == "gthread" else 1,
        "timeout": _whole_number(env, "ODR_TIMEOUT", 60),
        "graceful_timeout": _whole_number(env, "ODR_GRACEFUL_TIMEOUT", 30),
        "keepalive": _whole_number(env, "ODR_KEEPALIVE", 75),
        "max_requests": _whole_number(env, "ODR_MAX_REQUESTS", 2000),
        "access_log": _flag(env.get("ODR_ACCESS_LOG")),
    }


def load_config(env: dict[str, str] | None = None) -> dict:
    """Build the Flask configuration from the environment."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("ODR_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    environment = env.get("ODR_ENV", "development")
    insecure_local = _flag(env.get("ODR_INSECURE_LOCAL"))
    secure_cookies = environment == "production" and not insecure_local
    return {
        "ODR_ENV": environment,
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": env.get("ODR_SECRET_KEY", ""),
        "AUDIT_KEY": env.get("ODR_AUDIT_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": env.get("ODR_DATABASE_URL", f"sqlite:///{instance / 'odr.db'}"),
        "HOME_COUNTRY": env.get("ODR_HOME_COUNTRY", "CN").upper(),
        "BASE_URL": env.get("ODR_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # The name the platform signs with in mails and documents (the authorised provider).
        "PROVIDER_NAME": env.get("ODR_PROVIDER_NAME", "ODR"),
        "SMTP_HOST": env.get("ODR_SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(env.get("ODR_SMTP_PORT", "1025")),
        "MAIL_FROM": env.get("ODR_MAIL_FROM", "ODR <no-reply@odr.example>"),
        "STORAGE_DIR": env.get("ODR_STORAGE_DIR", str(instance / "storage")),
        # s3://bucket/prefix: files in S3-compatible object storage (odr/storage/s3.py)
        "STORAGE_URL": env.get("ODR_STORAGE_URL", ""),
        "S3_ENDPOINT_URL": env.get("ODR_S3_ENDPOINT_URL", ""),
        "QUEUE_URL": env.get("ODR_QUEUE_URL", ""),
        "QUEUE_PATH": env.get("ODR_QUEUE_PATH", str(instance / "queue.db")),
        "QUEUE_IMMEDIATE": _flag(env.get("ODR_QUEUE_IMMEDIATE")),
        "WEBHOOK_ALLOW_PRIVATE": _flag(env.get("ODR_WEBHOOK_ALLOW_PRIVATE")),
        "CLAIM_CEILINGS_SPEC": env.get(
            "ODR_CLAIM_CEILINGS", "CNY=50000,EUR=7000,USD=7500,GBP=6000,JPY=1000000"
        ),
        "SESSION_IDLE_MINUTES": int(env.get("ODR_SESSION_IDLE_MINUTES", "30")),
        "SESSION_ABSOLUTE_HOURS": int(env.get("ODR_SESSION_ABSOLUTE_HOURS", "12")),
        "REMEMBER_DAYS": int(env.get("ODR_REMEMBER_DAYS", "30")),
        "RATELIMIT_STORAGE_URI": env.get("ODR_RATELIMIT_URL", "memory://"),
        # Production shares its state between hosts (check_shared_state) unless told it is alone.
        "SINGLE_HOST": _flag(env.get("ODR_SINGLE_HOST")),
        "INSECURE_LOCAL": insecure_local,
        "PROXY_HOPS": int(env.get("ODR_PROXY_HOPS", "0")),
        # Processes the sweep fires a large backlog with (odr/sweep.py), on PostgreSQL.
        "SWEEP_PROCESSES": _whole_number(
            env, "ODR_SWEEP_PROCESSES", min(2 * (os.cpu_count() or 1), 8)
        ),
        # Log-in throttling (odr/accounts/throttle.py): wrong passwords allowed before delays
        # that double start, per account, per client address and per known browser.
        "LOGIN_FREE_FAILURES_ACCOUNT": int(env.get("ODR_LOGIN_FREE_FAILURES_ACCOUNT", "5")),
        "LOGIN_FREE_FAILURES_ADDRESS": int(env.get("ODR_LOGIN_FREE_FAILURES_ADDRESS", "20")),
        "LOGIN_FREE_FAILURES_DEVICE": int(env.get("ODR_LOGIN_FREE_FAILURES_DEVICE", "5")),
        "LOGIN_MAX_DELAY": int(env.get("ODR_LOGIN_MAX_DELAY", "900")),
        "RATELIMIT_SIGNUP": env.get("ODR_RATELIMIT_SIGNUP", "5 per hour"),
        "RATELIMIT_RESET": env.get("ODR_RATELIMIT_RESET", "5 per hour"),
        "RATELIMIT_LODGE": env.get("ODR_RATELIMIT_LODGE", "20 per hour"),
        "RATELIMIT_RESEND": env.get("ODR_RATELIMIT_RESEND", "3 per hour"),
        "RATELIMIT_STAFF": env.get("ODR_RATELIMIT_STAFF", "20 per hour"),
        # Logs and metrics (odr/logs.py, odr/metrics.py, odr/health.py).
        "LOG_FORMAT": env.get("ODR_LOG_FORMAT")
        or ("json" if environment == "production" else "plain"),
        "METRICS_TOKEN": env.get("ODR_METRICS_TOKEN", ""),  # unset: /metrics answers 404
        "READY_TIMEOUT": float(env.get("ODR_READY_TIMEOUT", "2")),  # seconds, each /readyz check
        "SQLALCHEMY_ENGINE_OPTIONS": {},  # connections are tested after a rest (odr.db)
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "locales"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_DURATION": 86400 * int(env.get("ODR_REMEMBER_DAYS", "30")),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "JSON_SORT_KEYS": False,
    }
