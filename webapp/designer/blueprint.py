"""The designer pages' blueprint (``designer.*`` endpoints, under /designer); ``editors`` and
``views`` add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("designer", "webapp.designer", url_prefix="/designer")
