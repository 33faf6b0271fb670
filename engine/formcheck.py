"""Deploy checks of forms (issue 15): what a form asks for can be drawn and answered.

* every ``required`` name (also in ``if/then`` branches and nested objects) is a property;
* defaults and the values of ``enum`` / ``oneOf`` are valid for their property;
* the UI schema names only existing properties (``ui:order`` and field entries), known widgets
  and known widget options (``source`` one of the choice lists).

Every property is drawn: the renderer appends the properties ``ui:order`` leaves out
(webapp/formrender.py ``fields_of``), so a new required field can always be filled in.
Messages are Chinese first, English after; lines point into the JSON file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .parsing import Problem

WIDGETS = {
    "text",
    "textarea",
    "select",
    "radio",
    "checkbox",
    "checkboxes",
    "hidden",
    "password",
    "file",
    "files",
    "date",
    "datetime",
    "email",
    "number",
    "updown",
}
OPTIONS = {"source", "rows", "accept", "inline", "placeholder"}
SOURCES = {"units", "counties", "categories"}


def _line(text: str, key: str) -> int | None:
    """The line of the first ``"key"`` in the file (JSON keeps no positions)."""
    needle = json.dumps(key, ensure_ascii=False)
    pos = text.find(needle)
    if pos < 0:
        pos = text.find(json.dumps(key))
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def _valid(value: Any, schema: dict) -> str | None:
    try:
        errors = list(Draft202012Validator(schema).iter_errors(value))
    except (SchemaError, RecursionError, TypeError):
        return None  # the schema itself is judged by check_schema
    return errors[0].message if errors else None


def _without(schema: dict, *keys: str) -> dict:
    return {k: v for k, v in schema.items() if k not in keys}


def _required_names(schema: dict) -> Iterator[str]:
    yield from schema.get("required") or []
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            if isinstance(part, dict):
                yield from _required_names({k: v for k, v in part.items() if k != "properties"})
    for key in ("then", "else"):
        if isinstance(schema.get(key), dict):
            yield from _required_names(schema[key])


def check_schema_fields(name: str, schema: dict, text: str, path: str = "") -> Iterator[Problem]:
    props = schema.get("properties") or {}
    if not isinstance(props, dict):
        return
    for req in dict.fromkeys(_required_names(schema)):
        if isinstance(req, str) and req not in props:
            yield Problem(
                name,
                f"必填项 {path}{req} 不是表单中的字段（properties 中没有） / required field "
                f"'{path}{req}' is not a property of the form",
                _line(text, req),
            )
    for key, prop in props.items():
        if not isinstance(prop, dict):
            continue
        where = f"{path}{key}"
        if "default" in prop:
            reason = _valid(prop["default"], _without(prop, "default"))
            if reason:
                yield Problem(
                    name,
                    f"字段 {where} 的默认值 {json.dumps(prop['default'], ensure_ascii=False)} 无效："
                    f"{reason} / the default of '{where}' is not valid",
                    _line(text, key),
                )
        base = _without(prop, "enum", "oneOf", "anyOf", "const", "default")
        values = list(prop.get("enum") or []) + [
            o.get("const") for o in prop.get("oneOf") or [] if isinstance(o, dict) and "const" in o
        ]
        for value in values:
            reason = _valid(value, base)
            if reason:
                yield Problem(
                    name,
                    f"字段 {where} 的选项 {json.dumps(value, ensure_ascii=False)} 与字段类型不符："
                    f"{reason} / option of '{where}' does not fit its type",
                    _line(text, key),
                )
        if prop.get("type") == "object":
            yield from check_schema_fields(name, prop, text, where + ".")
        items = prop.get("items")
        if isinstance(items, dict) and items.get("type") == "object":
            yield from check_schema_fields(name, items, text, where + "[].")


def check_ui(
    name: str, ui: dict, schema: dict | None, schema_name: str | None, text: str, path: str = ""
) -> Iterator[Problem]:
    props = (schema or {}).get("properties") or {}
    if schema is not None:
        order = ui.get("ui:order") or []
        if not isinstance(order, list):
            yield Problem(
                name, "ui:order 必须是字段名列表 / ui:order must be a list of field names", _line(text, "ui:order")
            )
            order = []
        for key in order:
            if key != "*" and key not in props:
                yield Problem(
                    name,
                    f"ui:order 中的 {path}{key} 不是 {schema_name} 的字段 / ui:order names "
                    f"'{path}{key}', which is not a field of {schema_name}",
                    _line(text, key),
                )
        for key in ui:
            if not key.startswith("ui:") and key not in props:
                yield Problem(
                    name,
                    f"界面设置中的 {path}{key} 不是 {schema_name} 的字段 / the UI schema "
                    f"configures '{path}{key}', which is not a field of {schema_name}",
                    _line(text, key),
                )
    for key, entry in ui.items():
        if key.startswith("ui:") or not isinstance(entry, dict):
            continue
        widget = entry.get("ui:widget")
        if widget is not None and widget not in WIDGETS:
            yield Problem(
                name,
                f"字段 {path}{key} 的控件 {widget} 不存在（可用：{'、'.join(sorted(WIDGETS))}） / "
                f"unknown widget '{widget}' for '{path}{key}'",
                _line(text, key),
            )
        options = entry.get("ui:options") or {}
        if isinstance(options, dict):
            for option, value in options.items():
                if option not in OPTIONS:
                    yield Problem(
                        name,
                        f"字段 {path}{key} 的控件选项 {option} 不存在（可用：{'、'.join(sorted(OPTIONS))}）"
                        f" / unknown widget option '{option}' for '{path}{key}'",
                        _line(text, option),
                    )
                elif option == "source" and value not in SOURCES:
                    yield Problem(
                        name,
                        f"字段 {path}{key} 的选项来源 {value} 不存在（可用：{'、'.join(sorted(SOURCES))}）"
                        f" / unknown choice list '{value}' for '{path}{key}'",
                        _line(text, key),
                    )
        sub = props.get(key) if isinstance(props.get(key), dict) else None
        if sub is not None and sub.get("type") == "object":
            yield from check_ui(name, entry, sub, schema_name, text, f"{path}{key}.")


def companion_schema(ui_name: str) -> str:
    return ui_name[: -len(".uischema.json")] + ".schema.json"


def check_bundle(forms: dict[str, Any], texts: dict[str, str], pairs: set[tuple[str, str]]) -> list[Problem]:
    """Every form of the bundle; ``pairs`` are (schema, UI schema) used together by a task."""
    problems: list[Problem] = []
    for name, form in sorted(forms.items()):
        if not isinstance(form, dict) or name.endswith(".uischema.json"):
            continue
        problems.extend(check_schema_fields(name, form, texts.get(name, "")))
    uses: dict[str, set[str]] = {ui: set() for ui in forms if ui.endswith(".uischema.json")}
    for schema_name, ui_name in pairs:
        uses.setdefault(ui_name, set()).add(schema_name)
    for ui_name, schema_names in sorted(uses.items()):
        ui = forms.get(ui_name)
        if not isinstance(ui, dict):
            continue
        schema_names = schema_names or {companion_schema(ui_name)}
        for schema_name in sorted(schema_names):
            schema = forms.get(schema_name)
            problems.extend(
                check_ui(ui_name, ui, schema if isinstance(schema, dict) else None, schema_name, texts.get(ui_name, ""))
            )
    return problems
