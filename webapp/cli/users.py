"""Accounts from the command line: ``zhitongche user create|list|reset-password|deactivate|activate``.

The same rules as the admin pages (engine/accounts.py): the password policy, known groups and
counties, an audit entry per change; a reset or a deactivation ends the user's sessions.
"""

from __future__ import annotations

import sys

import click

from engine.config import Settings
from webapp.cli import common  # commands look common.session_factory up when they run (tests replace it)
from webapp.cli.common import main

ACTOR = "cli"


def _directory(settings: Settings):
    from pathlib import Path

    from engine.names import load_directory

    return load_directory(Path(settings.processes_dir) / "directory.json")


def _fail(message: str) -> None:
    click.echo(f"error   {message}", err=True)
    sys.exit(1)


def _password(random_password: bool, username: str) -> str:
    from engine import passwords

    if random_password:
        return passwords.generate()
    while True:
        value = click.prompt("password", hide_input=True, confirmation_prompt=True)
        problem = passwords.problem(value, username)
        if problem is None:
            return value
        click.echo(passwords.MESSAGES[problem], err=True)
        if not sys.stdin.isatty():  # a script gets one try
            sys.exit(1)


@main.group()
def user() -> None:
    """Accounts of officials, designers and administrators (enterprises register themselves)."""


@user.command("create")
@click.argument("username")
@click.option("--name", "display_name", default="", help="display name (e.g. 市自然资源局经办人)")
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="repeatable: admin, designer, wg:COUNTY, leader:COUNTY, unit:UNIT, head:UNIT",
)
@click.option("--county", default=None, help="county code (city, jianping, …)")
@click.option("--email", default=None, help="for e-mail notifications")
@click.option("--phone", default=None)
@click.option("--admin", "is_admin", is_flag=True, help="an administrator (kind admin, group admin)")
@click.option("--random-password", is_flag=True, help="generate a password and print it once (else: prompt)")
def user_create(
    username: str,
    display_name: str,
    groups: tuple[str, ...],
    county: str | None,
    email: str | None,
    phone: str | None,
    is_admin: bool,
    random_password: bool,
) -> None:
    """Create an official (groups give roles, units, county), a designer or an administrator."""
    from engine import accounts
    from engine.errors import EngineError

    settings = Settings()
    password = _password(random_password, username)
    Session = common.session_factory(settings)
    try:
        with Session.begin() as session:
            created = accounts.create_user(
                session,
                _directory(settings),
                username=username,
                password=password,
                display_name=display_name,
                kind="admin" if is_admin else "official",
                groups=groups,
                county=county,
                email=email,
                phone=phone,
                actor=ACTOR,
            )
            summary = f"{created.username} ({created.kind}: {', '.join(created.groups)})"
    except EngineError as exc:
        _fail(exc.message)
    click.echo(f"created {summary}")
    if random_password:
        click.echo("password (shown once):", err=True)
        click.echo(password)


@user.command("list")
@click.option("-q", "query", default=None, help="part of the user name or display name")
@click.option("--kind", type=click.Choice(["official", "admin", "enterprise"]), default=None)
@click.option("--inactive", is_flag=True, help="only deactivated accounts")
def user_list(query: str | None, kind: str | None, inactive: bool) -> None:
    """User name, kind, state, county, groups and display name of each account."""
    from engine import accounts

    Session = common.session_factory(Settings())
    with Session() as session:
        for u in session.scalars(accounts.list_users(query, kind, False if inactive else None)):
            state = "active" if u.active else "inactive"
            click.echo(
                f"{u.username:28} {u.kind:10} {state:8} {u.county or '-':12} "
                f"{','.join(u.groups or []) or '-':30} {u.display_name}"
            )


def _change(username: str, operation) -> None:
    from engine.errors import EngineError
    from engine.users import find_user

    Session = common.session_factory(Settings())
    try:
        with Session.begin() as session:
            target = find_user(session, username)
            if target is None:
                _fail(f"no user '{username}'")
            operation(session, target)
    except EngineError as exc:
        _fail(exc.message)


@user.command("reset-password")
@click.argument("username")
@click.option("--random-password", is_flag=True, help="generate a password and print it once (else: prompt)")
def user_reset_password(username: str, random_password: bool) -> None:
    """Set USERNAME's password; every session of the user ends."""
    from engine import accounts

    password = _password(random_password, username)
    _change(username, lambda session, target: accounts.reset_password(session, target, password, actor=ACTOR))
    click.echo(f"password of {username} reset; their sessions have ended")
    if random_password:
        click.echo("password (shown once):", err=True)
        click.echo(password)


@user.command("deactivate")
@click.argument("username")
def user_deactivate(username: str) -> None:
    """USERNAME can no longer log in nor use API tokens; their sessions end."""
    from engine import accounts

    _change(username, lambda session, target: accounts.set_active(session, target, False, actor=ACTOR))
    click.echo(f"{username} deactivated")


@user.command("activate")
@click.argument("username")
def user_activate(username: str) -> None:
    """Let a deactivated USERNAME log in again."""
    from engine import accounts

    _change(username, lambda session, target: accounts.set_active(session, target, True, actor=ACTOR))
    click.echo(f"{username} activated")
