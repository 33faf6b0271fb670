"""Server-side forms from JSON Schema (+ rjsf-style UI schema).

``render(...)`` turns a schema into HTML fields holding ``values`` and showing ``errors``
(dotted paths as ``engine.forms.FormValidationError.by_field`` gives them);
``parse(...)`` (webapp/formparse.py) turns a submitted form back into data of the schema's
types. The HTML itself is in ``templates/forms/_fields.html``: Jinja macros with autoescape,
so every text and attribute (property names included) is escaped.

Widgets: text, textarea, number, date, date-time, select, radio, checkbox, yes/no radio,
multi-select (checkboxes, or ``<select multiple>``), units/counties choice lists
(``ui:options: {"source": "units"}``; a long list of units — a city case offers ~80 — is grouped
by county, the case's county first, and static/app.js adds a search box), file upload (``ui:widget: "file"``; the value is
a list of ``{"id", "name"}`` of stored attachments), repeatable rows (array of objects),
nested objects, hidden and read-only fields. An array of strings or integers named
``attachments`` (or ``*_attachments``, ``*_files``) is an upload field too and keeps the
attachment ids as the schema's item type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from .formfields import LABELS, Choices, Field, fields_of, options_of, type_of  # noqa: F401  (importable from here)
from .formparse import is_upload_field, parse  # noqa: F401  (importable from here)

# -- rendering ---------------------------------------------------------------------------
# The HTML lives in templates/forms/_fields.html (autoescaped Jinja macros); the renderer only
# decides what goes where. Its own environment: forms render outside a request too.
_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "forms"), autoescape=True)
NO_LABEL_FOR = ("radio", "checkboxes", "yesno", "rows", "object", "file", "checkbox")
UNIT_PICKER_MIN = 12  # a choice of at least this many units is grouped by county and searchable
DEFAULT_ACCEPT = ".pdf,.jpg,.jpeg,.png,.doc,.docx,.xls,.xlsx,.txt,.zip,.ofd"


def _macros():
    return _ENV.get_template("_fields.html").module


def _small_int(value: Any, default: int) -> int:
    try:
        return max(0, min(int(value), 1000))
    except (TypeError, ValueError):
        return default


@dataclass
class Renderer:
    schema: dict
    ui: dict | None = None
    choices: dict[str, Choices] = field(default_factory=dict)
    lang: str = "zh"
    readonly: bool = False
    attachment_url: Callable[[int], str] | None = None
    attachment_name: Callable[[int], str | None] | None = None
    county: str | None = None  # the case's county: its units come first in a unit picker

    def t(self, key: str) -> str:
        return LABELS.get(self.lang, LABELS["zh"])[key]

    def render(self, values: dict | None, errors: dict[str, str] | None = None) -> Markup:
        values, errors = values or {}, errors or {}
        parts = [_macros().form_error(errors[""])] if errors.get("") else []
        parts += [self._field(f, values.get(f.name), errors) for f in fields_of(self.schema, self.ui)]
        return Markup("\n").join(parts)

    def _field(self, f: Field, value: Any, errors: dict[str, str]) -> Markup:
        widget = f.widget
        if widget == "hidden":
            return _macros().hidden(f.name, _str(value))
        control = getattr(self, f"_w_{widget}")(f, value, errors)
        return _macros().field(
            f,
            widget,
            control,
            f.label(self.lang),
            self.t("required"),
            f.dom_id if widget not in NO_LABEL_FOR or (widget == "file" and not self.readonly) else None,
            errors.get(f.name),
            f.help(self.lang),
        )  # a file input has a label

    def _attrs(self, f: Field, errors: dict[str, str], **extra: Any) -> dict[str, Any]:
        """The control's attributes (None: left out); the template escapes every value."""
        invalid = f.name in errors
        disabled = self.readonly or f.ui.get("ui:readonly") or f.schema.get("readOnly")
        return {
            "id": f.dom_id,
            "name": f.name,
            "aria-invalid": "true" if invalid else None,
            "aria-describedby": f"{f.dom_id}-error" if invalid else None,
            "disabled": "disabled" if disabled else None,
            "placeholder": f.ui.get("ui:placeholder") or None,
            "autofocus": "autofocus" if f.ui.get("ui:autofocus") else None,
            **extra,
        }

    def _input(self, kind: str, f: Field, value: Any, errors, **extra: Any) -> Markup:
        return _macros().input(kind, self._attrs(f, errors, **extra), _str(value))

    def _w_text(self, f, value, errors):
        max_length = f.schema.get("maxLength")
        return self._input("text", f, value, errors, maxlength=_small_int(max_length, 0) or None)

    def _w_password(self, f, value, errors):
        return _macros().input("password", {"autocomplete": "new-password", **self._attrs(f, errors)}, "")

    def _w_email(self, f, value, errors):
        return self._input("email", f, value, errors)

    def _w_tel(self, f, value, errors):
        return self._input("tel", f, value, errors, inputmode="numeric")

    def _w_date(self, f, value, errors):
        return self._input("date", f, value, errors)

    def _w_datetime(self, f, value, errors):
        return self._input("datetime-local", f, _str(value)[:16], errors)

    def _w_number(self, f, value, errors):
        # type=text + inputmode keeps whatever was typed (a number input drops "12a")
        mode = "decimal" if type_of(f.schema) == "number" else "numeric"
        return self._input("text", f, value, errors, inputmode=mode, **{"class": "num"})

    def _w_textarea(self, f, value, errors):
        rows = _small_int((f.ui.get("ui:options") or {}).get("rows", 4), 4)
        return _macros().textarea({"rows": rows, **self._attrs(f, errors)}, _str(value))

    def _w_lines(self, f, value, errors):
        text = "\n".join(_str(v) for v in (value or [])) if isinstance(value, list) else _str(value)
        return _macros().textarea({"rows": 3, **self._attrs(f, errors), "data-lines": "1"}, text)

    def _selectable(self, opts: Choices, chosen: set[str]) -> list[tuple[str, str, bool]]:
        return [(_str(v), label, _str(v) in chosen) for v, label in opts]

    def _w_select(self, f, value, errors):
        opts = options_of(f.schema, f.ui, self.choices, f.source, self.lang)
        groups = self._unit_groups(opts)
        if groups:
            return _macros().unit_select(
                self._attrs(f, errors, **{"data-unit-picker": "1"}),
                [(name, self._selectable(g, {_str(value)})) for _c, name, g in groups],
                self.t("choose"),
                self.t("find_unit"),
            )
        return _macros().select(self._attrs(f, errors), self._selectable(opts, {_str(value)}), self.t("choose"))

    def _w_multiselect(self, f, value, errors):
        opts = options_of(f.schema.get("items") or {}, f.ui, self.choices, f.source, self.lang)
        attrs = {"multiple": "multiple", "size": min(8, max(3, len(opts))), **self._attrs(f, errors)}
        return _macros().select(attrs, self._selectable(opts, {_str(v) for v in (value or [])}))

    def _w_radio(self, f, value, errors):
        opts = options_of(f.schema, f.ui, self.choices, f.source, self.lang)
        return self._choice_group(f, opts, [value], "radio")

    def _w_yesno(self, f, value, errors):
        return self._choice_group(f, [(True, self.t("yes")), (False, self.t("no"))], [value], "radio")

    def _w_checkboxes(self, f, value, errors):
        opts = options_of(f.schema.get("items") or {}, f.ui, self.choices, f.source, self.lang)
        groups = self._unit_groups(opts)
        if groups:
            chosen = {_str(v) for v in (value or []) if v is not None}
            disabled = bool(self.readonly or f.ui.get("ui:readonly"))
            shown, start = [], 0
            for code, name, group in groups:
                boxes = self._selectable(group, chosen)
                keep_open = code in (self.county, "city") or any(c for _v, _l, c in boxes)
                shown.append({"county": code, "name": name, "options": boxes, "start": start, "open": keep_open})
                start += len(boxes)
            return _macros().unit_choices(f, f.label(self.lang), shown, disabled, self.t("find_unit"))
        return self._choice_group(f, opts, list(value or []), "checkbox")

    def _unit_groups(self, opts: Choices) -> list[tuple[str, str, Choices]] | None:
        """A long list of units (every value a unit of the directory): grouped by county, the
        case's county first, then the city's units, then the other counties; None otherwise."""
        units = dict(self.choices.get("units") or [])
        if len(opts) < UNIT_PICKER_MIN or not units or any(_str(v) not in units for v, _l in opts):
            return None
        counties = dict(self.choices.get("counties") or [])
        by_county: dict[str, Choices] = {}
        for value, label in opts:
            prefix = _str(value).split(".", 1)[0] if "." in _str(value) else "city"
            by_county.setdefault(prefix if prefix in counties else "city", []).append((value, label))
        order = [c for c in (self.county, "city") if c in by_county]
        order += [c for c in counties if c in by_county and c not in order]
        order += [c for c in by_county if c not in order]
        return [(c, counties.get(c, c), by_county[c]) for c in dict.fromkeys(order)]

    def _choice_group(self, f: Field, opts: Choices, selected: list, kind: str) -> Markup:
        chosen = {_str(v) for v in selected if v is not None}
        disabled = bool(self.readonly or f.ui.get("ui:readonly"))
        return _macros().choices(f, kind, f.label(self.lang), self._selectable(opts, chosen), disabled)

    def _w_checkbox(self, f, value, errors):
        checked = value is True or _str(value) in ("true", "on", "1")
        return _macros().checkbox(f, self._attrs(f, errors), checked, f.label(self.lang))

    def _w_file(self, f, value, errors):
        items = value if isinstance(value, list) else ([value] if value not in (None, "") else [])
        kept = []
        for item in filter(None, map(self._file_item, items)):
            url = self.attachment_url(int(item["id"])) if self.attachment_url else None
            kept.append(
                {
                    "id": _str(item["id"]),
                    "name": _str(item.get("name", "")),
                    "url": url,
                    "label": _str(item.get("name", item["id"])),
                }
            )
        accept = (f.ui.get("ui:options") or {}).get("accept", DEFAULT_ACCEPT)
        return _macros().file(
            f, self._attrs(f, errors), kept, self.t("kept"), type_of(f.schema) == "array", _str(accept), self.readonly
        )

    def _file_item(self, item) -> dict | None:
        if isinstance(item, dict) and "id" in item:
            return item
        if isinstance(item, (int, str)) and str(item).isdigit() and len(str(item)) <= 18:
            name = self.attachment_name(int(item)) if self.attachment_name else None
            return {"id": int(item), "name": name or f"#{item}"}
        return None

    def _w_object(self, f, value, errors):
        value = value if isinstance(value, dict) else {}
        children = [
            self._field(sub, value.get(sub.name.rsplit(".", 1)[-1]), errors)
            for sub in fields_of(f.schema, f.ui, prefix=f.name + ".")
        ]
        return _macros().group(f, children)

    def _w_rows(self, f, value, errors):
        rows = value if isinstance(value, list) else []
        item_schema, item_ui = f.schema.get("items") or {}, f.ui.get("items") or {}
        count = max(len(rows), _small_int(f.schema.get("minItems"), 0), 1 if not rows else 0)
        items = [
            self._row(
                f, item_schema, item_ui, i, rows[i] if i < len(rows) and isinstance(rows[i], dict) else {}, errors
            )
            for i in range(count)
        ]
        template = None if self.readonly else self._row(f, item_schema, item_ui, "__i__", {}, {})
        return _macros().rows(f, items, template, self.t("add_row"))

    def _row(self, f: Field, item_schema: dict, item_ui: dict, i, row: dict, errors) -> Markup:
        children = [
            self._field(sub, row.get(sub.name.rsplit(".", 1)[-1]), errors)
            for sub in fields_of(item_schema, item_ui, prefix=f"{f.name}.{i}.")
        ]
        return _macros().row(i, children, None if self.readonly else self.t("remove_row"))


def _str(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
