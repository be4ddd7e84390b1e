"""Settings come from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import pytest

from odr import create_app
from odr.config import (
    UnsharedState,
    check_audit_key,
    check_shared_state,
    load_config,
    server_settings,
)


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


def test_production_refuses_a_missing_short_or_shared_audit_key():
    secret = "s" * 40
    base = {"ODR_ENV": "production", "SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    for key in ("", "short"):
        with pytest.raises(RuntimeError, match="ODR_AUDIT_KEY must be set in production"):
            create_app({**base, "AUDIT_KEY": key})
    with pytest.raises(RuntimeError, match="ODR_AUDIT_KEY must differ from ODR_SECRET_KEY"):
        create_app({**base, "AUDIT_KEY": secret})


def test_outside_production_the_audit_key_is_made_once_in_the_instance_folder(tmp_path):
    first = load_config({"ODR_INSTANCE_DIR": str(tmp_path)})
    check_audit_key(first)
    again = load_config({"ODR_INSTANCE_DIR": str(tmp_path)})
    check_audit_key(again)
    assert len(first["AUDIT_KEY"]) >= 32 and first["AUDIT_KEY"] == again["AUDIT_KEY"]
    assert (tmp_path / "audit.key").stat().st_mode & 0o077 == 0
    given = load_config({"ODR_INSTANCE_DIR": str(tmp_path), "ODR_AUDIT_KEY": "k" * 40})
    check_audit_key(given)
    assert given["AUDIT_KEY"] == "k" * 40


SHARED = {
    "ODR_ENV": "production",
    "ODR_SECRET_KEY": "s" * 40,
    "ODR_DATABASE_URL": "postgresql+psycopg://odr@db/odr",
    "ODR_RATELIMIT_URL": "redis://redis:6379/1",
    "ODR_QUEUE_URL": "redis://redis:6379/0",
    "ODR_STORAGE_URL": "s3://odr-files/production",
    "ODR_BASE_URL": "https://odr.example",
}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ODR_RATELIMIT_URL", "memory://"),
        ("ODR_QUEUE_URL", ""),
        ("ODR_DATABASE_URL", "sqlite:////srv/odr/odr.db"),
        ("ODR_STORAGE_URL", ""),
    ],
)
def test_production_refuses_state_that_one_host_keeps_to_itself(setting, value):
    config = load_config({**SHARED, setting: value})
    with pytest.raises(UnsharedState, match=f"set {setting} ") as refused:
        check_shared_state(config)
    assert "ODR_SINGLE_HOST=1" in str(refused.value)
    check_shared_state(load_config({**SHARED, setting: value, "ODR_SINGLE_HOST": "1"}))
    check_shared_state(load_config(SHARED))


def test_insecure_local_cookies_only_for_a_base_url_on_this_machine():
    local = load_config(
        {**SHARED, "ODR_INSECURE_LOCAL": "1", "ODR_BASE_URL": "http://127.0.0.1:8000"}
    )
    check_shared_state(local)
    assert local["SESSION_COOKIE_SECURE"] is False and local["REMEMBER_COOKIE_SECURE"] is False
    remote = load_config({**SHARED, "ODR_INSECURE_LOCAL": "1"})
    with pytest.raises(UnsharedState, match="ODR_INSECURE_LOCAL is only for an ODR_BASE_URL"):
        check_shared_state(remote)


def test_server_settings_come_from_odr_variables_and_bad_values_are_named():
    settings = server_settings({"ODR_PORT": "8123", "ODR_WORKERS": "3"})
    assert settings["bind"] == "127.0.0.1:8123" and settings["workers"] == 3
    assert settings["worker_class"] == "sync" and settings["threads"] == 1
    threaded = server_settings({"ODR_WORKER_CLASS": "gthread", "ODR_BIND": "0.0.0.0:80"})
    assert threaded["threads"] == 4 and threaded["bind"] == "0.0.0.0:80"
    with pytest.raises(ValueError, match="ODR_WORKERS must be a whole number, not 'many'"):
        server_settings({"ODR_WORKERS": "many"})
    with pytest.raises(ValueError, match="ODR_WORKER_CLASS must be one of sync, gthread"):
        server_settings({"ODR_WORKER_CLASS": "gevent"})
