"""What a request works with: its database session, the engine, the directory, and the app's
extension objects. Blueprints and helpers import these from here, never from the package root
(``webapp/__init__.py`` only composes the app).

``get_db()`` opens the request's session on first use (a reader on SQLite for a read request,
webapp/dbmode.py); create_app commits it once at the end of the request or rolls it back.
"""

from __future__ import annotations

from flask import current_app, g
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from engine.names import Directory
from engine.runtime import Engine

from . import dbmode

csrf = CSRFProtect()
babel = Babel()


def get_db() -> Session:
    """The request's database session (opened on first use)."""
    if "db" not in g:
        g.db = dbmode.open_session(current_app.config["SESSIONMAKER"])  # readers: no write lock
        get_engine().calendar.sync(g.db)  # an admin's calendar edit, in every process
    return g.db


def get_engine() -> Engine:
    """The app's engine (one per process; built by create_app unless the config brings one)."""
    return current_app.config["ENGINE"]


def get_directory() -> Directory:
    """Counties, units and categories of processes/directory.json (loaded by create_app), named
    in the reader's language (English names where the directory gives them)."""
    from .i18n import current_lang

    return current_app.config["DIRECTORY"].in_language(current_lang())
