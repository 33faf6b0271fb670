"""The ``zhitongche`` command line.

The group ``main`` and the helpers the commands share live in ``common``; the commands live in
``processes`` (deploy, validate, diff, migrate, test-process), ``serve`` (run, worker),
``admin`` (db-upgrade, stats-rebuild, demo-users, demo, token), ``users`` (user …), ``doctor``,
``ops`` and ``bench``, which are imported here so that their commands register on ``main``.
"""

from __future__ import annotations

from webapp.cli import admin, bench, doctor, ops, processes, serve, users  # noqa: F401  (register the commands)
from webapp.cli.common import main

__all__ = ["main"]
