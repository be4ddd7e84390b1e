"""ODR: online dispute resolution for cross-border consumer disputes."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from odr.config import (
    PROJECT_ROOT,
    check_audit_key,
    check_secret_key,
    check_shared_state,
    load_config,
)

log = logging.getLogger(__name__)


def _parse_ceilings(value: str) -> dict[str, int]:
    """`CNY=50000,EUR=5000` → minor units per currency."""
    from odr import money

    ceilings = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        currency, _, amount = part.partition("=")
        ceilings[currency.strip().upper()] = money.to_minor(amount, currency.strip().upper())
    return ceilings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(load_config())
    if config:
        app.config.update(config)
    from odr import health
    from odr.logs import configure_logging, init_request_logging
    from odr.storage import storage_from_config

    configure_logging(app.config["LOG_FORMAT"])
    init_request_logging(app)  # first: every later hook's lines carry the request id
    health.init_app(app)
    check_secret_key(app.config)
    check_audit_key(app.config)
    check_shared_state(app.config)
    storage_from_config(app.config)  # a malformed ODR_STORAGE_URL stops the start, naming it
    if app.config["PROXY_HOPS"]:  # behind a load balancer: the client's address, not the balancer's
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.config["CLAIM_CEILINGS"] = _parse_ceilings(app.config["CLAIM_CEILINGS_SPEC"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (PROJECT_ROOT / "instance").mkdir(exist_ok=True)
        from odr.db import TurnTakingConnection

        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        options.setdefault("connect_args", {}).setdefault("factory", TurnTakingConnection)

    from odr.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    from odr.db import ping_after_rest, render_migration_item

    with app.app_context():
        ping_after_rest(db.engine)

    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        compare_type=True,
        render_as_batch=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"  # server-side sessions end on their own timers

    from odr.i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    from odr.limits import limiter

    limiter.init_app(app)

    from odr.queue import huey

    huey.immediate = bool(app.config["QUEUE_IMMEDIATE"])

    from odr.capabilities import load_capabilities
    from odr.workflow import load_workflows

    load_capabilities()

    load_workflows()

    from odr.accounts.sessions import load_session_user

    login_manager.user_loader(load_session_user)

    from odr import web
    from odr.accounts.admin import bp as admin_bp
    from odr.accounts.views import bp as accounts_bp
    from odr.api.views import bp as api_bp
    from odr.cases.views import bp as cases_bp
    from odr.cli import odr_cli

    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    from odr.referrals.admin import bp as partner_admin_bp

    app.register_blueprint(partner_admin_bp)
    from odr.delivery.views import bp as notices_bp

    app.register_blueprint(notices_bp)
    app.register_blueprint(cases_bp)
    from odr.mediation.views import bp as workspace_bp

    app.register_blueprint(workspace_bp)
    app.register_blueprint(api_bp)
    from odr.documents.views import bp as documents_bp

    app.register_blueprint(documents_bp)
    from odr.referrals.views import bp as partner_bp

    app.register_blueprint(partner_bp)
    csrf.exempt(api_bp)
    web.init_app(app)
    app.cli.add_command(odr_cli)
    if not app.testing:
        _warn_about_documents()
    return app


def _warn_about_documents() -> None:
    """Documents need HarfBuzz subsetting (40x faster for Chinese) and a CJK font: say so early."""
    from odr.documents.render import MissingFont, required_fonts, subsetting_with_harfbuzz

    if not subsetting_with_harfbuzz():
        logging.getLogger("odr").warning(
            "libharfbuzz-subset is missing: documents will subset fonts slowly "
            "(install the Debian package libharfbuzz-subset0)"
        )
    try:
        required_fonts(["zh_Hans", "zh_Hant"])
    except MissingFont as missing:
        logging.getLogger("odr").warning("%s", missing)
