"""The task page, shared by officials and enterprises: the form rendered from its JSON
Schema beside the case summary and its history; "complete" and "save draft"."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import access, casefiles
from engine.errors import Conflict, NotFound
from engine.forms import FormValidationError
from engine.models import HumanTask
from engine.storage import StorageError

from . import dossierview, formrender, taskconflict
from .context import get_db, get_engine
from .directory import choices
from .dossierview import attachment_namer  # noqa: F401  (also used as taskpage.attachment_namer)
from .files import file_store, storage_message
from .i18n import current_lang
from .taskconflict import TaskFinished


def load_task(task_id: int) -> HumanTask:
    """The task if the person may open it; ``TaskFinished`` if it was theirs to work on and
    someone finished it; 404 otherwise (existence is not revealed)."""
    try:
        return access.visible_task(get_db(), g.principal, task_id)
    except NotFound:
        finished = access.finished_task(get_db(), g.principal, task_id)
        if finished is None:
            raise
        raise TaskFinished(finished) from None


@dataclass
class Uploads:
    """Stores the files of a form post; remembers rejected ones as field errors."""

    task: HumanTask | None
    instance_id: int | None
    errors: dict[str, str] = field(default_factory=dict)
    failure: StorageError | None = None  # the file store failed: answer its 507/503, keep the typed form
    internal: bool = False  # a case-page file the enterprise may not read

    @property
    def status(self) -> int:
        return self.failure.status if self.failure is not None else 422

    def __call__(self, storage) -> dict | None:
        try:
            attachment = casefiles.store_upload(
                get_db(),
                file_store(),
                filename=storage.filename,
                stream=storage.stream,
                uploaded_by=g.user.username,
                instance_id=self.instance_id,
                task_id=self.task.id if self.task else None,
                max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
            )
        except casefiles.UploadRejected as exc:
            self.errors[storage.name] = upload_message(exc)
            return None
        except StorageError as exc:
            self.failure = exc
            self.errors[storage.name] = storage_message(exc)
            return None
        instance = (
            self.task.instance
            if self.task
            else (get_db().get(casefiles.Instance, self.instance_id) if self.instance_id else None)
        )
        get_engine().audit(
            get_db(),
            g.user.username,
            "upload",
            instance,
            self.task,
            {"file": attachment.filename, "id": attachment.id, **({"internal": True} if self.internal else {})},
        )
        return {"id": attachment.id, "name": attachment.filename}


def upload_message(exc: casefiles.UploadRejected) -> str:
    code = exc.details.get("code")
    name = exc.details.get("filename", "")
    if code == "size":
        return _(
            "文件 %(name)s 超过大小限制（%(mb)s MB）",
            name=name,
            mb=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024),
        )
    if code == "type":
        return _("文件 %(name)s 的类型不允许；允许：PDF、图片、Word、Excel、TXT、ZIP、OFD", name=name)
    if code == "empty":
        return _("文件 %(name)s 是空的", name=name)
    return _("文件 %(name)s 的内容与扩展名不符", name=name)


def parse_form(schema: dict, ui: dict | None, uploads: Uploads) -> dict:
    def save(storage):
        saved = uploads(storage)
        return saved

    data = formrender.parse(schema, ui, request.form, request.files, save)
    # a rejected upload yields None inside a list (an empty list is a choice: "none")
    for key, value in list(data.items()):
        if isinstance(value, list):
            data[key] = [v for v in value if v is not None]
            if value and not data[key]:
                del data[key]
        elif value is None:
            del data[key]
    return data


def initial_values(
    schema: dict | None, task_data: dict, draft: dict | None, fresh: set[str] | frozenset = frozenset()
) -> dict:
    """What the form shows first: task data for its fields, then the saved draft. A field in
    ``fresh`` (the same step answered it in an earlier round: engine/taskcontext.py ``fresh_fields``)
    starts from its default instead: the official decides again and reads the earlier answer
    in the context above the form."""
    props = (schema or {}).get("properties") or {}
    # a file field starts empty: the case's data holds other parties' files under the same
    # name (the enterprise's 附件 is not the unit's); only the person's own draft refills it
    values = {
        k: task_data[k]
        for k in props
        if k in task_data and k not in fresh and formrender.Field(k, props[k] or {}, {}).widget != "file"
    }
    for k, spec in props.items():
        if k not in values and isinstance(spec, dict) and "default" in spec:
            values[k] = spec["default"]
    values.update(draft or {})
    return values


def enterprise_values(schema: dict) -> dict:
    """Fields a form records itself when the enterprise answers (``x-enterprise-value``: the
    return visit's method is "online" when the enterprise rates the case on the portal)."""
    return {
        k: spec["x-enterprise-value"]
        for k, spec in (schema.get("properties") or {}).items()
        if isinstance(spec, dict) and "x-enterprise-value" in spec
    }


def _for_enterprise(schema: dict) -> dict:
    """The form without the fields it fills in itself for the enterprise."""
    fixed = enterprise_values(schema)
    if not fixed:
        return schema
    return {
        **schema,
        "properties": {k: v for k, v in schema["properties"].items() if k not in fixed},
        "required": [k for k in schema.get("required") or [] if k not in fixed],
    }


def render_task(
    task: HumanTask,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    audience: str = "office",
    status: int = 200,
):
    engine = get_engine()
    schema, ui = engine.form_of(task)
    schema = schema or {"type": "object", "properties": {}}
    if audience == "portal":
        schema = _for_enterprise(schema)
    setting = _setting(task)
    if values is None:
        from engine.taskcontext import fresh_fields

        values = initial_values(schema, setting.data, task.draft, fresh_fields(get_db(), task, setting.prefill))
    may_complete = access.can_complete(g.principal, task)
    files_endpoint = "portal.download" if audience == "portal" else "office.download"
    renderer = formrender.Renderer(
        schema,
        ui,
        choices=choices(),
        lang=current_lang(),
        readonly=not may_complete,
        attachment_url=lambda i: url_for(files_endpoint, attachment_id=i),
        attachment_name=attachment_namer(task.instance_id),
        county=(task.instance.summary or {}).get("county"),
    )  # its units first in a unit picker
    history = casefiles.timeline(get_db(), task.instance_id, include_internal=audience == "office")
    context, item = _context(task, audience, setting)
    return render_template(
        f"{audience}/task.html",
        task=task,
        case=task.instance,
        summary=task.instance.summary or {},
        form_html=renderer.render(values, errors or {}),
        errors=errors or {},
        history=history,
        may_complete=may_complete,
        form_title=schema.get("title"),
        colleagues=_colleagues(task) if audience == "office" else [],
        context_steps=context,
        context_item=item,
        outcomes=dossierview.outcomes(task.instance, audience) if audience == "office" else {},
    ), status


def _setting(task: HumanTask):
    """The task's properties, data and multi-instance item (one load of its workflow)."""
    from engine import taskcontext

    try:
        return taskcontext.task_setting(get_engine(), task)
    except Exception:  # noqa: BLE001 - the form still opens, without prefilled data or context
        return taskcontext.TaskSetting()


def _context(task: HumanTask, audience: str, setting) -> tuple[list[dict], dict | None]:
    """What the doer needs from earlier steps (engine/taskcontext.py ``context_for``), and the
    multi-instance task's own item (the decision item to carry out, the unit asked)."""
    from engine import taskcontext

    steps = dossierview.steps_for(task.instance)
    chosen = taskcontext.context_for(steps, setting.context, own=task.bpmn_id, own_groups=task.candidate_groups or [])
    fmt = dossierview.formatter(audience, task.instance_id)
    shown = None
    if setting.item_name is not None:
        shown = {"label": _("本事项"), "text": _item_text(setting.item)}
    return [fmt.step(s) for s in chosen], shown


def _item_text(item) -> str:
    from flask import current_app as app

    if isinstance(item, dict):
        parts = [str(item.get("content") or "")]
        if item.get("unit"):
            parts.append(app.config["DIRECTORY"].unit_name(item["unit"]))
        if item.get("deadline"):
            parts.append(_("期限 %(d)s", d=item["deadline"]))
        return " · ".join(p for p in parts if p)
    if isinstance(item, str):
        return app.config["DIRECTORY"].unit_name(item)
    return str(item)


def _colleagues(task):
    from engine.inbox import colleagues

    return colleagues(get_db(), g.principal, task)


def handle_post(task: HumanTask, *, audience: str, done_url: str):
    access.check(access.can_complete(g.principal, task), "only the task's assignee or its groups complete it")
    engine = get_engine()
    schema, ui = engine.form_of(task)
    schema = schema or {"type": "object", "properties": {}}
    task_id = task.id  # readable after a failed flush (the row is expired then)
    uploads = Uploads(task, task.instance_id)
    data = parse_form(schema, ui, uploads)
    if uploads.failure is not None:  # the file store failed: nothing is saved, the typed form comes back
        return render_task(task, values=data, errors=uploads.errors, audience=audience, status=uploads.status)
    if audience == "portal":
        data.update(enterprise_values(schema))
    if request.form.get("action") == "draft":
        engine.save_draft(get_db(), task.id, data, g.user.username)
        engine.audit(get_db(), g.user.username, "draft", task.instance, task)
        flash(_("草稿已保存"), "ok")
        return redirect(request.path)
    if uploads.errors:
        g.force_commit = True  # keep the files that were accepted
        return render_task(task, values=data, errors=uploads.errors, audience=audience, status=422)
    try:
        engine.complete_task(get_db(), task.id, data, g.user.username)
    except FormValidationError as exc:
        g.force_commit = True
        return render_task(task, values=data, errors=exc.by_field(current_lang()), audience=audience, status=422)
    except Conflict:  # another request completed it (or moved the case on) first: keep what was typed
        fresh = taskconflict.reload_after_conflict(task_id)
        if fresh is None:
            raise NotFound(f"task {task_id} does not exist") from None
        if fresh.state != "ready":
            return taskconflict.render_finished(fresh, audience, data)
        return render_task(
            fresh,
            values=data,
            audience=audience,
            status=409,
            errors={"": _("此事项刚被其他人处理或案件已发生变化，请核对后重新提交。")},
        )
    flash(_("已提交：%(name)s", name=task.name), "ok")
    return redirect(done_url)
