"""The blueprint of the officials' pages (``office.*`` endpoints): ``office.py`` and
``startpage.py`` (发起, issue 15) add their routes to it; create_app registers it once both
are imported."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("office", "webapp.office")
