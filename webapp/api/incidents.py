"""Incidents (instances in error) and the admin's levers: inspect, correct data, retry."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from engine import incidents
from engine.errors import NotFound
from engine.models import Instance

from ..context import get_db, get_engine
from .auth import ADMIN, require_groups
from .common import BIG_ID, api_blueprint, paginate
from .instances import instance_detail
from .schemas import IncidentArgs, IncidentDataBody, IncidentDetailSchema, IncidentSchema, InstanceDetailSchema, page_of

blp = api_blueprint(
    "incidents", "/incidents", "Instances in error (admins): inspect, correct the failed task's data, retry"
)


@blp.before_request
def _admins_only():  # runs after the token is checked (auth.protect puts that first)
    require_groups(ADMIN, "handle incidents")


def _in_error(instance_id: int) -> Instance:
    instance = get_db().get(Instance, instance_id)
    if instance is None or instance.status != "error":
        raise NotFound(f"instance {instance_id} has no incident")
    return instance


@blp.route("")
@blp.arguments(IncidentArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(IncidentSchema))
def list_incidents(args):
    """Instances in error, the most recent first."""
    stmt = select(Instance).where(Instance.status == "error")
    if args.get("process_id"):
        stmt = stmt.where(Instance.process_id == args["process_id"])
    stmt = stmt.order_by(Instance.updated_at.desc(), Instance.id.desc())
    return paginate(get_db(), stmt, args, lambda i: incidents.Incident.of(i).as_dict())


@blp.route(f"/<{BIG_ID}:instance_id>")
@blp.response(200, IncidentDetailSchema)
def get_incident(instance_id: int):
    """One incident with the data of the failed task."""
    instance = _in_error(instance_id)
    return {
        **incidents.Incident.of(instance).as_dict(),
        "data": incidents.failed_task_data(get_db(), get_engine(), instance.id),
    }


@blp.route(f"/<{BIG_ID}:instance_id>/data", methods=["PATCH"])
@blp.arguments(IncidentDataBody, as_kwargs=False)
@blp.response(200, IncidentDetailSchema)
def correct_data(body, instance_id: int):
    """Set or remove variables of the failed task before a retry."""
    instance = _in_error(instance_id)
    incidents.update_data(get_db(), get_engine(), instance.id, body["set"], g.user.username, remove=body["remove"])
    return {
        **incidents.Incident.of(instance).as_dict(),
        "data": incidents.failed_task_data(get_db(), get_engine(), instance.id),
    }


@blp.route(f"/<{BIG_ID}:instance_id>/retry", methods=["POST"])
@blp.response(200, InstanceDetailSchema)
def retry(instance_id: int):
    """Run the failed tasks again; a new failure is a new incident."""
    instance = _in_error(instance_id)
    return instance_detail(incidents.retry(get_db(), get_engine(), instance.id, g.user.username))
