"""Submitted forms back into data: ``parse(...)`` turns a submitted form (a werkzeug
MultiDict, plus uploaded files) into data of the JSON Schema's types, field by field as
``webapp.formrender`` renders them. A value that cannot be converted (``12a`` for a number)
is kept as typed, so validation reports it and the page shows it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .formfields import Field, fields_of, type_of

_ROW_KEY = re.compile(r"^(\d+)\.")


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
            out[f.name[len(prefix) :]] = value
    return out


def _convert(schema: dict, raw: str) -> Any:
    t = type_of(schema)
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
            if ident.isdigit() and len(ident) <= 18:  # an id, bounded like its column
                kept.append({"id": int(ident), "name": fname})
        if files is not None and save_file is not None:
            for storage in files.getlist(name):
                if storage and storage.filename:
                    saved = save_file(storage)
                    if saved:  # a rejected file is reported by the saver
                        kept.append(saved)
        item_type = type_of(f.schema.get("items") or {}) if type_of(f.schema) == "array" else type_of(f.schema)
        if item_type == "string":  # plain attachment ids, as the process forms keep them
            kept = [str(k["id"]) if isinstance(k, dict) else k for k in kept]
        elif item_type == "integer":
            kept = [int(k["id"]) if isinstance(k, dict) else k for k in kept]
        if type_of(f.schema) == "array":
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
                m = _ROW_KEY.match(key[len(prefix) :])
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
