"""Settings, read from `ODR_*` environment variables (see the table in README.md)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 (refused in production)
SUPPORTED_LOCALES = ("en", "zh_Hans", "zh_Hant")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_config(env: dict[str, str] | None = None) -> dict:
    """Build the Flask configuration from the environment."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("ODR_INSTANCE_DIR", PROJECT_ROOT / "instance"))
    environment = env.get("ODR_ENV", "development")
    return {
        "ODR_ENV": environment,
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": env.get("ODR_SECRET_KEY", DEFAULT_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": env.get("ODR_DATABASE_URL", f"sqlite:///{instance / 'odr.db'}"),
        "HOME_COUNTRY": env.get("ODR_HOME_COUNTRY", "CN").upper(),
        "BASE_URL": env.get("ODR_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SMTP_HOST": env.get("ODR_SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(env.get("ODR_SMTP_PORT", "1025")),
        "MAIL_FROM": env.get("ODR_MAIL_FROM", "ODR <no-reply@odr.example>"),
        "STORAGE_DIR": env.get("ODR_STORAGE_DIR", str(instance / "storage")),
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
        "RATELIMIT_LOGIN": env.get("ODR_RATELIMIT_LOGIN", "10 per minute"),
        "RATELIMIT_SIGNUP": env.get("ODR_RATELIMIT_SIGNUP", "5 per hour"),
        "RATELIMIT_RESET": env.get("ODR_RATELIMIT_RESET", "5 per hour"),
        "RATELIMIT_LODGE": env.get("ODR_RATELIMIT_LODGE", "20 per hour"),
        "RATELIMIT_RESEND": env.get("ODR_RATELIMIT_RESEND", "3 per hour"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "locales"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environment == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": environment == "production",
        "REMEMBER_COOKIE_DURATION": 86400 * int(env.get("ODR_REMEMBER_DAYS", "30")),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "JSON_SORT_KEYS": False,
    }
