"""Operations commands (issue 20): ``files-migrate`` moves attachments from the local upload
folder into the database; ``backup`` and ``restore`` (webapp/cli/backup.py does the work)."""
from __future__ import annotations

import sys

import click

from engine.config import Settings
from webapp import cli  # commands look cli._session_factory up when they run (tests replace it)
from webapp.cli import main


@main.command("files-migrate")
@click.option("--remove", is_flag=True, help="delete each local file once it is safely in the database")
def files_migrate(remove: bool) -> None:
    """Move attachments still under ZHITONGCHE_UPLOAD_DIR into the database (idempotent)."""
    from engine.storage import migrate_local_files

    settings = Settings()
    Session = cli._session_factory(settings)
    report = migrate_local_files(Session, settings.upload_dir, remove=remove, log=click.echo)
    click.echo(f"moved {report.moved}, already {report.already}, missing {len(report.missing)}, "
               f"mismatched {len(report.mismatched)}")
    if report.missing or report.mismatched:
        sys.exit(1)
