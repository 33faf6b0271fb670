"""The timer ``worker`` and ``run`` (issue 4): migrate, deploy, set up accounts (the demo users with
``--demo``, else a first administrator on a database without one), then serve the web app and run
the worker."""

from __future__ import annotations

import subprocess
import sys

import click

from engine.config import SERVER_THREADS, Settings
from webapp.cli import common  # commands look common.session_factory up when they run (tests replace it)
from webapp.cli.common import build_engine, ensure_demo_users, main, print_login_hints
from webapp.cli.processes import deploy_quietly


@main.command()
@click.option("--once", is_flag=True, help="fire what is due now, send what is pending, then exit")
@click.option(
    "--poll",
    "poll",
    type=float,
    default=None,
    help="seconds between passes when idle (default ZHITONGCHE_WORKER_POLL_SECONDS or 2)",
)
@click.option("--id", "worker_id", default=None, help="worker id in the heartbeat table (default host:pid:random)")
def worker(once: bool, poll: float | None, worker_id: str | None) -> None:
    """Fire due timers and send notifications; SIGTERM stops it after the current step."""
    import logging

    from engine.worker import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    # the schema is migrated by `db-upgrade` / `run`; several workers must not race to do it
    Session = common.session_factory(settings, migrate=False)
    totals = run_forever(
        Session,
        build_engine(settings),
        once=once,
        poll_seconds=poll if poll is not None else settings.worker_poll_seconds,
        worker_id=worker_id,
    )
    if once:
        click.echo(
            f"fired {totals.fired}, incidents {totals.incidents}, notifications sent {totals.notifications.sent}"
        )
        if totals.db_errors:
            sys.exit(1)


def _is_default_database(settings: Settings) -> bool:
    from engine.config import DEFAULT_DATABASE_URL

    return settings.database_url == DEFAULT_DATABASE_URL


def prepare_accounts(Session, settings: Settings, demo: bool, url: str) -> None:
    """With ``demo``: the demo users (published password) and how to log in. Without: a first
    administrator with a random password, printed once, when the database has no administrator;
    and a warning when an administrator still has the published demo password."""
    from engine import accounts
    from engine.users import DEMO_PASSWORD, verify_password

    if demo:
        if not _is_default_database(settings):
            click.echo(
                "warning: demo users with a published password on a database other than the default "
                "demo file (var/zhitongche.db); never do this on a real database",
                err=True,
            )
        users, password = ensure_demo_users(Session, settings)
        print_login_hints(users, password, url)
        return
    weak: list[str] = []
    with Session.begin() as session:
        first = accounts.ensure_first_admin(session)
        if first is None:
            admins = [u for u in session.scalars(accounts.list_users(kind="admin", active=True))]
            weak = [u.username for u in admins if verify_password(u.password_hash, DEMO_PASSWORD)]
        else:
            username, password = first[0].username, first[1]
    if first is not None:
        click.echo("")
        click.echo(
            "created the first administrator (the password is shown this once and must be changed at the first "
            f"log-in, {url}login):"
        )
        click.echo(f"  user name: {username}")
        click.echo(f"  password:  {password}")
        click.echo("create the other accounts at /admin/users or with `zhitongche user create`")
        click.echo("")
    elif weak:
        click.echo(
            f"warning: {', '.join(weak)} still use the published demo password; "
            "change it (`zhitongche user reset-password NAME`)",
            err=True,
        )


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "webapp.cli", "worker"])


@main.command()
@click.option("--dev", is_flag=True, help="werkzeug's threaded server instead of gunicorn")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes")
@click.option(
    "--threads",
    type=int,
    default=SERVER_THREADS,
    show_default=True,
    help="threads per gunicorn worker (a writer waiting for SQLite's lock holds one)",
)
@click.option("--no-worker", is_flag=True, help="do not start the timer worker")
@click.option(
    "--demo", is_flag=True, help="create the demo users (password 'zhitongche', admin included): for trying it out only"
)
def run(dev: bool, workers: int, threads: int, no_worker: bool, demo: bool) -> None:
    """Migrate, deploy processes/ and forms/, set up accounts, then serve the web app and run the
    timer worker (port ZHITONGCHE_PORT, default 5000, host ZHITONGCHE_HOST).

    Without --demo no demo user is created; a database without an administrator gets one with a
    random password, printed once."""
    import signal

    settings = Settings()
    Session = common.session_factory(settings)  # migrates
    click.echo("database is up to date")
    deploy_quietly(Session, settings)
    url = f"http://{settings.host}:{settings.port}/"
    prepare_accounts(Session, settings, demo, url)
    worker_process = None if no_worker else _start_worker()

    def stop_worker(*_args):
        if worker_process is not None and worker_process.poll() is None:
            worker_process.terminate()
            try:
                worker_process.wait(timeout=10)
            except Exception:  # noqa: BLE001
                worker_process.kill()

    try:
        if dev:
            from werkzeug.serving import run_simple

            from webapp import create_app

            signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
            run_simple(settings.host, settings.port, create_app(), threaded=True, use_reloader=False)
        else:
            _serve_gunicorn(settings, workers, on_exit=stop_worker, threads=threads)
    finally:
        stop_worker()


def _serve_gunicorn(settings: Settings, workers: int, on_exit, threads: int = SERVER_THREADS) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", max(1, workers))
            self.cfg.set("threads", max(1, threads))
            self.cfg.set("timeout", 60)
            self.cfg.set("accesslog", "-")
            self.cfg.set("on_exit", lambda _server: on_exit())

        def load(self):
            from webapp import create_app

            return create_app()

    _App().run()
