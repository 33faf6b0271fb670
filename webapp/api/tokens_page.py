"""/account/tokens: a logged-in person creates and revokes their own API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine import tokens
from engine.errors import InvalidRequest

from ..context import get_db

bp = Blueprint("apitokens", __name__, template_folder="templates")


def _login_first():
    if g.get("user") is None:
        return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
    return None


@bp.route("/account/tokens", methods=["GET", "POST"])
def tokens_page():
    if (response := _login_first()) is not None:
        return response
    new_secret = None
    if request.method == "POST":
        try:
            _row, new_secret = tokens.create_token(get_db(), g.user, request.form.get("name", ""))
        except InvalidRequest as exc:
            flash(exc.message, "error")
    rows = list(get_db().scalars(tokens.tokens_of(get_db(), g.user)))
    return render_template("api/tokens.html", tokens=rows, new_secret=new_secret)


@bp.post("/account/tokens/<int(max=2147483647):token_id>/revoke")
def revoke(token_id: int):
    if (response := _login_first()) is not None:
        return response
    tokens.revoke_token(get_db(), g.user, token_id)
    return redirect(url_for("apitokens.tokens_page"))
