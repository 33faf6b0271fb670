"""Editors in the browser: BPMN (bpmn-js modeler + our side panel), DMN (dmn-js), forms
(JSON Schema textarea + live preview). An edit is deployed as a new version made of the
base version's files with the edited ones replaced; nothing is written to the repository."""

from __future__ import annotations

import re

from flask import abort, g, jsonify, render_template, request, url_for
from sqlalchemy import select

from engine.models import ProcessVersion

from ..context import get_db, get_engine
from ..i18n import current_lang
from . import labels, workspace
from .blueprint import bp
from .views import load_version

TEMPLATES = {
    "bpmn": "designer/edit_bpmn.html",
    "dmn": "designer/edit_dmn.html",
    "schema": "designer/edit_form.html",
    "uischema": "designer/edit_form.html",
}


@bp.get("/processes/<process_id>/<int:version>/edit/<name>")
def edit(process_id: str, version: int, name: str):
    found = load_version(process_id, version)
    kind = workspace.file_kind(name)
    if name not in found.files or kind not in TEMPLATES:
        abort(404)
    latest = load_version(process_id)
    forms = sorted(n for n in found.files if workspace.file_kind(n) == "schema")
    decision_files = {
        d: n
        for n, text in sorted(found.files.items())
        if workspace.file_kind(n) == "dmn"
        for d in _DECISION_ID.findall(text)
    }
    decisions = sorted(decision_files)
    processes = sorted(get_db().scalars(select(ProcessVersion.process_id).distinct()))
    return render_template(
        TEMPLATES[kind],
        v=found,
        name=name,
        kind=kind,
        latest=latest,
        text=found.files[name],
        forms=forms,
        decisions=decisions,
        decision_files=decision_files,
        processes=processes,
        companion=_companion(found, name),
        dmn_words=labels.dmn_words() if kind == "dmn" else {},
        file_url=url_for("designer.version_file", process_id=process_id, version=version, name=name),
    )


_DECISION_ID = re.compile(r"<(?:\w+:)?decision\s[^>]*?\bid=\"([^\"]+)\"")


def _companion(version, name: str) -> str | None:
    """The schema of a UI schema and the UI schema of a schema (for the preview)."""
    if name.endswith(".uischema.json"):
        other = name[: -len(".uischema.json")] + ".schema.json"
    elif name.endswith(".schema.json"):
        other = name[: -len(".schema.json")] + ".uischema.json"
    else:
        return None
    return other if other in version.files else None


def _edits() -> dict[str, str]:
    body = request.get_json(silent=True) or {}
    files = body.get("files")
    if (
        not isinstance(files, dict)
        or not files
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    ):
        abort(400)
    return files


@bp.post("/processes/<process_id>/<int:version>/validate.json")
def validate_edit(process_id: str, version: int):
    found = load_version(process_id, version)
    outcome = workspace.validate(workspace.edited_bundle(found, _edits()))
    return jsonify(outcome.as_dict()), (200 if outcome.ok else 422)


@bp.post("/processes/<process_id>/<int:version>/deploy.json")
def deploy_edit(process_id: str, version: int):
    found = load_version(process_id, version)
    edits = _edits()
    source = f"web edit of v{version}: " + ", ".join(sorted(edits))
    latest = load_version(process_id)
    if request.args.get("on_latest") == "1":  # the designer chose to apply the edit on the latest version
        found = latest
        source = f"web edit of v{latest.version}: " + ", ".join(sorted(edits))
    outcome = workspace.deploy(
        get_db(),
        get_engine(),
        workspace.edited_bundle(found, edits),
        g.user.username,
        source[:200],
        origin="web",
        base_versions={process_id: found.version},
    )
    body = outcome.as_dict()
    if outcome.superseded:
        mine = next((s for s in outcome.superseded if s.process_id == process_id), None)
        if mine is not None and mine.can_apply_on_latest:
            body["apply_url"] = url_for("designer.deploy_edit", process_id=process_id, version=version, on_latest=1)
        return jsonify(body), 409
    if outcome.ok:
        new = dict(outcome.created).get(process_id) or dict(outcome.unchanged).get(process_id)
        body["version_url"] = url_for("designer.version", process_id=process_id, version=new) if new else None
        body["process_url"] = url_for("designer.process", process_id=process_id)
    return jsonify(body), (200 if outcome.ok else 422)


@bp.post("/forms/preview.json")
def form_preview():
    from ..directory import choices
    from ..formrender import Renderer

    body = request.get_json(silent=True) or {}
    schema, error = workspace.parse_json(body.get("schema") or "")
    if error is None and not isinstance(schema, dict):
        error = "the schema must be a JSON object"
    ui, ui_error = workspace.parse_json(body.get("ui") or "{}")
    if error or ui_error or not isinstance(ui, (dict, type(None))):
        return jsonify(ok=False, error=error or ui_error or "the UI schema must be a JSON object")
    from engine.forms import check_schema

    reason = check_schema(schema)
    if reason:
        return jsonify(ok=False, error=f"not a valid JSON Schema: {reason}")
    try:
        html = Renderer(schema, ui or {}, choices=choices(), lang=current_lang()).render({}, {})
    except Exception as exc:  # noqa: BLE001 - a half-typed schema must not break the page
        return jsonify(ok=False, error=f"cannot render: {exc.__class__.__name__}")
    return jsonify(ok=True, html=str(html), title=schema.get("title"))
