"""Process definitions: the deployed versions, and deploy (designers and admins)."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy import func, or_, select
from werkzeug.exceptions import RequestEntityTooLarge

from engine.models import ProcessVersion

from ..context import get_db, get_engine
from .auth import DESIGNERS, require_groups, require_official
from .common import api_blueprint, paginate
from .schemas import DefinitionArgs, DeployFilesArgs, DeployResultSchema, PageArgs, VersionSchema, page_of

blp = api_blueprint(
    "definitions", "/definitions", "Deployed process definitions (BPMN + DMN + forms) and their versions"
)


def version_dict(v: ProcessVersion) -> dict:
    return {
        "process_id": v.process_id,
        "version": v.version,
        "name": v.name,
        "flavor": v.flavor,
        "content_hash": v.content_hash,
        "main_file": v.main_file,
        "files": sorted(v.files or {}),
        "deployment_id": v.deployment_id,
        "deployed_by": v.deployment.deployed_by,
        "created_at": v.created_at,
        "origin": v.deployment.origin,
        "base_version": v.base_version,
    }


@blp.route("")
@blp.arguments(DefinitionArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(VersionSchema))
def list_definitions(args):
    """The latest version of every deployed process."""
    require_official("list process definitions")
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    stmt = select(ProcessVersion).join(
        latest, (ProcessVersion.process_id == latest.c.process_id) & (ProcessVersion.version == latest.c.v)
    )
    if args.get("q"):
        like = f"%{args['q']}%"
        stmt = stmt.where(or_(ProcessVersion.process_id.like(like), ProcessVersion.name.like(like)))
    return paginate(get_db(), stmt.order_by(ProcessVersion.process_id), args, version_dict)


@blp.route("/<string:process_id>/versions")
@blp.arguments(PageArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(VersionSchema))
def list_versions(args, process_id: str):
    """Every version of one process, the newest first."""
    require_official("list process definitions")
    get_engine().version(get_db(), process_id)  # 404 when never deployed
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.version.desc())
    return paginate(get_db(), stmt, args, version_dict)


@blp.route("/<string:process_id>")
@blp.response(200, VersionSchema)
def get_definition(process_id: str):
    """The latest version of one process."""
    require_official("read process definitions")
    return version_dict(get_engine().version(get_db(), process_id))


@blp.before_request
def _deploy_size_limit():
    if request.method == "POST":  # a deploy: smaller than the app-wide limit for attachments
        request.max_content_length = current_app.config["API_MAX_DEPLOY_BYTES"]


@blp.route("", methods=["POST"])
@blp.arguments(DeployFilesArgs, location="files", as_kwargs=False)
@blp.response(201, DeployResultSchema)
def deploy(args):
    """Validate and deploy process files; a process gets a new version only when its files changed.

    Untrusted XML is refused when it declares a DOCTYPE or entities; every expression and
    script is compiled in the sandbox. Send the version the change is based on as form field
    ``base_version`` (``N`` for every process of the bundle, or ``PROCESS:N``, repeatable): when the
    latest version has moved on since, the deploy is refused (409 ``superseded``) with the diff."""
    require_groups(DESIGNERS, "deploy processes")
    files = {}
    for storage in request.files.getlist("files"):
        name = (storage.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        files[name] = storage.read()
    if request.content_length is not None and request.content_length > current_app.config["API_MAX_DEPLOY_BYTES"]:
        raise RequestEntityTooLarge()
    from ..designer.workspace import scenario_dir

    result = get_engine().deploy(
        get_db(),
        files,
        g.user.username,
        source="api",
        origin="api",
        base_versions=_base_versions(files),
        scenario_dir=scenario_dir(),
    )
    return {
        "deployment_id": result.deployment_id,
        "created": [{"process_id": p, "version": v} for p, v in result.created],
        "unchanged": [{"process_id": p, "version": v} for p, v in result.unchanged],
    }


def _base_versions(files: dict[str, bytes]) -> dict[str, int] | None:
    """The ``base_version`` form fields: ``N`` (every process of the bundle) or ``PROCESS:N``."""
    from engine.deploy import plan
    from engine.errors import InvalidRequest

    values = request.form.getlist("base_version")
    if not values:
        return None
    result: dict[str, int] = {}
    every: int | None = None
    for value in values:
        pid, _, number = value.rpartition(":")
        if not number.isdigit() or len(number) > 9:
            raise InvalidRequest("base_version must be N or PROCESS:N", field="base_version")
        if pid:
            result[pid] = int(number)
        else:
            every = int(number)
    if every is not None:
        for pid in plan(files).processes:
            result.setdefault(pid, every)
    return result
