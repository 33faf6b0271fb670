"""The web app: HTML pages for officials (``office``) and enterprises (``portal``).

``create_app(config)`` is the one composition root: defaults, then overrides, then
extensions and blueprints; this module holds nothing else. What a request works with
(``get_db``, ``get_engine``, ``csrf``) lives in ``webapp/context.py``, and no module of the
package imports this one. Views stay thin: parse input, call the engine, render.
One database session per request; it commits once at the end or rolls back.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from flask import Flask, g

from engine.config import ROOT, Settings

from . import admission, dbmode, i18n
from .context import babel, csrf
from .secret import load_or_create_secret


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    from .converters import register as register_converters

    register_converters(app)  # bounded <int:…> ids: a huge id is a 404, not a database overflow
    config = dict(config or {})
    settings: Settings = config.pop("SETTINGS", None) or Settings()
    app.config.update(
        SETTINGS=settings,
        VAR_DIR=str(ROOT / "var"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="ztc_session",
        PERMANENT_SESSION_LIFETIME=_dt.timedelta(hours=8),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        MAX_UPLOAD_BYTES=20 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        LANGUAGES={"zh": "中文", "en": "English"},
    )
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key or load_or_create_secret(Path(app.config["VAR_DIR"]))
    app.config.setdefault("UPLOAD_DIR", str(settings.upload_dir))

    _wire_database(app, settings)
    csrf.init_app(app)
    i18n.compile_catalogues()
    babel.init_app(
        app,
        default_translation_directories=str(Path(__file__).parent / "translations"),
        locale_selector=i18n.select_locale,
        timezone_selector=lambda: "Asia/Shanghai",
    )
    from . import errors, filters, health, limits, views_auth

    health.init_app(app)  # before the user's session is opened (issue 16)
    limits.init_app(app)  # JSON depth/size, file names: before anything reads the body
    errors.register(app)
    from . import files  # issue 20: file store errors answer 507/503

    files.register(app)
    filters.register(app)
    views_auth.register_user_loading(app)

    from . import startpage  # noqa: F401  (发起 routes on the office blueprint, issue 15)
    from .office import bp as office_bp
    from .portal import bp as portal_bp
    from .public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(office_bp)
    from .office_verbs import bp as verbs_bp  # 催办, 抄送, 常用意见 (issue 19)

    app.register_blueprint(verbs_bp)
    from .decisions import bp as decisions_bp  # 议定事项 board (issue 19)

    app.register_blueprint(decisions_bp)
    app.register_blueprint(portal_bp)
    from .designer import bp as designer_bp  # issue 7: designer / manager pages

    app.register_blueprint(designer_bp)
    from .stats import bp as stats_bp  # issue 8: statistics, unit assessment, bulletins

    app.register_blueprint(stats_bp)
    from . import admin_calendar, admin_users  # noqa: F401  (accounts, calendar: routes on the admin blueprint)
    from .admin import bp as admin_bp  # issue 5: incidents, suspend / resume / terminate

    app.register_blueprint(admin_bp)
    from .account import bp as account_bp  # issue 16: change one's own password

    app.register_blueprint(account_bp)
    from .notices import bp as notices_bp  # issue 14: the in-app notification centre

    app.register_blueprint(notices_bp)
    from .documents import bp as documents_bp  # issue 14: printable 交办单, 督办单, 会议纪要

    app.register_blueprint(documents_bp)

    from . import api, security  # issue 6: JSON API, security headers, log-in throttling and audit

    security.init_app(app)
    api.init_app(app)
    from . import logs, metrics  # issue 20: /metrics, /livez, /readyz; request ids, JSON logs

    metrics.init_app(app)
    logs.init_app(app)
    return app


def _wire_database(app: Flask, settings: Settings) -> None:
    """One session per request; commit at the end unless the request failed."""
    if app.config.get("SESSIONMAKER") is None:
        from engine.db import make_engine, make_sessionmaker

        app.config["SESSIONMAKER"] = make_sessionmaker(make_engine(settings.database_url))
    if app.config.get("ENGINE") is None:
        from .cli.common import build_engine

        app.config["ENGINE"] = build_engine(settings)
    if app.config.get("DIRECTORY") is None:
        from engine.names import load_directory

        app.config["DIRECTORY"] = load_directory(Path(settings.processes_dir) / "directory.json")

    from engine import clock as clock_mod

    admission.init_app(app, settings)  # PostgreSQL: at most a few writing requests of the process at once
    app.wsgi_app = dbmode.RetryAsWriter(app.wsgi_app)  # a read request that met a writer runs again

    @app.before_request
    def _use_engine_clock():
        # engine modules read clock.now(): make it the engine's clock for this request
        g._clock_cm = clock_mod.using(app.config["ENGINE"].clock)
        g._clock_cm.__enter__()

    @app.after_request
    def _commit(response):
        db = g.pop("db", None)
        if db is not None:
            dbmode.finish(db, response.status_code < 400 or g.get("force_commit"))
        return response

    @app.teardown_request
    def _rollback(exc):
        cm = g.pop("_clock_cm", None)
        if cm is not None:
            cm.__exit__(None, None, None)
        db = g.pop("db", None)
        if db is not None:  # the request failed before after_request
            db.rollback()
            db.close()
