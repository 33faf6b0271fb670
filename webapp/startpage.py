"""发起: officials start a process that has a none start event with a start form, when their
groups include its ``candidateStarterGroups`` (engine/startforms.py). The form is the deployed
version's; bad input is shown field by field with what was typed kept."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import cases, startforms
from engine.errors import NotFound
from engine.forms import FormValidationError

from . import formrender
from .context import get_db, get_engine
from .directory import choices
from .i18n import current_lang
from .officebp import bp
from .views_auth import official_required


def _render(item: startforms.Startable, values: dict, errors: dict, status: int = 200):
    renderer = formrender.Renderer(
        item.form,
        item.ui,
        choices=choices(),
        lang=current_lang(),
        readonly=False,
        attachment_url=lambda i: "#",
        attachment_name=lambda i: None,
    )
    return render_template(
        "office/start.html",
        item=item,
        form_html=renderer.render(values, errors),
        errors=errors,
        form_title=item.form.get("title"),
    ), status


@bp.route("/start/<process_id>", methods=["GET", "POST"])
@official_required
def start_process(process_id: str):
    try:
        item = startforms.one(get_db(), get_engine(), process_id, g.principal.groups)
    except NotFound:
        from flask import abort

        abort(404)
    if request.method == "GET":
        return _render(item, {}, {})
    data = formrender.parse(item.form, item.ui, request.form, None, None)
    data = {k: v for k, v in data.items() if v is not None}
    try:
        cases.start_by_hand(get_db(), get_engine(), item, data, g.user.username)
    except FormValidationError as exc:
        return _render(item, data, exc.by_field(current_lang()), 422)
    flash(_("已发起：%(name)s", name=item.name), "ok")
    return redirect(url_for("office.inbox"))


def startable_here() -> list[startforms.Startable]:
    """For the inbox: the processes this person may start (a 发起 button each)."""
    return startforms.startable(get_db(), get_engine(), g.principal.groups)
