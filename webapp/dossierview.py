"""The dossier for pages and the API: engine/dossier.py's steps with labels and values as a
reader reads them — labels and option titles from each step's own form in the reader's
language, unit and county names instead of codes, dates localised, files as links.

English: a form's own ``ui:title_en`` / ``ui:enumNames_en`` first (as the task page's form);
texts a form or process file gives only in Chinese — step (task) names, the material form's
labels — through the Flask-Babel catalogue (``step_name``), the one mechanism for fixed Chinese
text. A long case is folded: the submission and the newest ``FOLD_KEEP`` steps are shown,
the earlier ones one click away (``?dossier=all``)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from flask import g, url_for
from flask_babel import gettext as _

from engine import dossier as dossier_mod
from engine.models import Instance

from . import formrender
from .context import get_db, get_engine
from .directory import choices, group_names
from .filters import beijing, step_name
from .i18n import current_lang

# the form of the enterprise's supplied material (a message to its case; the portal's case page)
MATERIAL_SCHEMA = {
    "type": "object",
    "required": ["material_note"],
    "properties": {
        "material_note": {"type": "string", "title": "补充说明", "minLength": 2, "maxLength": 5000},
        "material_files": {
            "type": "array",
            "title": "补充材料",
            "items": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        },
    },
}
MATERIAL_UI = {"material_note": {"ui:widget": "textarea"}, "material_files": {"ui:widget": "file"}}


def register_message_forms() -> None:
    """The messages whose payload is a form (the enterprise's supplied material)."""
    schema = {**MATERIAL_SCHEMA, "title": "补充材料", "x-visibility": "public"}
    dossier_mod.MESSAGE_FORMS["material_supplied"] = (schema, MATERIAL_UI)


def _date(value: str, lang: str) -> str:
    try:
        day = _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return day.strftime("%d %b %Y") if lang == "en" else f"{day.year}年{day.month}月{day.day}日"


def attachment_namer(instance_id: int | None):
    """Names for attachment ids shown in a form: files of this case or of the person."""
    from engine.models import Attachment

    def name(attachment_id: int) -> str | None:
        attachment = get_db().get(Attachment, attachment_id)
        if attachment is None:
            return None
        if attachment.instance_id == instance_id or attachment.uploaded_by == g.user.username:
            return attachment.filename
        return None

    return name


def _title(schema: dict, ui: dict, lang: str) -> str | None:
    if lang == "en":
        return (
            ui.get("ui:title_en") or schema.get("x-title-en") or (_(schema["title"]) if schema.get("title") else None)
        )
    return schema.get("title")


def _label(f: formrender.Field, lang: str) -> str:
    """A field's label: the form's own English title, else the catalogue's (the material form)."""
    label = f.label(lang)
    if lang == "en" and not (f.ui.get("ui:title_en") or f.schema.get("x-title-en")):
        return _(label) if label else label
    return label


def clean_text(value) -> str:
    """Text as typed, without the blank boxes: line ends unified, the white space around the
    text and at line ends dropped, runs of blank lines made one; newlines kept."""
    lines = [line.rstrip() for line in str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


class Formatter:
    def __init__(self, lang: str, file_url: Callable[[int], str], file_name: Callable[[int], str | None]):
        self.lang, self.file_url, self.file_name = lang, file_url, file_name
        self.choices = choices()

    def value(self, key: str, schema: dict, ui: dict, value: Any) -> dict:
        f = formrender.Field(key, schema or {}, ui or {})
        widget = f.widget
        if widget == "file":
            return {"files": [self._file(v) for v in (value if isinstance(value, list) else [value])]}
        if widget == "rows" and isinstance(value, list):
            items = schema.get("items") or {}
            rows = []
            for row in value:
                if isinstance(row, dict):
                    rows.append(
                        [
                            {"label": _label(fld, self.lang), **self.value(fld.name, fld.schema, fld.ui, row[fld.name])}
                            for fld in formrender.fields_of(items, ui.get("items") or {})
                            if row.get(fld.name) not in (None, "") and not _blank(row.get(fld.name))
                        ]
                    )
            return {"rows": rows}
        if widget in ("checkboxes", "multiselect", "lines") and isinstance(value, list):
            items = schema.get("items") or {}
            opts = dict(formrender.options_of(items, ui, self.choices, f.source, self.lang))
            if widget == "lines":  # one item a line, as typed
                return {"text": "\n".join(clean_text(v) for v in value if not _blank(v)), "lines": True}
            return {"text": "、".join(str(opts.get(v, v)) for v in value), "lines": False}
        if widget in ("select", "radio"):
            opts = dict(formrender.options_of(schema, ui, self.choices, f.source, self.lang))
            return {"text": str(opts.get(value, value))}
        if isinstance(value, bool):
            return {"text": formrender.LABELS.get(self.lang, formrender.LABELS["zh"])["yes" if value else "no"]}
        if widget == "date":
            return {"text": _date(value, self.lang)}
        if widget == "datetime":
            return {"text": beijing(value)}
        text = clean_text(value)
        return {"text": text, "long": widget == "textarea" or len(text) > 60 or "\n" in text}

    def _file(self, v) -> dict:
        ident = v.get("id") if isinstance(v, dict) else v
        if isinstance(ident, str) and ident.isdigit():
            ident = int(ident)
        name = (v.get("name") if isinstance(v, dict) else None) or (
            self.file_name(ident) if isinstance(ident, int) else None
        )
        return {"name": name or f"#{ident}", "url": self.file_url(ident) if isinstance(ident, int) else None}

    def step(self, step: dossier_mod.Step) -> dict:
        return {
            "kind": step.kind,
            "step_id": step.step_id,
            "name": (_title(step.schema, step.ui, self.lang) if step.kind == "message" else None)
            or step_name(step.name),
            "actor": step.actor,
            "at": step.at,
            "round": step.round,
            "groups": group_names(step.groups),
            "answers": [
                {
                    "key": a.key,
                    "label": _label(formrender.Field(a.key, a.schema, a.ui), self.lang),
                    "public": a.public,
                    **self.value(a.key, a.schema, a.ui, a.value),
                }
                for a in step.answers
            ],
        }


def formatter(audience: str, instance_id: int) -> Formatter:
    endpoint = "portal.download" if audience == "portal" else "office.download"
    return Formatter(current_lang(), lambda i: url_for(endpoint, attachment_id=i), attachment_namer(instance_id))


def steps_for(instance: Instance) -> list[dossier_mod.Step]:
    """The dossier's steps the person asking may see."""
    if not dossier_mod.MESSAGE_FORMS:
        register_message_forms()
    cache = g.setdefault("dossier_steps", {})  # one reading per request (page, outcomes, files)
    if instance.id not in cache:
        cache[instance.id] = dossier_mod.dossier(get_db(), get_engine(), instance, enterprise=g.principal.is_enterprise)
    return cache[instance.id]


def _blank(value) -> bool:
    return isinstance(value, str) and not value.strip()


FOLD_OVER = 20  # a dossier with more steps than this is folded on the page …
FOLD_KEEP = 12  # … to the submission and the newest FOLD_KEEP steps


class DossierPage(list):
    """The formatted steps a page shows (a list), with how many earlier ones are folded."""

    folded: int = 0
    total: int = 0
    fold_at: int = 0  # where the folded steps were (after the submission)


def fold(all_steps: list, keep: int = FOLD_KEEP, over: int = FOLD_OVER) -> tuple[list, int]:
    """(the steps shown, how many are folded): a long dossier keeps its submission and its
    newest ``keep`` steps; the ones in between are folded."""
    if len(all_steps) <= over:
        return list(all_steps), 0
    head = [s for s in all_steps[:1] if s.kind == "submission"]
    tail = all_steps[-keep:]
    return head + tail, len(all_steps) - len(head) - len(tail)


def for_page(instance: Instance, audience: str) -> DossierPage:
    """The dossier on the case page; folded when long unless the page asks ``?dossier=all``
    (only the steps shown are formatted, so a long case's page stays fast)."""
    from flask import request

    fmt = formatter(audience, instance.id)
    everything = steps_for(instance)
    shown, folded = (everything, 0) if request.args.get("dossier") == "all" else fold(everything)
    page = DossierPage(fmt.step(s) for s in shown)
    page.folded, page.total = folded, len(everything)
    page.fold_at = 1 if shown and shown[0].kind == "submission" else 0
    return page


def api_page(instance: Instance, audience: str, page: int, per_page: int, order: str) -> dict:
    """The dossier for ``GET /api/v1/cases/{id}/dossier``: a page of steps, oldest first or
    (``order=newest``) newest first, with the API's page envelope."""
    everything = steps_for(instance)
    ordered = list(reversed(everything)) if order == "newest" else everything
    chosen = ordered[(page - 1) * per_page : page * per_page]
    fmt = formatter(audience, instance.id)
    steps = []
    for step in chosen:
        shown = fmt.step(step)
        steps.append(
            {
                **{k: shown[k] for k in ("kind", "step_id", "name", "actor", "at", "round")},
                "groups": step.groups,
                "group_names": shown["groups"],
                "answers": [
                    {
                        "key": a["key"],
                        "label": a["label"],
                        "public": a["public"],
                        "value": raw.value,
                        "display": _display(a),
                    }
                    for a, raw in zip(shown["answers"], step.answers)
                ],
            }
        )
    return {
        "case_id": instance.id,
        "case_no": instance.business_key,
        "steps": steps,
        "page": {"page": page, "per_page": per_page, "total": len(everything)},
    }


def _display(answer: dict) -> str:
    if "files" in answer:
        return "、".join(f["name"] for f in answer["files"])
    if "rows" in answer:
        return "\n".join("；".join(f"{c['label']}：{c.get('text', '')}" for c in row) for row in answer["rows"])
    return answer.get("text", "")


def outcomes(instance: Instance, audience: str) -> dict[int, str]:
    """Audit entry id → the step's outcome as the timeline states it ("审查结论：受理"): the
    first choice (or yes/no) answer of the step's form that the reader may see."""
    fmt = formatter(audience, instance.id)
    out: dict[int, str] = {}
    for step in steps_for(instance):
        if step.kind != "task" or step.entry_id is None:
            continue
        for a in step.answers:
            f = formrender.Field(a.key, a.schema, a.ui)
            if f.widget in ("radio", "select", "yesno", "checkbox") and f.source is None:
                out[step.entry_id] = f"{_label(f, fmt.lang)}：{fmt.value(a.key, a.schema, a.ui, a.value)['text']}"
                break
    return out


def enterprise_may_see_file(instance: Instance, attachment) -> bool:
    """An enterprise's view of a case file: its own uploads, case-page files not marked
    internal, and files in public answers of forms."""
    if attachment.uploaded_by == g.user.username:
        return True
    if attachment.task_id is None:  # a case-page upload: public unless marked internal
        return attachment.id not in dossier_mod.internal_uploads(get_db(), instance.id)
    return attachment.id in dossier_mod.visible_attachment_ids(steps_for(instance))
