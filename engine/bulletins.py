"""专报 bulletins: numbered issues (第N期) per series, composed by the working group from
selected cases and the period's figures, signed off by a leader in ``processes/bulletin.bpmn``
(process ``ztc_bulletin``); the issue's document (DOCX, PDF) is engine/bulletin_document.py.

The number is taken when the issue is composed, with a row lock on the series (PostgreSQL)
or under SQLite's write lock, so two working-group members composing at once never get the
same number; a returned issue keeps its number, so numbers have no gaps. No web here.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import stats
from .access import Principal
from .errors import InvalidRequest, NotFound
from .models import Bulletin, BulletinSeries, CaseRecord

if TYPE_CHECKING:
    from .runtime import Engine
    from .step import StepSaved

PROCESS = "ztc_bulletin"
SERIES = stats.BULLETIN_SERIES
STATUS_FROM_SUMMARY = {"编写中": "draft", "退回修改": "draft", "待审签": "signing", "已签发": "issued"}
STATUS_LABELS = {"draft": "编写中", "signing": "待审签", "issued": "已印发"}


def ensure_series(session: Session) -> dict[str, str]:
    """Create the standard series if missing; returns code → name of every series."""
    have = {code: name for code, name in session.execute(select(BulletinSeries.code, BulletinSeries.name))}
    for code, name in SERIES.items():
        if code not in have:
            try:
                with session.begin_nested():
                    session.add(BulletinSeries(code=code, name=name, last_no=0))
                    session.flush()
                have[code] = name
            except IntegrityError:  # created by a concurrent transaction
                have[code] = name
    return have


def next_number(session: Session, series: str) -> int:
    """The next issue number of ``series`` (inside the caller's transaction)."""
    ensure_series(session)
    row = session.scalars(select(BulletinSeries).where(BulletinSeries.code == series).with_for_update()).first()
    if row is None:
        raise InvalidRequest(f"unknown bulletin series '{series}'", field="series")
    session.execute(
        update(BulletinSeries).where(BulletinSeries.code == series).values(last_no=BulletinSeries.last_no + 1)
    )
    session.refresh(row)
    return row.last_no


def compose(
    session: Session,
    engine: Engine,
    *,
    series: str,
    title: str,
    period: stats.Period,
    case_ids: list[int],
    actor: str,
    county: str = "city",
    body: str = "",
) -> Bulletin:
    """Number a new issue, freeze the period's figures and start its sign-off process."""
    title = (title or "").strip()
    if not title:
        raise InvalidRequest("a bulletin needs a title", field="title")
    if len(title) > 300:
        raise InvalidRequest("a title has at most 300 characters", field="title")
    known = set(session.scalars(select(CaseRecord.instance_id).where(CaseRecord.instance_id.in_(case_ids or [-1]))))
    unknown = [c for c in case_ids if c not in known]
    if unknown:
        raise InvalidRequest(f"not cases: {unknown}", field="case_ids")
    number = next_number(session, series)
    now = engine.clock.now()
    figures = stats.dashboard(session, period, None if county == "city" else county, now=now).as_dict()
    bulletin = Bulletin(
        series=series,
        number=number,
        title=title,
        county=county,
        period_from=period.start,
        period_to=period.end,
        case_ids=list(case_ids),
        figures=figures,
        body=body,
        status="draft",
        composed_by=actor,
        created_at=now,
    )
    session.add(bulletin)
    session.flush()
    instance = engine.start(
        session,
        PROCESS,
        {
            "bulletin_id": bulletin.id,
            "title": title,
            "series": series,
            "number": number,
            "county": county,
            "body": body,
        },
        actor=actor,
    )
    bulletin.instance_id = instance.id
    session.flush()
    return bulletin


def on_step_saved(event: StepSaved) -> None:
    """Step listener (engine/domain.py): an issue's row follows its process (a ``bulletin_id``
    in the summary marks a bulletin process)."""
    summary = event.instance.summary or {}
    if summary.get("bulletin_id"):
        project_bulletin(event.session, summary, event.now, event.actor)


def project_bulletin(session: Session, summary: dict[str, Any], now: _dt.datetime, actor: str | None) -> None:
    bulletin = session.get(Bulletin, int(summary["bulletin_id"]))
    if bulletin is None:
        return
    status = STATUS_FROM_SUMMARY.get(summary.get("status") or "", bulletin.status)
    if summary.get("body"):
        bulletin.body = summary["body"]
    if summary.get("leader_comment"):
        bulletin.leader_comment = summary["leader_comment"]
    if status == "issued" and bulletin.status != "issued":
        bulletin.issued_at = now
        bulletin.signed_by = actor
    bulletin.status = status


# -- who sees which issue ------------------------------------------------------------------
def visible(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on Bulletin: the issues the person may list and download."""
    scope = stats.stats_scope(principal)
    if not stats.can_see_stats(principal):
        return Bulletin.id < 0
    if scope is None:
        return Bulletin.id > 0
    return or_(Bulletin.county.in_(sorted(scope)), (Bulletin.county == "city") & (Bulletin.status == "issued"))


def list_bulletins(
    session: Session, principal: Principal, series: str | None = None, status: str | None = None, limit: int = 200
) -> list[Bulletin]:
    stmt = select(Bulletin).where(visible(principal))
    if series:
        stmt = stmt.where(Bulletin.series == series)
    if status:
        stmt = stmt.where(Bulletin.status == status)
    return list(session.scalars(stmt.order_by(Bulletin.created_at.desc(), Bulletin.id.desc()).limit(limit)))


def get(session: Session, principal: Principal, bulletin_id: int) -> Bulletin:
    found = session.scalars(select(Bulletin).where(Bulletin.id == bulletin_id, visible(principal))).first()
    if found is None:
        raise NotFound(f"bulletin {bulletin_id}")
    return found
