"""The timer ``worker`` and ``run`` (issue 4): migrate, deploy, set up accounts (the demo users with
``--demo``, else a first administrator on a database without one), then serve the web app and run
the worker."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from engine.config import SERVER_THREADS, Settings
from engine.deploy import collect_files
from engine.parsing import BundleError
from webapp import cli  # commands look cli._session_factory up when they run (tests replace it)
from webapp.cli import build_engine, main


@main.command()
@click.option("--once", is_flag=True, help="fire what is due now, send what is pending, then exit")
@click.option("--poll", "poll", type=float, default=None,
              help="seconds between passes when idle (default ZHITONGCHE_WORKER_POLL_SECONDS or 2)")
@click.option("--id", "worker_id", default=None, help="worker id in the heartbeat table (default host:pid:random)")
def worker(once: bool, poll: float | None, worker_id: str | None) -> None:
    """Fire due timers and send notifications; SIGTERM stops it after the current step."""
    import logging

    from engine.worker import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    # the schema is migrated by `db-upgrade` / `run`; several workers must not race to do it
    Session = cli._session_factory(settings, migrate=False)
    totals = run_forever(Session, build_engine(settings), once=once,
                         poll_seconds=poll if poll is not None else settings.worker_poll_seconds,
                         worker_id=worker_id)
    if once:
        click.echo(f"fired {totals.fired}, incidents {totals.incidents}, notifications sent "
                   f"{totals.notifications.sent}")
        if totals.db_errors:
            sys.exit(1)


def _ensure_demo_users(Session, settings: Settings):
    from engine.names import load_directory
    from engine.users import DEMO_PASSWORD, ensure_demo_users

    password = os.environ.get("ZHITONGCHE_DEMO_PASSWORD", DEMO_PASSWORD)
    directory = load_directory(Path(settings.processes_dir) / "directory.json")
    with Session.begin() as session:
        return ensure_demo_users(session, directory, password), password


def _print_login_hints(users, password: str, url: str) -> None:
    click.echo("")
    click.echo(f"demo users (password for all: {password})")
    by_role: dict[str, list[str]] = {}
    for u in users:
        role = u.groups[0].split(":", 1)[0] if u.groups else u.kind
        by_role.setdefault(role, []).append(u.username)
    labels = {"admin": "admin 系统管理员", "designer": "designer 流程设计", "wg": "working group 工作组",
              "leader": "leader 领导", "unit": "unit handler 经办人", "head": "unit head 负责人",
              "enterprise": "enterprise 企业"}
    for role, names in by_role.items():
        shown = ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
        click.echo(f"  {labels.get(role, role):24} {shown}")
    click.echo(f"open {url} and log in (e.g. wg.city, unit.zrzyj, head.zrzyj, leader.mayor, ent.demo1)")
    click.echo("")


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
            click.echo("warning: demo users with a published password on a database other than the default "
                       "demo file (var/zhitongche.db); never do this on a real database", err=True)
        users, password = _ensure_demo_users(Session, settings)
        _print_login_hints(users, password, url)
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
        click.echo("created the first administrator (the password is shown this once; change it at "
                   f"{url}account/password):")
        click.echo(f"  user name: {username}")
        click.echo(f"  password:  {password}")
        click.echo("create the other accounts at /admin/users or with `zhitongche user create`")
        click.echo("")
    elif weak:
        click.echo(f"warning: {', '.join(weak)} still use the published demo password; "
                   "change it (`zhitongche user reset-password NAME`)", err=True)


def _deploy_quietly(Session, settings: Settings) -> None:
    """`run`'s deploy step: the files, unless a newer web/API version would be superseded."""
    from engine.deployguard import DeployConflict

    from .processes import deploy_from_files, echo_conflict

    files = collect_files(settings.processes_dir, settings.forms_dir)
    if not any(name.endswith((".bpmn", ".bpmn20.xml")) for name in files):
        click.echo(f"no process files in {settings.processes_dir}; nothing deployed")
        return
    try:
        result = deploy_from_files(Session, settings, "run")
    except BundleError as exc:
        for problem in exc.problems:
            click.echo(f"error   {problem}", err=True)
        click.echo("the process files have problems; running with the versions deployed before", err=True)
        return
    except DeployConflict as exc:
        echo_conflict(exc)
        click.echo("the files were not deployed; running with the versions deployed before "
                   "(`zhitongche export PROCESS` to take the newer version into the files, "
                   "`zhitongche deploy --force` to deploy the files over it)", err=True)
        return
    for line in result.lines():
        click.echo(line)


def _start_worker() -> "subprocess.Popen | None":
    if "worker" not in main.commands:
        # the timer worker is not part of this build: deadlines and timers will not fire
        click.echo("warning: no `worker` command; timers will not fire", err=True)
        return None
    return subprocess.Popen([sys.executable, "-m", "webapp.cli", "worker"])


@main.command()
@click.option("--dev", is_flag=True, help="werkzeug's threaded server instead of gunicorn")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", type=int, default=SERVER_THREADS, show_default=True,
              help="threads per gunicorn worker (a writer waiting for SQLite's lock holds one)")
@click.option("--no-worker", is_flag=True, help="do not start the timer worker")
@click.option("--demo", is_flag=True,
              help="create the demo users (password 'zhitongche', admin included): for trying it out only")
def run(dev: bool, workers: int, threads: int, no_worker: bool, demo: bool) -> None:
    """Migrate, deploy processes/ and forms/, set up accounts, then serve the web app and run the
    timer worker (port ZHITONGCHE_PORT, default 5000, host ZHITONGCHE_HOST).

    Without --demo no demo user is created; a database without an administrator gets one with a
    random password, printed once."""
    import signal

    settings = Settings()
    Session = cli._session_factory(settings)  # migrates
    click.echo("database is up to date")
    _deploy_quietly(Session, settings)
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
