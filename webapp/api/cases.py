"""Cases (直通车 instances with a case number): search, detail, timeline, submit."""

from __future__ import annotations

from flask import g, request

from engine import access, casefiles
from engine import cases as intake
from engine.errors import InvalidRequest, NotAllowed, NotFound
from engine.models import Instance

from ..context import get_db, get_engine
from .case_schemas import CaseArgs, CaseBody, DossierArgs, DossierSchema, TimelineItemSchema
from .common import BIG_ID, api_blueprint, page_of_list
from .instances import enterprise_data, instance_detail, instance_dict
from .schemas import InstanceDetailSchema, InstanceSchema, PageArgs, page_of

blp = api_blueprint("cases", "/cases", "Cases: search, detail, timeline, dossier; enterprises submit new cases")


def visible_case(case_id: int) -> Instance:
    instance = get_db().get(Instance, case_id)
    if instance is None or instance.business_key is None or not access.can_see_case(get_db(), g.principal, instance):
        raise NotFound(f"case {case_id} does not exist")
    return instance


@blp.route("")
@blp.arguments(CaseArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(InstanceSchema))
def search(args):
    """Cases the caller may see: text search on case number, enterprise, title, credit code; filters."""
    query = casefiles.CaseQuery(
        q=args.get("q") or None,
        category=args.get("category") or None,
        county=args.get("county") or None,
        status=args.get("status") or None,
        overdue=args["overdue"],
        sort=args["sort"],
        page=args["page"],
        per_page=args["per_page"],
    )
    result = casefiles.search_cases(get_db(), g.principal, query, now=get_engine().clock.now())
    return {
        "items": [instance_dict(i) for i in result.items],
        "page": {"page": args["page"], "per_page": args["per_page"], "total": result.total},
    }


@blp.route(f"/<{BIG_ID}:case_id>")
@blp.response(200, InstanceDetailSchema)
def get_case(case_id: int):
    """One case: status, summary (the case's face), ready tasks."""
    return instance_detail(visible_case(case_id))


@blp.route(f"/<{BIG_ID}:case_id>/timeline")
@blp.arguments(PageArgs, location="query", as_kwargs=False)
@blp.response(200, page_of(TimelineItemSchema))
def timeline(args, case_id: int):
    """What happened to the case, oldest first (enterprises do not see internal comments)."""
    instance = visible_case(case_id)
    items = casefiles.timeline(get_db(), instance.id, include_internal=access.sees_internal(g.principal))
    shown = enterprise_data(instance)
    rows = [
        {
            "at": i.at,
            "actor": i.actor,
            "action": i.action,
            "task_name": i.task_name,
            "data": i.data if shown is None else shown.get(i.entry_id),
            "comment": i.comment.body if i.comment is not None else None,
        }
        for i in items
    ]
    return page_of_list(rows, args)


@blp.route(f"/<{BIG_ID}:case_id>/dossier")
@blp.arguments(DossierArgs, location="query", as_kwargs=False)
@blp.response(200, DossierSchema)
def dossier(args, case_id: int):
    """The case's record: the submission and every completed step's answers, labelled from each
    step's own form (in the caller's language), oldest first (``order=newest``: newest first),
    ``per_page`` steps a page (100 by default); enterprises get public answers only."""
    from ..dossierview import api_page

    instance = visible_case(case_id)
    return api_page(
        instance, "portal" if g.principal.is_enterprise else "office", args["page"], args["per_page"], args["order"]
    )


IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "Any unique string per submission (e.g. a UUID). Sending the same key again "
    "(a retry) creates no second case: the answer is 200 with the case already created; "
    "the same key with other data is 409.",
}


@blp.route("", methods=["POST"])
@blp.arguments(CaseBody, as_kwargs=False)
@blp.response(201, InstanceDetailSchema)
@blp.alt_response(
    200, schema=InstanceDetailSchema, description="A repeat of an earlier submission (same Idempotency-Key)"
)
@blp.doc(parameters=[IDEMPOTENCY_KEY])
def submit(body):
    """An enterprise submits a case (the submission form's values, checked field by field as
    on the portal); it gets a case number. The enterprise's name, credit code and source come
    from its account (values sent for them are ignored).

    With an ``Idempotency-Key`` header a retried submission answers with the same case."""
    if not g.principal.is_enterprise:
        raise NotAllowed("only enterprises submit cases")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key.strip()) <= 100:
        raise InvalidRequest("the Idempotency-Key header must have 1 to 100 characters", field="Idempotency-Key")
    instance, created = intake.submit(
        get_db(),
        get_engine(),
        g.user,
        body["data"],
        key=key.strip() if key else None,
        data_fingerprint=intake.fingerprint(body["data"]),
    )
    return instance_detail(instance), (201 if created else 200)
