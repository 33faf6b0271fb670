"""Database, demo data and API tokens: db-upgrade, stats-rebuild, demo-users, demo (issue 8),
token create|list|revoke (issue 6)."""

from __future__ import annotations

import sys

import click

from engine.config import Settings
from webapp.cli import common  # commands look common.session_factory up when they run (tests replace it)
from webapp.cli.common import build_engine, ensure_demo_users, main, print_login_hints
from webapp.cli.processes import deploy_quietly


@main.command("db-upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema."""
    common.session_factory(Settings())
    click.echo("database is up to date")


@main.command("stats-rebuild")
def stats_rebuild() -> None:
    """Recompute the statistics rollups (stats_*) from case_record and case_unit."""
    from engine import stats

    Session = common.session_factory(Settings())
    with Session.begin() as session:
        counts = stats.rebuild_rollups(session)
    click.echo("rollups rebuilt: " + ", ".join(f"{name} {n}" for name, n in counts.items()))


@main.command("demo-users")
def demo_users_command() -> None:
    """Create the demo users (one per role, unit and county) if missing, and list them."""
    settings = Settings()
    users, password = ensure_demo_users(common.session_factory(settings), settings)
    print_login_hints(users, password, f"http://{settings.host}:{settings.port}/")


@main.command("demo")
@click.option("--history", is_flag=True, help="generate the history since 2019-09 (the article's figures)")
@click.option("--until", default=None, help="last day of the history (YYYY-MM-DD; default: today)")
def demo_command(history: bool, until: str | None) -> None:
    """Demo data: users, and with --history a plausible history from 2019-09 to today whose
    dashboard shows exactly the article's figures (257 problems solved, 236 enterprises …).

    Every case runs through the real processes on a fake clock (a few minutes); run it on an
    empty database."""
    import datetime as _dt

    from sqlalchemy import func, select

    from engine.clock import FakeClock
    from engine.models import Instance
    from engine.workdays import CHINA
    from tooling import demo_history

    settings = Settings()
    Session = common.session_factory(settings)
    deploy_quietly(Session, settings)
    users, password = ensure_demo_users(Session, settings)
    if history:
        with Session() as session:
            if session.scalar(select(func.count()).select_from(Instance)):
                click.echo("the database already has instances; --history needs an empty database", err=True)
                sys.exit(1)
        end = _dt.date.fromisoformat(until) if until else _dt.datetime.now(CHINA).date()
        clock = FakeClock(_dt.datetime(2019, 9, 1, 9, 0, tzinfo=CHINA))
        engine = build_engine(settings)
        engine.clock = clock
        made = demo_history.generate(Session, engine, clock, end=end, log=click.echo)
        click.echo(f"history until {end}: {made}")
    print_login_hints(users, password, f"http://{settings.host}:{settings.port}/stats")


# -- API tokens (issue 6) ---------------------------------------------------------------------
@main.group()
def token() -> None:
    """Per-user API tokens (Authorization: Bearer …); only their hash is stored."""


def _user_or_exit(session, username: str):
    from engine.users import find_user

    user = find_user(session, username)
    if user is None:
        click.echo(f"error   no user '{username}'", err=True)
        sys.exit(1)
    return user


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="what the token is for")
def token_create(username: str, name: str) -> None:
    """Create a token for USERNAME and print it (it is shown this once only)."""
    from engine.errors import EngineError
    from engine.tokens import create_token

    Session = common.session_factory(Settings())
    try:
        with Session.begin() as session:
            row, secret = create_token(session, _user_or_exit(session, username), name)
            token_id = row.id
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"token {token_id} for {username} (shown once; store it safely):", err=True)
    click.echo(secret)


@token.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """The tokens of USERNAME (id, name, created, last used, revoked)."""
    from engine.tokens import tokens_of

    Session = common.session_factory(Settings())
    with Session() as session:
        for row in session.scalars(tokens_of(session, _user_or_exit(session, username))):
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
            click.echo(f"{row.id:6}  {row.name or '-':20}  {row.created_at:%Y-%m-%d %H:%M}  {used:16}  {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke the token with this id (any user's: this is the administrator's command)."""
    from engine.errors import EngineError
    from engine.tokens import revoke_token

    Session = common.session_factory(Settings())
    try:
        with Session.begin() as session:
            revoke_token(session, None, token_id)
    except EngineError as exc:
        click.echo(f"error   {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"token {token_id} revoked")
