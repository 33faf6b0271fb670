"""`zhitongche token create|list|revoke`."""

from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

from webapp.cli import main


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    from engine.db import make_engine, make_sessionmaker
    from engine.models import Base, User
    from webapp.cli import common

    db_engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    Base.metadata.create_all(db_engine)
    Session = make_sessionmaker(db_engine)
    monkeypatch.setattr(common, "session_factory", lambda settings, migrate=True: Session)
    with Session.begin() as s:
        s.add(User(username="wg.city", password_hash="x", groups=["wg:city"]))
    yield Session
    db_engine.dispose()


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_token_create_list_and_revoke(cli_db):
    from engine.models import ApiToken

    created = run("token", "create", "wg.city", "--name", "12345 hotline")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("ztc_")
    with cli_db() as s:
        row = s.query(ApiToken).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and row.name == "12345 hotline"
    listed = run("token", "list", "wg.city")
    assert "12345 hotline" in listed.output and "active" in listed.output
    assert run("token", "revoke", str(row.id)).exit_code == 0
    assert "revoked" in run("token", "list", "wg.city").output


def test_unknown_user_or_token_is_an_error(cli_db):
    assert run("token", "create", "nobody").exit_code == 1
    assert run("token", "revoke", "99").exit_code == 1
