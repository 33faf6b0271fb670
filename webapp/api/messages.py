"""Messages to a case, addressed by its case number (docs/CONVENTIONS.md)."""
from __future__ import annotations

from flask import g
from sqlalchemy import select

from engine import access
from engine.cases import CASE_PROCESS, deliver_case_message
from engine.errors import NotAllowed, NotFound
from engine.models import Instance

from .. import get_db, get_engine
from . import api_blueprint
from .instances import instance_detail
from .schemas import InstanceDetailSchema, MessageBody

blp = api_blueprint("messages", "/messages",
                    "Deliver a message (material_supplied, enterprise_withdraws …) to a case")

ENTERPRISE_MESSAGES = frozenset({"material_supplied", "enterprise_withdraws"})


@blp.route("", methods=["POST"])
@blp.arguments(MessageBody, as_kwargs=False)
@blp.response(200, InstanceDetailSchema)
def send(body):
    """Deliver a message to the case with this number; 409 when the case is not waiting for it."""
    instance = get_db().scalars(select(Instance).where(Instance.business_key == body["case_no"])
                                .order_by(Instance.id.desc()).limit(1)).first()
    if instance is None or not access.can_see_case(get_db(), g.principal, instance):
        raise NotFound(f"case {body['case_no']} does not exist")
    if g.principal.is_enterprise and body["name"] not in ENTERPRISE_MESSAGES:
        raise NotAllowed(f"enterprises may send only {', '.join(sorted(ENTERPRISE_MESSAGES))}")
    engine = get_engine()
    if instance.process_id == CASE_PROCESS:
        instance = deliver_case_message(get_db(), engine, body["case_no"], body["name"], body["payload"],
                                        g.user.username)
    else:  # any other process with a business key
        instance = engine.send_message(get_db(), instance.id, body["name"], body["payload"], actor=g.user.username)
    return instance_detail(instance)
