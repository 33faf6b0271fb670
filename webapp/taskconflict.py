"""When the task a person opens or submits was finished by someone else (issue 13): a page
that says who finished it and when ("该事项已由 wg.city2 于 10:32 办理完毕"), with what they
typed kept to copy from — never a 404 or a 500 for the second of two people on one task.

``TaskFinished`` is raised by ``taskpage.load_task`` for a task that is no longer ready but
was the person's to work on (``engine.access.finished_task``); ``register`` installs the
page for it on a blueprint. ``render_finished`` is also called when two completions raced
and the other one committed first (optimistic lock on the instance).
"""

from __future__ import annotations

import json
from typing import Any

from flask import g, render_template, request, url_for
from flask_babel import gettext as _

from engine.models import HumanTask

from . import formrender
from .context import get_db, get_engine
from .directory import choices
from .filters import beijing
from .i18n import current_lang

TASK_ENDPOINTS = ("office.task", "portal.task")


class TaskFinished(Exception):
    """The task is no longer ready; ``task`` says who finished it and when."""

    def __init__(self, task: HumanTask) -> None:
        super().__init__(f"task {task.id} is {task.state}")
        self.task = task


def finished_message(task: HumanTask) -> str:
    if task.state == "completed" and task.completed_at is not None:
        now = get_engine().clock.now()
        same_day = beijing(task.completed_at, "%Y-%m-%d") == beijing(now, "%Y-%m-%d")
        when = beijing(task.completed_at, "%H:%M" if same_day else "%Y-%m-%d %H:%M")
        return _("该事项已由 %(who)s 于 %(when)s 办理完毕", who=task.completed_by or "?", when=when)
    return _("该事项已撤销（案件流程已变化），无需再办理")


def _label_of(spec: dict, value: Any) -> str:
    """A choice's title where the schema gives one (enum + enumNames, oneOf const/title)."""
    for option in spec.get("oneOf") or spec.get("anyOf") or []:
        if isinstance(option, dict) and option.get("const") == value:
            return str(option.get("title", value))
    names, values = spec.get("enumNames"), spec.get("enum")
    if names and values and value in values and len(names) == len(values):
        return str(names[values.index(value)])
    return str(value)


def _plain(spec: dict, value: Any) -> str:
    if isinstance(value, list):
        items = spec.get("items") or {}
        return "、".join(
            str(v.get("name", v.get("id")))
            if isinstance(v, dict) and "id" in v
            else json.dumps(v, ensure_ascii=False)
            if isinstance(v, dict)
            else _label_of(items, v)
            for v in value
        )
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return _label_of(spec, value)


def draft_text(schema: dict, ui: dict | None, values: dict) -> str:
    """What was typed, one ``标签：值`` line per filled field, to copy from."""
    lines = []
    for f in formrender.fields_of(schema, ui):
        value = values.get(f.name)
        if value in (None, "", []):
            continue
        lines.append(f"{f.label(current_lang())}：{_plain(f.schema, value)}")
    return "\n".join(lines)


def submitted_values(task: HumanTask) -> dict:
    """The values of a form post to the task page (files are not stored again)."""
    if request.method != "POST" or request.endpoint not in TASK_ENDPOINTS or request.form.get("action") == "draft":
        return {}
    schema, ui = get_engine().form_of(task)
    return formrender.parse(schema or {"type": "object", "properties": {}}, ui, request.form)


def render_finished(task: HumanTask, audience: str, values: dict | None = None):
    """The page: who finished the task and when; what this person typed, kept read-only and
    as text to copy. 409 when a submission was refused, 200 when the page was only opened."""
    schema, ui = get_engine().form_of(task)
    schema = schema or {"type": "object", "properties": {}}
    values = {k: v for k, v in (values or {}).items() if v not in (None, "", [])}
    kept_html = kept_text = None
    if values:
        kept_html = formrender.Renderer(schema, ui, choices=choices(), lang=current_lang(), readonly=True).render(
            values
        )
        kept_text = draft_text(schema, ui, values)
    if audience == "portal":
        case_url, back_url = url_for("portal.case", case_id=task.instance_id), url_for("portal.home")
    else:
        case_url, back_url = url_for("office.case", case_id=task.instance_id), url_for("office.inbox")
    return render_template(
        "task_finished.html",
        task=task,
        message=finished_message(task),
        kept_html=kept_html,
        kept_text=kept_text,
        case_url=case_url,
        back_url=back_url,
    ), 409 if values else 200


def register(blueprint, audience: str) -> None:
    @blueprint.errorhandler(TaskFinished)
    def _finished(exc: TaskFinished):
        return render_finished(exc.task, audience, submitted_values(exc.task))


def reload_after_conflict(task_id: int) -> HumanTask | None:
    """The task as committed by the other request (the failed transaction is rolled back)."""
    db = get_db()
    db.rollback()
    g.pop("force_commit", None)
    return db.get(HumanTask, task_id, populate_existing=True)
