"""Messages to a case, addressed by its case number (docs/CONVENTIONS.md)."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from engine.cases import send_as
from engine.errors import NotFound
from engine.models import Instance

from ..context import get_db, get_engine
from .common import api_blueprint
from .instances import instance_detail
from .schemas import InstanceDetailSchema, MessageBody

blp = api_blueprint("messages", "/messages", "Deliver a message (material_supplied, enterprise_withdraws …) to a case")


@blp.route("", methods=["POST"])
@blp.arguments(MessageBody, as_kwargs=False)
@blp.response(200, InstanceDetailSchema)
def send(body):
    """Deliver a message to the case with this number. Each message has its sender: the enterprise
    that owns the case for `material_supplied` and `enterprise_withdraws`, the case's working group
    for any other (403 otherwise); 409 when the case is not waiting for it."""
    instance = (
        get_db()
        .scalars(select(Instance).where(Instance.business_key == body["case_no"]).order_by(Instance.id.desc()).limit(1))
        .first()
    )
    if instance is None:
        raise NotFound(f"case {body['case_no']} does not exist")
    instance = send_as(get_db(), get_engine(), g.principal, instance, body["name"], body["payload"])
    return instance_detail(instance)
