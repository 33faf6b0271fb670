"""`zhitongche user create|list|reset-password|deactivate|activate`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.models import AuditEntry, User, UserSession
from engine.users import authenticate
from webapp.cli import main

GOOD = "tall pines by the river"


@pytest.fixture
def cli_db(Session, monkeypatch, tmp_path):
    from webapp.cli import common

    monkeypatch.setattr(common, "session_factory", lambda settings, migrate=True: Session)
    monkeypatch.setenv("ZHITONGCHE_PROCESSES_DIR", str(tmp_path / "none"))  # the built-in directory
    return Session


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_create_an_official_with_a_prompted_password(cli_db):
    result = run(
        "user",
        "create",
        "unit.zrzyj.li",
        "--name",
        "李经办",
        "--group",
        "unit:zrzyj",
        "--group",
        "head:zrzyj",
        "--county",
        "city",
        "--email",
        "li@example.cn",
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created unit.zrzyj.li (official: unit:zrzyj, head:zrzyj)" in result.output
    with cli_db() as s:
        user = authenticate(s, "unit.zrzyj.li", GOOD)
        assert user is not None and (user.display_name, user.county, user.email) == ("李经办", "city", "li@example.cn")
        assert s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "user_created")).one() == "cli"
    listed = run("user", "list", "-q", "zrzyj")
    assert "unit.zrzyj.li" in listed.output and "active" in listed.output


def test_create_a_designer_and_an_admin_with_random_passwords(cli_db):
    designer = run("user", "create", "designer.wang", "--group", "designer", "--group", "wg:city", "--random-password")
    assert designer.exit_code == 0, designer.output
    password = designer.stdout.strip().splitlines()[-1]
    admin = run("user", "create", "ops", "--admin", "--random-password")
    assert admin.exit_code == 0 and "created ops (admin: admin)" in admin.output
    with cli_db() as s:
        assert authenticate(s, "designer.wang", password).groups == ["designer", "wg:city"]


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--group", "unit:zrzyj"], "zhitongche\nzhitongche\n", "at least 12 characters"),
        (["--group", "unit:zrzyj"], "x.y.zhang forever\nx.y.zhang forever\n", "must not contain the user name"),
        (["--group", "unit:zrzyj"], "password1234\npassword1234\n", "too common"),
        (["--group", "unit:atlantis"], f"{GOOD}\n{GOOD}\n", "unknown group 'unit:atlantis'"),
        ([], f"{GOOD}\n{GOOD}\n", "at least one group"),
        (["--group", "wg:city", "--county", "atlantis"], f"{GOOD}\n{GOOD}\n", "unknown county"),
    ],
)
def test_create_refuses_bad_input(cli_db, args, stdin, message):
    result = run("user", "create", "x.y.zhang", *args, input=stdin)
    assert result.exit_code == 1 and message in result.output
    with cli_db() as s:
        assert s.scalars(select(User).where(User.username == "x.y.zhang")).first() is None


def test_reset_deactivate_and_activate(cli_db, clock):
    from engine import sessions

    assert run("user", "create", "wg.kazuo.zhao", "--group", "wg:kazuo", "--random-password").exit_code == 0
    with cli_db.begin() as s:
        sessions.new_session(s, s.scalars(select(User).where(User.username == "wg.kazuo.zhao")).one())
    reset = run("user", "reset-password", "wg.kazuo.zhao", input=f"{GOOD}\n{GOOD}\n")
    assert reset.exit_code == 0 and "sessions have ended" in reset.output
    with cli_db() as s:
        assert authenticate(s, "wg.kazuo.zhao", GOOD) is not None
        assert s.scalars(select(UserSession.end_reason)).one() == "password_reset"
    assert run("user", "deactivate", "wg.kazuo.zhao").exit_code == 0
    with cli_db() as s:
        assert authenticate(s, "wg.kazuo.zhao", GOOD) is None
    assert "inactive" in run("user", "list", "--inactive").output
    assert run("user", "activate", "wg.kazuo.zhao").exit_code == 0
    with cli_db() as s:
        assert authenticate(s, "wg.kazuo.zhao", GOOD) is not None
    assert run("user", "deactivate", "nobody").exit_code == 1
