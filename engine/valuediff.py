"""Old → new values for a version diff (issue 15 item 6): what a designer changed, in values.

``element_details`` turns the attribute names SpiffWorkflow's ``SpecDiff`` reports for one
activity into rows ``{"what", "old", "new"}`` (name, timer/message, conditions per target,
each property, scripts, lane). ``file_changes`` compares the files of two versions that are
not diagrams: form fields (added, removed, each keyword changed, ``required``, UI order) and
DMN cells (per rule id and column), so a form-only or table-only change is never "no
difference".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .parsing import BundleError, is_bpmn, is_dmn, is_form, parse_xml

Row = dict[str, Any]


def _text(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _event(spec: Any) -> Any:
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return None
    return getattr(definition, "expression", None) or getattr(definition, "name", None) or type(definition).__name__


def _values(spec: Any, attribute: str) -> dict[str, Any]:
    """The value(s) of an attribute, keyed by what a designer would call them."""
    if spec is None:
        return {}
    if attribute == "bpmn_name":
        return {"name": spec.bpmn_name}
    if attribute == "event_definition":
        return {"event": _event(spec)}
    if attribute == "cond_task_specs":
        return {f"condition → {target}": condition for condition, target in getattr(spec, "cond_task_specs", [])}
    if attribute == "extensions":
        props = (getattr(spec, "extensions", None) or {}).get("properties") or {}
        return {f"property {key}": value for key, value in props.items()}
    if attribute in ("script", "prescript", "postscript", "lane", "documentation", "default_task_spec"):
        return {attribute: getattr(spec, attribute, None)}
    return {}


def element_details(old_spec: Any, new_spec: Any, attributes: Iterable[str]) -> list[Row]:
    rows: list[Row] = []
    for attribute in attributes:
        old, new = _values(old_spec, attribute), _values(new_spec, attribute)
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                rows.append({"what": key, "old": _text(old.get(key)), "new": _text(new.get(key))})
    return rows


@dataclass
class FileChange:
    file: str
    change: str  # added | removed | changed
    details: list[Row] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{self.change:<8}file {self.file}"
        return [head] + [f"          {d['what']}: {d['old']!r} -> {d['new']!r}" for d in self.details]


def _form_rows(old: Any, new: Any) -> list[Row]:
    rows: list[Row] = []
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [{"what": "content", "old": _text(old), "new": _text(new)}]
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    if isinstance(old_props, dict) and isinstance(new_props, dict) and (old_props or new_props):
        for name in sorted(set(old_props) | set(new_props)):
            a, b = old_props.get(name), new_props.get(name)
            if a == b:
                continue
            if a is None or b is None or not (isinstance(a, dict) and isinstance(b, dict)):
                rows.append({"what": f"field {name}", "old": _text(a), "new": _text(b)})
                continue
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    rows.append({"what": f"field {name}.{key}", "old": _text(a.get(key)), "new": _text(b.get(key))})
    for key in sorted((set(old) | set(new)) - {"properties"}):
        if old.get(key) != new.get(key):
            rows.append({"what": key, "old": _text(old.get(key)), "new": _text(new.get(key))})
    return rows


def _dmn_cells(content: bytes, name: str) -> dict[tuple, tuple[str, Any]]:
    """Each cell of each decision table, keyed by (decision, rule id, column) so that a rule
    added above another does not make it look changed; the value is (what, text), the what
    naming the rule by its position in this version (``ztc_deadline rule 2 (r2) [办理时限]``)."""
    cells: dict[tuple, tuple[str, Any]] = {}
    tree = parse_xml(name, content)
    for decision in tree.getroot().iter("{*}decision"):
        table = next(decision.iter("{*}decisionTable"), None)
        if table is None:
            continue
        columns = [
            (c.get("label") or c.get("name") or c.get("id") or "")
            for c in table
            if isinstance(c.tag, str) and etree.QName(c).localname in ("input", "output")
        ]
        did = decision.get("id")
        cells[(did, "", "")] = (f"{did} hit policy", table.get("hitPolicy", "UNIQUE"))
        for index, rule in enumerate(table.iter("{*}rule"), start=1):
            entries = [
                e for e in rule if isinstance(e.tag, str) and etree.QName(e).localname in ("inputEntry", "outputEntry")
            ]
            rid = rule.get("id") or str(index)
            for column, entry in zip(columns, entries):
                text = next(entry.iter("{*}text"), None)
                what = f"{did} rule {index} ({rid}) [{column}]"
                cells[(did, rid, column)] = (what, (text.text or "").strip() if text is not None else "")
    return cells


def _dmn_rows(old_cells: dict[tuple, tuple[str, Any]], new_cells: dict[tuple, tuple[str, Any]]) -> list[dict]:
    """The changed cells, in the new table's order (then the removed rules', in the old order)."""
    keys = list(new_cells) + [key for key in old_cells if key not in new_cells]
    rows = []
    for key in keys:
        old, new = old_cells.get(key, (None, None)), new_cells.get(key, (None, None))
        if old[1] != new[1]:
            rows.append({"what": new[0] or old[0], "old": old[1], "new": new[1]})
    return rows


def file_changes(old_files: dict[str, bytes], new_files: dict[str, bytes]) -> list[FileChange]:
    """Changes of the forms, DMN tables and other non-diagram files of two versions."""
    out: list[FileChange] = []
    for name in sorted(set(old_files) | set(new_files)):
        if is_bpmn(name):
            continue  # activities are compared by SpecDiff
        a, b = old_files.get(name), new_files.get(name)
        if a == b:
            continue
        if a is None or b is None:
            out.append(FileChange(name, "added" if a is None else "removed"))
            continue
        try:
            if is_dmn(name):
                rows = _dmn_rows(_dmn_cells(a, name), _dmn_cells(b, name))
            elif is_form(name):
                rows = _form_rows(json.loads(a.decode("utf-8")), json.loads(b.decode("utf-8")))
            else:
                rows = []
        except (ValueError, BundleError):  # (deployed files parse; if not, the file is listed alone)
            rows = []
        out.append(FileChange(name, "changed", rows))
    return out
