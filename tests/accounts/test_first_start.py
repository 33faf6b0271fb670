"""`zhitongche run` without --demo: no account with the published password, on a fresh
PostgreSQL (or SQLite) database; one administrator with a random password printed once."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine.db import make_sessionmaker, upgrade
from engine.models import Base, User
from engine.names import Directory
from engine.users import DEMO_PASSWORD, authenticate, demo_users
from tests.conftest import _databases, make_test_db
from webapp.cli import main


@pytest.fixture(params=_databases())
def fresh_db(request, tmp_path, monkeypatch):
    """An empty database (no tables at all) that `run` migrates, as on a first start."""
    from webapp.cli import common, serve

    engine, cleanup = make_test_db(request.param, tmp_path)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DROP TABLE "{table.name}"' + (" CASCADE" if request.param == "postgresql" else "")))

    def session_factory(settings, migrate=True):
        if migrate:
            upgrade(engine)
        return make_sessionmaker(engine)

    monkeypatch.setattr(common, "session_factory", session_factory)
    monkeypatch.setattr(serve, "_serve_gunicorn", lambda *args, **kwargs: None)  # start up, then stop
    monkeypatch.setenv("ZHITONGCHE_PROCESSES_DIR", str(tmp_path / "no-processes"))
    monkeypatch.setenv("ZHITONGCHE_FORMS_DIR", str(tmp_path / "no-forms"))
    monkeypatch.setenv("ZHITONGCHE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    yield make_sessionmaker(engine)
    cleanup()


def _run(*args):
    return CliRunner().invoke(main, ["run", "--no-worker", *args], catch_exceptions=False)


def _web_login(Session, username: str, password: str) -> int:
    from engine.runtime import Engine
    from tests.web.conftest import Browser
    from webapp import create_app

    app = create_app({"TESTING": True, "SESSIONMAKER": Session, "ENGINE": Engine(), "SECRET_KEY": "s"})
    browser = Browser(app.test_client())
    browser.get("/login")
    return browser.post("/login", {"username": username, "password": password}).status_code


def test_a_fresh_database_started_without_demo_has_no_account_with_the_published_password(fresh_db):
    result = _run()
    assert result.exit_code == 0, result.output
    assert "demo users" not in result.output and DEMO_PASSWORD not in result.output.replace("zhitongche user", "")
    password = re.search(r"password:\s+(\S+)", result.output).group(1)
    with fresh_db() as session:
        users = session.scalars(select(User)).all()
        assert [(u.username, u.kind, u.groups) for u in users] == [("admin", "admin", ["admin"])]
        demo_names = {d.username for d in demo_users(Directory())}
        assert demo_names & set(session.scalars(select(User.username))) == {"admin"}  # only the new admin
        assert all(authenticate(session, u.username, DEMO_PASSWORD) is None for u in users)
    for name in ("admin", "wg.city", "leader.mayor", "designer"):
        assert _web_login(fresh_db, name, DEMO_PASSWORD) == 401
    assert _web_login(fresh_db, "admin", password) == 302  # the printed password works

    again = _run()  # the next start creates nobody and prints no password
    assert again.exit_code == 0 and password not in again.output and "first administrator" not in again.output
    with fresh_db() as session:
        assert session.scalar(select(User.id).where(User.username != "admin")) is None


def test_a_deleted_demo_user_is_not_recreated_without_demo(fresh_db):
    assert _run("--demo").exit_code == 0
    with fresh_db.begin() as session:
        session.delete(session.scalars(select(User).where(User.username == "wg.city")).one())
    result = _run()
    assert result.exit_code == 0
    assert "still use the published demo password" in result.output  # the admin is warned about
    with fresh_db() as session:
        assert session.scalars(select(User).where(User.username == "wg.city")).first() is None


def test_run_with_demo_creates_the_demo_users_and_prints_the_login_hints(fresh_db):
    result = _run("--demo")
    assert result.exit_code == 0, result.output
    assert f"password for all: {DEMO_PASSWORD}" in result.output and "wg.city" in result.output
    assert "database other than the default" in result.output  # ZHITONGCHE_DATABASE_URL is not the demo file
    with fresh_db() as session:
        assert authenticate(session, "wg.city", DEMO_PASSWORD) is not None
        assert "first administrator" not in result.output  # the demo admin is the administrator


def test_the_printed_password_must_be_changed_at_the_first_log_in(fresh_db):
    """The first administrator's password went to the start-up output (service logs): the first
    log-in leads to the password page, and nothing else opens until it is changed."""
    from engine.runtime import Engine
    from tests.web.conftest import Browser
    from webapp import create_app

    result = _run()
    password = re.search(r"password:\s+(\S+)", result.output).group(1)
    app = create_app({"TESTING": True, "SESSIONMAKER": fresh_db, "ENGINE": Engine(), "SECRET_KEY": "s"})
    browser = Browser(app.test_client())
    browser.get("/login")
    assert browser.post("/login", {"username": "admin", "password": password}).status_code == 302
    for page in ("/", "/admin/users", "/cases"):
        answer = browser.get(page)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/password"), page
    assert "请先修改密码" in browser.get("/account/password").get_data(as_text=True)
    new = "Wq7-lantern-Harbor-93"
    answer = browser.post("/account/password", {"current": password, "new": new, "new2": new})
    assert answer.status_code == 302
    assert browser.get("/admin/users").status_code == 200
    with fresh_db() as session:
        assert session.scalar(select(User.must_change_password).where(User.username == "admin")) is False
