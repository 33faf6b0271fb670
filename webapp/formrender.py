"""Server-side forms from JSON Schema (+ rjsf-style UI schema).

``render(...)`` turns a schema into HTML fields holding ``values`` and showing ``errors``
(dotted paths as ``engine.forms.FormValidationError.by_field`` gives them);
``parse(...)`` turns a submitted form back into data of the schema's types. A value that
cannot be converted (``12a`` for a number) is kept as typed, so validation reports it and
the page shows it again.

Widgets: text, textarea, number, date, date-time, select, radio, checkbox, yes/no radio,
multi-select (checkboxes, or ``<select multiple>``), units/counties choice lists
(``ui:options: {"source": "units"}``), file upload (``ui:widget: "file"``; the value is
a list of ``{"id", "name"}`` of stored attachments), repeatable rows (array of objects),
nested objects, hidden and read-only fields. An array of strings or integers named
``attachments`` (or ``*_attachments``, ``*_files``) is an upload field too and keeps the
attachment ids as the schema's item type.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from markupsafe import Markup, escape

Choices = list[tuple[Any, str]]
_ROW_KEY = re.compile(r"^(\d+)\.")

LABELS = {
    "zh": {"required": "必填", "add_row": "添加一行", "remove_row": "删除", "yes": "是", "no": "否",
           "choose": "请选择", "kept": "已上传（取消勾选即移除）", "no_rows": "暂无"},
    "en": {"required": "required", "add_row": "Add a row", "remove_row": "Remove", "yes": "Yes", "no": "No",
           "choose": "Choose…", "kept": "Uploaded (untick to remove)", "no_rows": "None"},
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
        t = _type(s)
        if t == "object":
            return "object"
        if t == "array":
            items = s.get("items") or {}
            if _type(items) == "object":
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
        return (_type(self.schema) == "array" and _type(items) in ("string", "integer")
                and not _has_options(items) and (key == "attachments" or key.endswith(("_attachments", "_files"))))

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


def _type(schema: dict) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None and ("enum" in schema or "const" in schema):
        return "string"
    if t is None and "properties" in schema:
        return "object"
    return t


def _has_options(schema: dict) -> bool:
    return "enum" in schema or any(isinstance(o, dict) and "const" in o for o in schema.get("oneOf", schema.get("anyOf", [])))


def _options(schema: dict, ui: dict, choices: dict[str, Choices], source: str | None, lang: str = "zh") -> Choices:
    """The (value, label) pairs of a choice field; in English, ``ui:enumNames_en`` (a list in
    the options' order, or a value → label object) relabels them."""
    opts = _base_options(schema, ui, choices, source)
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
    order = ui.get("ui:order") or list(props)
    if "*" in order:
        star = order.index("*")
        rest = [k for k in props if k not in order]
        order = order[:star] + rest + order[star + 1:]
    required = set(schema.get("required") or [])
    out = []
    for key in order:
        if key not in props:
            continue
        out.append(Field(prefix + key, props[key] or {}, ui.get(key) or {}, key in required))
    return out


# -- rendering ---------------------------------------------------------------------------
@dataclass
class Renderer:
    schema: dict
    ui: dict | None = None
    choices: dict[str, Choices] = field(default_factory=dict)
    lang: str = "zh"
    readonly: bool = False
    attachment_url: Callable[[int], str] | None = None
    attachment_name: Callable[[int], str | None] | None = None

    def t(self, key: str) -> str:
        return LABELS.get(self.lang, LABELS["zh"])[key]

    def render(self, values: dict | None, errors: dict[str, str] | None = None) -> Markup:
        values, errors = values or {}, errors or {}
        parts = []
        if errors.get(""):
            parts.append(f'<p class="form-error" role="alert">{escape(errors[""])}</p>')
        for f in fields_of(self.schema, self.ui):
            parts.append(self._field(f, values.get(f.name), errors))
        return Markup("\n".join(parts))

    # one field with its label, help and error
    def _field(self, f: Field, value: Any, errors: dict[str, str], compact: bool = False) -> str:
        widget = f.widget
        if widget == "hidden":
            return f'<input type="hidden" name="{escape(f.name)}" value="{escape(_str(value))}">'
        error = errors.get(f.name)
        control = getattr(self, f"_w_{widget}")(f, value, errors)
        req = f' <span class="req" title="{self.t("required")}">*</span>' if f.required else ""
        label_for = "" if widget in ("radio", "checkboxes", "yesno", "rows", "object", "file", "checkbox") else f' for="{f.dom_id}"'
        cls = "field" + (" has-error" if error else "") + f" w-{widget}"
        out = [f'<div class="{cls}" data-field="{escape(f.name)}">']
        if widget == "checkbox":
            out.append(control)
        else:
            label = escape(f.label(self.lang))
            out.append(f'<label class="label"{label_for}>{label}{req}</label>' if not compact else
                       f'<label class="label sr-only"{label_for}>{label}</label>')
            out.append(control)
        helptext = f.help(self.lang)
        if helptext and not compact:
            out.append(f'<div class="help">{escape(helptext)}</div>')
        if error:
            out.append(f'<div class="error-msg" id="{f.dom_id}-error">{escape(error)}</div>')
        out.append("</div>")
        return "".join(out)

    def _attrs(self, f: Field, errors: dict[str, str], extra: str = "") -> str:
        a = f'id="{f.dom_id}" name="{escape(f.name)}"'
        if f.name in errors:
            a += f' aria-invalid="true" aria-describedby="{f.dom_id}-error"'
        if self.readonly or f.ui.get("ui:readonly") or f.schema.get("readOnly"):
            a += " disabled"
        placeholder = f.ui.get("ui:placeholder")
        if placeholder:
            a += f' placeholder="{escape(placeholder)}"'
        if f.ui.get("ui:autofocus"):
            a += " autofocus"
        return a + extra

    def _input(self, kind: str, f: Field, value: Any, errors, extra: str = "") -> str:
        return f'<input type="{kind}" {self._attrs(f, errors, extra)} value="{escape(_str(value))}">'

    def _w_text(self, f, value, errors):
        s = f.schema
        extra = f' maxlength="{int(s["maxLength"])}"' if s.get("maxLength") else ""
        return self._input("text", f, value, errors, extra)

    def _w_password(self, f, value, errors):
        return f'<input type="password" autocomplete="new-password" {self._attrs(f, errors)} value="">'

    def _w_email(self, f, value, errors):
        return self._input("email", f, value, errors)

    def _w_tel(self, f, value, errors):
        return self._input("tel", f, value, errors, ' inputmode="numeric"')

    def _w_date(self, f, value, errors):
        return self._input("date", f, value, errors)

    def _w_datetime(self, f, value, errors):
        v = _str(value)[:16]
        return self._input("datetime-local", f, v, errors)

    def _w_number(self, f, value, errors):
        s = f.schema
        # type=text + inputmode keeps whatever was typed (a number input drops "12a")
        extra = ' inputmode="decimal"' if _type(s) == "number" else ' inputmode="numeric"'
        return self._input("text", f, value, errors, extra + ' class="num"')

    def _w_textarea(self, f, value, errors):
        rows = int((f.ui.get("ui:options") or {}).get("rows", 4))
        return f'<textarea rows="{rows}" {self._attrs(f, errors)}>{escape(_str(value))}</textarea>'

    def _w_select(self, f, value, errors):
        opts = _options(f.schema, f.ui, self.choices, f.source, self.lang)
        html = [f'<select {self._attrs(f, errors)}><option value="">{self.t("choose")}</option>']
        for v, label in opts:
            sel = " selected" if _str(v) == _str(value) else ""
            html.append(f'<option value="{escape(_str(v))}"{sel}>{escape(label)}</option>')
        html.append("</select>")
        return "".join(html)

    def _w_radio(self, f, value, errors):
        opts = _options(f.schema, f.ui, self.choices, f.source, self.lang)
        return self._choice_group(f, opts, [value], "radio", errors)

    def _w_yesno(self, f, value, errors):
        opts = [(True, self.t("yes")), (False, self.t("no"))]
        return self._choice_group(f, opts, [value], "radio", errors)

    def _w_checkboxes(self, f, value, errors):
        items = f.schema.get("items") or {}
        opts = _options(items, f.ui, self.choices, f.source, self.lang)
        return self._choice_group(f, opts, list(value or []), "checkbox", errors)

    def _choice_group(self, f: Field, opts: Choices, selected: list, kind: str, errors) -> str:
        chosen = {_str(v) for v in selected if v is not None}
        disabled = " disabled" if self.readonly or f.ui.get("ui:readonly") else ""
        html = [f'<fieldset class="choices" id="{f.dom_id}" role="group"><legend class="sr-only">{escape(f.label(self.lang))}</legend>']
        for i, (v, label) in enumerate(opts):
            checked = " checked" if _str(v) in chosen else ""
            html.append(f'<label class="choice"><input type="{kind}" name="{escape(f.name)}" '
                        f'id="{f.dom_id}-{i}" value="{escape(_str(v))}"{checked}{disabled}> {escape(label)}</label>')
        html.append("</fieldset>")
        return "".join(html)

    def _w_multiselect(self, f, value, errors):
        items = f.schema.get("items") or {}
        opts = _options(items, f.ui, self.choices, f.source, self.lang)
        chosen = {_str(v) for v in (value or [])}
        html = [f'<select multiple size="{min(8, max(3, len(opts)))}" {self._attrs(f, errors)}>']
        for v, label in opts:
            sel = " selected" if _str(v) in chosen else ""
            html.append(f'<option value="{escape(_str(v))}"{sel}>{escape(label)}</option>')
        html.append("</select>")
        return "".join(html)

    def _w_checkbox(self, f, value, errors):
        checked = " checked" if value is True or _str(value) in ("true", "on", "1") else ""
        req = ' <span class="req">*</span>' if f.required else ""
        return (f'<input type="hidden" name="{escape(f.name)}.__present" value="1">'
                f'<label class="choice"><input type="checkbox" {self._attrs(f, errors)} value="true"{checked}> '
                f'{escape(f.label(self.lang))}{req}</label>')

    def _w_lines(self, f, value, errors):
        text = "\n".join(_str(v) for v in (value or [])) if isinstance(value, list) else _str(value)
        return f'<textarea rows="3" {self._attrs(f, errors)} data-lines="1">{escape(text)}</textarea>'

    def _w_file(self, f, value, errors):
        kept = value if isinstance(value, list) else ([value] if value not in (None, "") else [])
        kept = [self._file_item(item) for item in kept]
        kept = [item for item in kept if item is not None]
        html = []
        if kept:
            html.append(f'<div class="kept"><span class="help">{self.t("kept")}</span>')
            for item in kept:
                name = escape(item.get("name", item["id"]))
                link = (f'<a href="{escape(self.attachment_url(int(item["id"])))}">{name}</a>'
                        if self.attachment_url else name)
                html.append(f'<label class="choice"><input type="checkbox" name="{escape(f.name)}.__keep" '
                            f'value="{escape(_str(item["id"]))}|{escape(item.get("name", ""))}" checked> {link}</label>')
            html.append("</div>")
        multiple = " multiple" if _type(f.schema) == "array" else ""
        accept = (f.ui.get("ui:options") or {}).get("accept", ".pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.txt,.zip,.ofd")
        if not self.readonly:
            html.append(f'<input type="file" {self._attrs(f, errors)}{multiple} accept="{escape(accept)}">')
        return "".join(html)

    def _file_item(self, item) -> dict | None:
        if isinstance(item, dict) and "id" in item:
            return item
        if isinstance(item, (int, str)) and str(item).isdigit():
            name = self.attachment_name(int(item)) if self.attachment_name else None
            return {"id": int(item), "name": name or f"#{item}"}
        return None

    def _w_object(self, f, value, errors):
        value = value if isinstance(value, dict) else {}
        html = [f'<fieldset class="group" id="{f.dom_id}">']
        for sub in fields_of(f.schema, f.ui, prefix=f.name + "."):
            html.append(self._field(sub, value.get(sub.name.rsplit(".", 1)[-1]), errors))
        html.append("</fieldset>")
        return "".join(html)

    def _w_rows(self, f, value, errors):
        rows = value if isinstance(value, list) else []
        item_schema = f.schema.get("items") or {}
        item_ui = f.ui.get("items") or {}
        min_rows = int(f.schema.get("minItems") or 0)
        count = max(len(rows), min_rows, 1 if not rows else 0)
        html = [f'<div class="rows" id="{f.dom_id}" data-name="{escape(f.name)}">']
        for i in range(count):
            row = rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}
            html.append(self._row(f, item_schema, item_ui, i, row, errors))
        html.append("</div>")
        if not self.readonly:
            template = self._row(f, item_schema, item_ui, "__i__", {}, {})
            html.append(f'<template id="{f.dom_id}-template">{template}</template>')
            html.append(f'<button type="button" class="btn small add-row" data-target="{f.dom_id}">'
                        f'+ {self.t("add_row")}</button>')
        return "".join(html)

    def _row(self, f: Field, item_schema: dict, item_ui: dict, i, row: dict, errors) -> str:
        html = [f'<div class="row-item" data-index="{i}">']
        for sub in fields_of(item_schema, item_ui, prefix=f"{f.name}.{i}."):
            html.append(self._field(sub, row.get(sub.name.rsplit(".", 1)[-1]), errors))
        if not self.readonly:
            html.append(f'<button type="button" class="btn small link remove-row">{self.t("remove_row")}</button>')
        html.append("</div>")
        return "".join(html)


def _str(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


# -- parsing -----------------------------------------------------------------------------
FileSaver = Callable[[Any], dict]  # a werkzeug FileStorage -> {"id": .., "name": ..}


def parse(schema: dict, ui: dict | None, form, files=None, save_file: FileSaver | None = None) -> dict:
    """Submitted fields (a werkzeug MultiDict) → data of the schema's types.

    Empty fields are left out (so ``required`` reports them), except an optional choice
    group (checkboxes, multi-select) with nothing chosen: it is ``[]``, so unticking every
    suggested value really chooses none. Unconvertible input is kept as typed. Uploaded
    files are handed to ``save_file``.
    """
    return _parse_object(schema, ui or {}, "", form, files, save_file)


def _parse_object(schema, ui, prefix, form, files, save_file) -> dict:
    out: dict[str, Any] = {}
    for f in fields_of(schema, ui, prefix):
        value = _parse_field(f, form, files, save_file)
        if value is not None:
            out[f.name[len(prefix):]] = value
    return out


def _convert(schema: dict, raw: str) -> Any:
    t = _type(schema)
    if raw is None:
        return None
    raw = raw.strip() if t != "string" or schema.get("format") else raw
    if raw == "":
        return None
    if t == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if t == "number":
        try:
            number = float(raw)
            return int(number) if number.is_integer() and "." not in raw else number
        except ValueError:
            return raw
    if t == "boolean":
        return {"true": True, "false": False, "on": True, "1": True, "0": False}.get(raw.lower(), raw)
    return raw


def _parse_field(f: Field, form, files, save_file) -> Any:
    widget = f.widget
    name = f.name
    if widget == "file":
        kept = []
        for token in form.getlist(name + ".__keep"):
            ident, _, fname = token.partition("|")
            if ident.isdigit():
                kept.append({"id": int(ident), "name": fname})
        if files is not None and save_file is not None:
            for storage in files.getlist(name):
                if storage and storage.filename:
                    saved = save_file(storage)
                    if saved:  # a rejected file is reported by the saver
                        kept.append(saved)
        item_type = _type(f.schema.get("items") or {}) if _type(f.schema) == "array" else _type(f.schema)
        if item_type == "string":  # plain attachment ids, as the process forms keep them
            kept = [str(k["id"]) if isinstance(k, dict) else k for k in kept]
        elif item_type == "integer":
            kept = [int(k["id"]) if isinstance(k, dict) else k for k in kept]
        if _type(f.schema) == "array":
            return kept or None
        return kept[-1] if kept else None
    if widget == "checkbox":
        if name in form:
            return True
        return False if (name + ".__present") in form else None
    if widget == "object":
        value = _parse_object(f.schema, f.ui, name + ".", form, files, save_file)
        return value if _has_value(value) else None
    if widget == "rows":
        indices = set()
        prefix = name + "."
        keys = list(form.keys()) + (list(files.keys()) if files is not None else [])
        for key in keys:
            if key.startswith(prefix):
                m = _ROW_KEY.match(key[len(prefix):])
                if m:
                    indices.add(int(m.group(1)))
        rows = []
        item_schema, item_ui = f.schema.get("items") or {}, f.ui.get("items") or {}
        for i in sorted(indices):
            row = _parse_object(item_schema, item_ui, f"{name}.{i}.", form, files, save_file)
            if _has_value(row):
                rows.append(row)
        return rows or None
    if widget in ("checkboxes", "multiselect"):
        items = f.schema.get("items") or {}
        values = [_convert(items, v) for v in form.getlist(name)]
        values = [v for v in values if v is not None]
        if values or f.required or _disabled(f):
            return values or None  # an empty required group is left out, so `required` reports it
        return []  # a browser sends nothing for a group with every box unticked: that choice is "none"
    if widget == "lines":
        items = f.schema.get("items") or {}
        raw = form.get(name, "")
        values = [_convert(items, line) for line in raw.splitlines()]
        values = [v for v in values if v is not None]
        return values or None
    if widget == "datetime":
        raw = form.get(name)
        return raw.strip() + (":00" if raw and len(raw.strip()) == 16 else "") if raw and raw.strip() else None
    return _convert(f.schema, form.get(name))



def _disabled(f: Field) -> bool:
    """A read-only field is rendered ``disabled``, and a browser never sends a disabled control."""
    return bool(f.ui.get("ui:readonly") or f.schema.get("readOnly"))


def _has_value(value: Any) -> bool:
    """A parsed row or object counts when it holds more than empty choice groups."""
    if isinstance(value, dict):
        return any(_has_value(v) for v in value.values())
    return value != []


def is_upload_field(schema: dict, ui: dict | None, key: str) -> bool:
    props = schema.get("properties") or {}
    return key in props and Field(key, props[key] or {}, (ui or {}).get(key) or {}).widget == "file"
