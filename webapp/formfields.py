"""Fields of a JSON Schema form (+ rjsf-style UI schema) in the order they are drawn, with
their widget, label, help and choice options: what ``webapp.formrender`` renders and
``webapp.formparse`` reads back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Choices = list[tuple[Any, str]]

LABELS = {
    "zh": {
        "required": "必填",
        "add_row": "添加一行",
        "remove_row": "删除",
        "yes": "是",
        "no": "否",
        "choose": "请选择",
        "kept": "已上传（取消勾选即移除）",
        "no_rows": "暂无",
        "find_unit": "搜索单位",
    },
    "en": {
        "required": "required",
        "add_row": "Add a row",
        "remove_row": "Remove",
        "yes": "Yes",
        "no": "No",
        "choose": "Choose…",
        "kept": "Uploaded (untick to remove)",
        "no_rows": "None",
        "find_unit": "Find a unit",
    },
}


@dataclass
class Field:
    name: str  # dotted path: "title", "items.0.unit"
    schema: dict
    ui: dict
    required: bool = False

    @property
    def widget(self) -> str:
        s, w = self.schema, self.ui.get("ui:widget")
        if w == "hidden":
            return "hidden"
        if w == "password":
            return "password"
        if w in ("file", "files") or s.get("format") in ("attachment", "data-url") or self.is_attachment_list:
            return "file"
        t = type_of(s)
        if t == "object":
            return "object"
        if t == "array":
            items = s.get("items") or {}
            if type_of(items) == "object":
                return "rows"
            if w == "select":
                return "multiselect"
            return "checkboxes" if (_has_options(items) or self.source) else "lines"
        if t == "boolean":
            return "yesno" if w == "radio" else "checkbox"
        if _has_options(s) or self.source:
            return "radio" if w == "radio" else "select"
        if w == "textarea" or (t == "string" and (s.get("maxLength") or 0) > 200 and w is None):
            return "textarea"
        if t in ("integer", "number"):
            return "number"
        fmt = s.get("format")
        if fmt == "date" or w == "date":
            return "date"
        if fmt == "date-time" or w == "datetime":
            return "datetime"
        if fmt == "email":
            return "email"
        if fmt == "cn-mobile":
            return "tel"
        return "text"

    @property
    def is_attachment_list(self) -> bool:
        """``attachments`` / ``*_attachments`` / ``*_files``: an array of attachment ids."""
        key = self.name.rsplit(".", 1)[-1]
        items = self.schema.get("items") or {}
        return (
            type_of(self.schema) == "array"
            and type_of(items) in ("string", "integer")
            and not _has_options(items)
            and (key == "attachments" or key.endswith(("_attachments", "_files")))
        )

    @property
    def source(self) -> str | None:
        opts = self.ui.get("ui:options") or {}
        return opts.get("source") or self.schema.get("x-source")

    @property
    def dom_id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    def label(self, lang: str) -> str:
        if lang == "en":
            en = self.ui.get("ui:title_en") or self.schema.get("x-title-en")
            if en:
                return en
        return self.ui.get("ui:title") or self.schema.get("title") or self.name.rsplit(".", 1)[-1]

    def help(self, lang: str) -> str:
        if lang == "en" and (self.ui.get("ui:help_en") or self.schema.get("x-description-en")):
            return self.ui.get("ui:help_en") or self.schema.get("x-description-en")
        return self.ui.get("ui:help") or self.schema.get("description") or ""


def type_of(schema: dict) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and ("enum" in schema or "const" in schema):
        return "string"
    if t is None and "properties" in schema:
        return "object"
    return t


def _has_options(schema: dict) -> bool:
    return "enum" in schema or any(
        isinstance(o, dict) and "const" in o for o in schema.get("oneOf", schema.get("anyOf", []))
    )


def options_of(schema: dict, ui: dict, choices: dict[str, Choices], source: str | None, lang: str = "zh") -> Choices:
    """The (value, label) pairs of a choice field; in English, ``ui:enumNames_en`` (a list in
    the options' order, or a value → label object) relabels them."""
    opts = _base_options(schema, ui, choices, source)
    if lang == "en":  # a choice of units or counties: their English names (processes/directory.json)
        proper = {**dict(choices.get("counties") or []), **dict(choices.get("units") or [])}
        if opts and all(str(value) in proper for value, _label in opts):
            opts = [(value, proper[str(value)]) for value, _label in opts]
    names_en = ui.get("ui:enumNames_en") if lang == "en" else None
    if isinstance(names_en, list):
        names_en = {value: name for (value, _label), name in zip(opts, names_en) if name}
    if isinstance(names_en, dict):
        return [(value, names_en.get(str(value), label)) for value, label in opts]
    return opts


def _base_options(schema: dict, ui: dict, choices: dict[str, Choices], source: str | None) -> Choices:
    names = ui.get("ui:enumNames") or schema.get("enumNames")
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        if names and len(names) >= len(values):
            return list(zip(values, names))
        lookup = dict(choices.get(source, [])) if source else {}
        return [(v, lookup.get(v, str(v))) for v in values]
    alts = schema.get("oneOf", schema.get("anyOf", []))
    if any(isinstance(o, dict) and "const" in o for o in alts):
        return [(o["const"], o.get("title", str(o["const"]))) for o in alts if isinstance(o, dict) and "const" in o]
    if source:
        return list(choices.get(source, []))
    return []


def fields_of(schema: dict, ui: dict | None, prefix: str = "") -> list[Field]:
    ui = ui or {}
    props = schema.get("properties") or {}
    order = list(ui.get("ui:order") or props)
    rest = [k for k in props if k not in order]
    if "*" in order:
        star = order.index("*")
        order = order[:star] + rest + order[star + 1 :]
    else:  # every property is drawn: those ui:order leaves out come last (a required one can be filled in)
        order += rest
    required = set(schema.get("required") or [])
    out = []
    for key in order:
        if key not in props:
            continue
        out.append(Field(prefix + key, props[key] or {}, ui.get(key) or {}, key in required))
    return out
