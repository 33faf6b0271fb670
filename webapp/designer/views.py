"""Designer pages: processes and versions, deploy, diagrams, diff, migration."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import access, timerstart
from engine import migration as migration_mod
from engine import versions as versions_mod
from engine.deploy import collect_files
from engine.errors import EngineError, NotFound
from engine.models import ProcessVersion
from engine.parsing import is_bpmn

from ..context import get_db, get_engine
from ..security import require
from . import labels, workspace
from .blueprint import bp


@bp.before_request
def _designers_only():
    if g.get("user") is None:
        if request.accept_mimetypes.best == "application/json":
            abort(401)
        return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
    require(access.is_designer, "only designers may change processes")
    return None


def load_version(process_id: str, version: int | None = None) -> ProcessVersion:
    try:
        return get_engine().version(get_db(), process_id, version)
    except NotFound:
        abort(404)


# -- processes and versions ---------------------------------------------------------------
@bp.get("/")
def index():
    return render_template("designer/index.html", processes=workspace.processes(get_db()))


@bp.get("/processes/<process_id>")
def process(process_id: str):
    rows = workspace.versions(get_db(), process_id)
    if not rows:
        abort(404)
    schedule = timerstart.designer_view(get_db(), get_engine(), process_id)  # issue 15: timer starts
    return render_template(
        "designer/process.html",
        process_id=process_id,
        rows=rows,
        latest=rows[0].version,
        schedule=schedule,
        labels=labels,
    )


@bp.get("/processes/<process_id>/<int:version>")
def version(process_id: str, version: int):
    found = load_version(process_id, version)
    files = workspace.file_rows(found)
    latest = load_version(process_id)
    return render_template("designer/version.html", v=found, files=files, latest=latest, labels=labels)


@bp.get("/processes/<process_id>/<int:version>/files/<name>")
def version_file(process_id: str, version: int, name: str):
    found = load_version(process_id, version)
    if name not in found.files:
        abort(404)
    response = Response(found.files[name], mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if request.args.get("download") == "1":
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return response


@bp.get("/processes/<process_id>/<int:version>/files.zip")
def version_zip(process_id: str, version: int):
    found = load_version(process_id, version)
    response = Response(workspace.version_zip(found), mimetype="application/zip")
    response.headers["Content-Disposition"] = f"attachment; filename={process_id}-v{version}.zip"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# -- deploy -------------------------------------------------------------------------------
@bp.get("/deploy")
def deploy_form():
    # the versions the upload is based on (issue 15): a later upload from this page is refused
    # with the diff when one of them moved on meanwhile, as a web edit is
    bases = [(row.process_id, row.latest) for row in workspace.processes(get_db())]
    return render_template("designer/deploy.html", bases=bases)


@bp.post("/deploy")
def deploy_upload():
    files = {f.filename: f.read() for f in request.files.getlist("files") if f and f.filename}
    uploaded = sorted(files)
    only_validate = request.form.get("action") == "validate"
    if request.form.get("fill") == "1" and not workspace.check_uploads(files):
        files = workspace.with_deployed(get_db(), files)
    return _deploy_or_report(
        files,
        uploaded,
        only_validate,
        source="web upload: " + ", ".join(uploaded),
        origin="web",
        base_versions=workspace.base_versions(request.form.getlist("base")),
    )


@bp.post("/deploy/repository")
def deploy_repository():
    settings = current_app.config["SETTINGS"]
    files = collect_files(settings.processes_dir, settings.forms_dir)
    return _deploy_or_report(
        files, sorted(files), request.form.get("action") == "validate", source="web: repository files", origin="files"
    )


def _deploy_or_report(
    files: dict[str, bytes],
    uploaded: list[str],
    only_validate: bool,
    source: str,
    origin: str,
    base_versions: dict[str, int] | None = None,
):
    if only_validate:
        outcome = workspace.validate(files)
    else:
        outcome = workspace.deploy(
            get_db(), get_engine(), files, g.user.username, source[:200], origin=origin, base_versions=base_versions
        )
    diagrams = [(name, files[name].decode("utf-8", "replace")) for name in uploaded if is_bpmn(name) and name in files]
    if outcome.ok and not only_validate:
        flash(_("部署完成：新版本 %(n)d 个，未变 %(m)d 个", n=len(outcome.created), m=len(outcome.unchanged)), "ok")
    return render_template(
        "designer/report.html", outcome=outcome, uploaded=uploaded, diagrams=diagrams, only_validate=only_validate
    ), (200 if outcome.ok else 422)


# -- diff and migration -------------------------------------------------------------------
def _int(name: str) -> int | None:
    from ..limits import int_arg  # bounded: a huge or malformed number is a 400

    return int_arg(name)


@bp.get("/processes/<process_id>/diff")
def diff(process_id: str):
    latest = load_version(process_id)
    to_v = _int("to") or latest.version
    from_v = _int("from") or max(1, to_v - 1)
    old, new = load_version(process_id, from_v), load_version(process_id, to_v)
    result = versions_mod.diff_versions(get_db(), get_engine(), process_id, from_v, to_v)
    main = [c for c in result.changes if c.process_id == process_id]
    markers_new = {c.element_id: "diff-" + c.change for c in main if c.change != "removed"}
    markers_old = {c.element_id: "diff-removed" for c in main if c.change == "removed"}
    markers_old.update({c.element_id: "diff-changed" for c in main if c.change == "changed"})
    return render_template(
        "designer/diff.html",
        process_id=process_id,
        diff=result,
        old=old,
        new=new,
        markers_new=markers_new,
        markers_old=markers_old,
        latest=latest.version,
        labels=labels,
    )


def _mapping(values) -> dict[str, str]:
    """The designer's choices ``map:OLD`` = NEW (empty: 不迁移), bounded like any id."""
    return {
        key[4:]: value
        for key, value in values.items()
        if key.startswith("map:") and value and len(key) <= 404 and len(value) <= 400
    }


def _previews(process_id: str, version: int, mapping: dict[str, str]):
    """Previews with the mapping; a wrong mapping is said (flash) and the previews come without it."""
    try:
        return migration_mod.preview_migration(get_db(), get_engine(), process_id, version, mapping=mapping), mapping
    except EngineError as exc:
        flash(_("映射有误，未采用：%(m)s", m=exc.message), "error")
        return migration_mod.preview_migration(get_db(), get_engine(), process_id, version), {}


def _migrate_page(process_id: str, target: ProcessVersion, previews, mapping: dict[str, str], results):
    rows = migration_mod.mapping_rows(get_db(), get_engine(), process_id, target.version, previews, mapping)
    return render_template(
        "designer/migrate.html",
        process_id=process_id,
        target=target,
        latest=load_version(process_id),
        previews=previews,
        results=results,
        mapping=mapping,
        mapping_rows=rows,
    )


@bp.get("/processes/<process_id>/migrate")
def migrate_preview(process_id: str):
    latest = load_version(process_id)
    target = load_version(process_id, _int("to") or latest.version)
    previews, mapping = _previews(process_id, target.version, _mapping(request.args))
    return _migrate_page(process_id, target, previews, mapping, None)


@bp.post("/processes/<process_id>/migrate")
def migrate(process_id: str):
    from ..limits import int_arg

    target = load_version(process_id, int_arg("to", request.form))
    mapping = _mapping(request.form)
    back = url_for(
        "designer.migrate_preview",
        process_id=process_id,
        to=target.version,
        **{f"map:{k}": v for k, v in mapping.items()},
    )
    if request.form.get("scope") == "all" and request.form.get("confirm") != "yes":
        # 迁移全部 asks first: what would move, and the same instances are moved on confirmation
        previews, mapping = _previews(process_id, target.version, mapping)
        return render_template(
            "designer/migrate_confirm.html",
            process_id=process_id,
            target=target,
            previews=[p for p in previews if p.can_migrate],
            mapping=mapping,
            back=back,
        )
    ids = [int(i) for i in request.form.getlist("instance") if i.isdigit() and len(i) <= 18]  # bounded ids
    if not ids:
        flash(_("请选择要迁移的实例"), "error")
        return redirect(back)
    try:
        results = migration_mod.migrate(
            get_db(), get_engine(), process_id, target.version, ids, actor=g.user.username, mapping=mapping
        )
    except EngineError as exc:
        flash(_("未迁移：%(m)s", m=exc.message), "error")
        return redirect(back)
    moved = sum(1 for r in results if r.migrated)
    refused = len(results) - moved
    flash(_("已迁移 %(n)d 个实例，%(m)d 个无法迁移", n=moved, m=refused), "ok" if not refused else "error")
    return _migrate_page(process_id, target, results, mapping, results)
