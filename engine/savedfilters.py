"""Saved filters: a named inbox or case-list query, kept by a person for themselves or shared
with one of their groups (everyone in the group sees it; only its owner deletes it).

The query is the page's query string, kept as typed (parsed again, with the page's limits,
whenever it is used). No web here; the caller owns the transaction.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import clock as clock_mod
from .access import Principal
from .errors import InvalidRequest, NotAllowed, NotFound
from .models import SavedFilter

PAGES = ("inbox", "cases")
MAX_PER_PERSON = 50


def visible(session: Session, principal: Principal, page: str) -> list[SavedFilter]:
    """A person's own filters for the page, then those shared with their groups."""
    groups = sorted(principal.groups)
    stmt = select(SavedFilter).where(
        SavedFilter.page == page, or_(SavedFilter.owner == principal.username, SavedFilter.shared_group.in_(groups))
    )
    rows = list(session.scalars(stmt.order_by(SavedFilter.name, SavedFilter.id)))
    return sorted(rows, key=lambda f: (f.owner != principal.username, f.name))


def clean_query(query: str) -> str:
    """The query string without empty values, CSRF tokens or paging."""
    pairs = [
        (k, v)
        for k, v in parse_qsl(query or "", keep_blank_values=False)
        if k not in ("csrf_token", "page", "saved", "name", "share") and len(k) <= 50
    ]
    return urlencode(pairs)[:2000]


def save(
    session: Session, principal: Principal, page: str, name: str, query: str, shared_group: str | None = None
) -> SavedFilter:
    name = " ".join((name or "").split())
    if page not in PAGES:
        raise InvalidRequest(f"unknown page {page!r}", field="page")
    if not name or len(name) > 100:
        raise InvalidRequest("a saved filter needs a name of 1 to 100 characters", field="name")
    if shared_group and shared_group not in principal.groups:
        raise InvalidRequest("a filter can only be shared with one of your groups", field="share")
    mine = session.scalars(select(SavedFilter).where(SavedFilter.owner == principal.username)).all()
    if len(mine) >= MAX_PER_PERSON:
        raise InvalidRequest(f"at most {MAX_PER_PERSON} saved filters per person", field="name")
    row = SavedFilter(
        owner=principal.username,
        shared_group=shared_group or None,
        page=page,
        name=name,
        query=clean_query(query),
        created_at=clock_mod.now(),
    )
    session.add(row)
    session.flush()
    return row


def delete(session: Session, principal: Principal, filter_id: int) -> None:
    row = session.get(SavedFilter, filter_id)
    if row is None:
        raise NotFound(f"saved filter {filter_id}")
    if row.owner != principal.username:
        raise NotAllowed("only the person who saved a filter may delete it")
    session.delete(row)
    session.flush()


__all__ = ["PAGES", "visible", "save", "delete", "clean_query"]
