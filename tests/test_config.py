"""Settings come from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import pytest

from odr import create_app
from odr.config import load_config


def test_settings_are_read_from_odr_variables():
    config = load_config(
        {
            "ODR_DATABASE_URL": "postgresql+psycopg://odr@db/odr",
            "ODR_HOME_COUNTRY": "de",
            "ODR_SMTP_PORT": "2525",
            "ODR_QUEUE_URL": "redis://127.0.0.1:6379/0",
            "ODR_WEBHOOK_ALLOW_PRIVATE": "1",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://odr@db/odr"
    assert config["HOME_COUNTRY"] == "DE"
    assert config["SMTP_PORT"] == 2525
    assert config["QUEUE_URL"] == "redis://127.0.0.1:6379/0"
    assert config["WEBHOOK_ALLOW_PRIVATE"] is True


def test_the_embedded_default_is_sqlite_under_instance():
    config = load_config({"ODR_INSTANCE_DIR": "/srv/odr/instance"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/odr/instance/odr.db"
    assert config["HOME_COUNTRY"] == "CN"
    assert config["SESSION_COOKIE_SECURE"] is False


def test_production_refuses_the_default_secret_key():
    with pytest.raises(RuntimeError, match="ODR_SECRET_KEY"):
        create_app({"ODR_ENV": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_cookies_are_secure():
    config = load_config({"ODR_ENV": "production", "ODR_SECRET_KEY": "s" * 40})
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax" and config["SESSION_COOKIE_HTTPONLY"]
