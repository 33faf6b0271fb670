"""Statistics of the 直通车: the typed projection of each case, the dashboard figures, the unit
assessment (考核) and the case filters every figure links to.

The projection (``project``) runs inside the engine's save path (``Engine._save``), so
``case_record`` and ``case_unit`` always change in the same transaction as the instance.
The queries use SQLAlchemy Core on those two tables only (never the JSON summary), so they
run on SQLite and PostgreSQL and scale with the indexes declared in ``engine/models.py``.

Figure definitions (a period is a range of Beijing calendar dates, both ends included):

- *received* — cases registered in the period (``received_at``); *accepted* — of those, the
  ones accepted at intake; *rejected*, *withdrawn* — of those, closed with that outcome;
  *in progress* — of those, still open now; *overdue* — of those, turned red (past the
  deadline) at least once; *overdue now* — of those, open with the deadline passed now;
- by category / county — cases received; by handling mode / lead unit — cases received and
  dispatched; 签批督办 / 专题会议 / 现场办公 — cases received whose leaders chose that mode;
- *solved* (解决难题) — cases closed in the period with outcome ``solved``;
- *on-time rate* — of the cases closed in the period after handling by a unit (outcome
  solved, explained or no answer), the share that never turned red;
- *working days to close* — mean working days from registration to closing, cases solved in
  the period; *satisfaction rate* — of the return visits answered (满意/基本满意/不满意) on
  cases closed in the period, the share 满意 or 基本满意; *reopen rate* — of the handled cases
  closed in the period, the share reopened at least once;
- *enterprises contacted* (沟通企业) — distinct unified social credit codes among the cases
  received in the period;
- *department coordinations* (协调部门) — unit assignments (one per unit per case, lead or
  cooperating) made in the period (``case_unit.assigned_at``);
- *research visits* (调研), *park files* (重点产业园档案) — work records of that kind dated in
  the period; *bulletins* — issues signed off in the period, per series; *weekly reports*
  (“1+7”周报) — publications of the ``ztc_weekly_report`` process in the period.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from .models import AuditEntry, Bulletin, BulletinSeries, CaseRecord, CaseUnit, Instance, WorkRecord
from .workdays import CHINA, to_china_date

UTC = _dt.timezone.utc
PRE_ACCEPT = frozenset({"待受理", "待补充材料", "不予受理", "已撤回"})
HANDLED_OUTCOMES = ("solved", "explained", "no_answer")
GOOD_SATISFACTION = ("满意", "基本满意")
ANSWERED_SATISFACTION = ("满意", "基本满意", "不满意")
LEADER_MODES = ("签批督办", "专题会议", "现场办公")
WEEKLY_PROCESS, WEEKLY_PUBLISH_TASK = "ztc_weekly_report", "Task_publish"
RECORD_KINDS = {"research_visit": "调研", "park_file": "重点产业园档案"}
BULLETIN_SERIES = {  # the standard 专报 series (engine/bulletins.py numbers their issues)
    "ztc": "书记市长直通车专报",
    "key_project": "重点项目建设情况专报",
    "six_batches": "项目建设“六个一批”进展情况通报",
}


# -- the projection ------------------------------------------------------------------------
def _parse_dt(value: Any) -> _dt.datetime | None:
    if not value:
        return None
    if isinstance(value, _dt.datetime):
        parsed = value
    else:
        try:
            parsed = _dt.datetime.fromisoformat(str(value))
        except ValueError:
            try:
                parsed = _dt.datetime.combine(_dt.date.fromisoformat(str(value)), _dt.time(17, 30))
            except ValueError:
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CHINA)
    return parsed.astimezone(UTC)


def _units(summary: dict) -> tuple[str | None, list[str]]:
    lead = summary.get("lead_unit") or None
    coop = summary.get("coop_units") or []
    if isinstance(coop, str):
        coop = [coop]
    coop = [str(u) for u in dict.fromkeys(coop) if u and u != lead]
    return (str(lead) if lead else None), coop


def project(session: Session, instance: Instance, calendar=None, now: _dt.datetime | None = None,
            actor: str | None = None) -> CaseRecord | None:
    """Bring ``case_record``/``case_unit`` (and a bulletin's row) up to date with the instance.

    Called by ``Engine._save`` after every step, before its flush. Only instances whose
    summary carries a ``case_no`` are cases; a ``bulletin_id`` marks a bulletin process.
    """
    summary = instance.summary or {}
    if summary.get("bulletin_id"):
        from .bulletins import project_bulletin

        project_bulletin(session, instance, summary, now, actor)
        return None
    if not summary.get("case_no") or instance.id is None:
        return None
    now = now or instance.updated_at or _dt.datetime.now(UTC)
    record = session.get(CaseRecord, instance.id)
    if record is None:
        record = CaseRecord(instance_id=instance.id, ever_overdue=False, coop_units=[])
        session.add(record)
    status = summary.get("status")
    outcome = summary.get("outcome")
    is_open = instance.status in ("running", "error", "suspended")
    lead, coop = _units(summary)

    record.case_no = str(summary.get("case_no"))
    record.process_id = instance.process_id
    record.county = summary.get("county")
    record.level = summary.get("level")
    record.category = summary.get("category")
    record.urgency = summary.get("urgency")
    record.source = summary.get("source")
    record.mode = summary.get("mode")
    record.uscc = summary.get("uscc")
    record.enterprise_name = (summary.get("enterprise_name") or "")[:200] or None
    record.status = status
    record.is_open = is_open
    record.outcome = outcome
    record.received_at = _parse_dt(summary.get("registered_at")) or instance.created_at or now
    if record.accepted_at is None and status and status not in PRE_ACCEPT:
        record.accepted_at = _parse_dt(summary.get("accepted_at")) or now
    record.closed_at = None if is_open else (instance.ended_at or record.closed_at or now)
    record.deadline = _parse_dt(summary.get("deadline"))
    record.warning = summary.get("warning")
    record.ever_overdue = bool(record.ever_overdue or summary.get("overdue") or summary.get("warning") == "red")
    record.reopen_count = int(summary.get("reopen_count") or 0)
    record.escalated = bool(summary.get("escalated"))
    record.leader_mode = summary.get("leader_mode")
    record.satisfaction = summary.get("satisfaction")
    handled = not is_open and lead is not None and outcome in HANDLED_OUTCOMES
    record.on_time = (not record.ever_overdue) if handled else None
    if not is_open and calendar is not None:
        record.workdays_to_close = calendar.workdays_between(to_china_date(record.received_at),
                                                             to_china_date(record.closed_at))
    else:
        record.workdays_to_close = None
    record.updated_at = now

    if lead != record.lead_unit or coop != list(record.coop_units or []):
        _assign_units(session, instance.id, record.county, lead, coop, now)
    record.lead_unit = lead
    record.coop_units = coop
    return record


def _assign_units(session: Session, instance_id: int, county: str | None, lead: str | None, coop: list[str],
                  now: _dt.datetime) -> None:
    """Add a ``case_unit`` row for every unit newly assigned (rows are never removed: a unit
    assigned once was coordinated once, even if the case is later re-dispatched elsewhere)."""
    existing = {row.unit: row for row in session.scalars(select(CaseUnit).where(CaseUnit.instance_id == instance_id))}
    for unit, role in [(lead, "lead"), *[(u, "coop") for u in coop]]:
        if not unit:
            continue
        row = existing.get(unit)
        if row is None:
            row = CaseUnit(instance_id=instance_id, unit=unit, role=role, county=county, assigned_at=now)
            session.add(row)
            existing[unit] = row
        elif role == "lead" and row.role != "lead":
            row.role = "lead"


# -- filters -------------------------------------------------------------------------------
@dataclass
class Period:
    start: _dt.date | None = None
    end: _dt.date | None = None  # inclusive

    def bounds(self) -> tuple[_dt.datetime | None, _dt.datetime | None]:
        lo = _dt.datetime.combine(self.start, _dt.time(), CHINA).astimezone(UTC) if self.start else None
        hi = (_dt.datetime.combine(self.end + _dt.timedelta(days=1), _dt.time(), CHINA).astimezone(UTC)
              if self.end else None)
        return lo, hi

    def args(self) -> dict[str, str]:
        out = {}
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        return out


def _between(column, period: Period):
    lo, hi = period.bounds()
    clauses = []
    if lo is not None:
        clauses.append(column >= lo)
    if hi is not None:
        clauses.append(column < hi)
    return and_(*clauses) if clauses else literal(True)


def _day_between(column, period: Period):
    clauses = []
    if period.start:
        clauses.append(column >= period.start)
    if period.end:
        clauses.append(column <= period.end)
    return and_(*clauses) if clauses else literal(True)


@dataclass
class CaseFilter:
    """The case-list filter behind a figure (URL arguments of the cases page)."""

    received: Period | None = None
    closed: Period | None = None
    county: str | None = None
    category: str | None = None
    mode: str | None = None
    lead_unit: str | None = None
    unit: str | None = None  # lead or cooperating
    outcome: str | None = None
    open: bool | None = None
    accepted: bool = False
    ever_overdue: bool = False
    overdue_now: bool = False
    handled: bool = False
    on_time: bool | None = None
    leader_mode: str | None = None
    satisfaction: str | None = None  # a label, or "good" / "answered"
    reopened: bool = False
    escalated: bool = False

    ARGS = ("received_from", "received_to", "closed_from", "closed_to", "rcounty", "rcategory", "mode", "lead_unit",
            "unit", "outcome", "state", "accepted", "ever_overdue", "overdue_now", "handled", "on_time",
            "leader_mode", "satisfaction", "reopened", "escalated")

    @classmethod
    def from_args(cls, args) -> "CaseFilter | None":
        """From URL arguments; None when none of them is present."""
        if not any(args.get(k) for k in cls.ARGS):
            return None

        def day(name):
            try:
                return _dt.date.fromisoformat(args.get(name, "")) if args.get(name) else None
            except ValueError:
                return None

        def period(prefix):
            start, end = day(prefix + "_from"), day(prefix + "_to")
            return Period(start, end) if (start or end) else None

        state = args.get("state")
        on_time = args.get("on_time")
        return cls(received=period("received"), closed=period("closed"), county=args.get("rcounty") or None,
                   category=args.get("rcategory") or None, mode=args.get("mode") or None,
                   lead_unit=args.get("lead_unit") or None, unit=args.get("unit") or None,
                   outcome=args.get("outcome") or None, open={"open": True, "closed": False}.get(state),
                   accepted=args.get("accepted") == "1", ever_overdue=args.get("ever_overdue") == "1",
                   overdue_now=args.get("overdue_now") == "1", handled=args.get("handled") == "1",
                   on_time={"1": True, "0": False}.get(on_time), leader_mode=args.get("leader_mode") or None,
                   satisfaction=args.get("satisfaction") or None, reopened=args.get("reopened") == "1",
                   escalated=args.get("escalated") == "1")

    def clauses(self, now: _dt.datetime) -> list:
        r = CaseRecord
        out = []
        if self.received:
            out.append(_between(r.received_at, self.received))
        if self.closed:
            out.append(_between(r.closed_at, self.closed))
        if self.county:
            out.append(r.county == self.county)
        if self.category:
            out.append(r.category == self.category)
        if self.mode:
            out.append(r.mode == self.mode)
        if self.lead_unit:
            out.append(r.lead_unit == self.lead_unit)
        if self.unit:
            out.append(r.instance_id.in_(select(CaseUnit.instance_id).where(CaseUnit.unit == self.unit)))
        if self.outcome:
            out.append(r.outcome == self.outcome)
        if self.open is not None:
            out.append(r.is_open == self.open)
        if self.accepted:
            out.append(r.accepted_at.is_not(None))
        if self.ever_overdue:
            out.append(r.ever_overdue == True)  # noqa: E712
        if self.overdue_now:
            out.extend([r.is_open == True, r.deadline < now])  # noqa: E712
        if self.handled:
            out.append(r.on_time.is_not(None))
        if self.on_time is not None:
            out.append(r.on_time == self.on_time)
        if self.leader_mode:
            out.append(r.leader_mode == self.leader_mode)
        if self.satisfaction == "good":
            out.append(r.satisfaction.in_(GOOD_SATISFACTION))
        elif self.satisfaction == "answered":
            out.append(r.satisfaction.in_(ANSWERED_SATISFACTION))
        elif self.satisfaction:
            out.append(r.satisfaction == self.satisfaction)
        if self.reopened:
            out.append(r.reopen_count > 0)
        if self.escalated:
            out.append(r.escalated == True)  # noqa: E712
        return out


def case_list_args(base: dict[str, str], **extra: Any) -> dict[str, str]:
    """URL arguments of the cases page for a figure: the dashboard's scope plus ``extra``."""
    out = dict(base)
    out.update({k: ("1" if v is True else str(v)) for k, v in extra.items() if v not in (None, False, "")})
    return out


# -- who sees statistics -------------------------------------------------------------------
def can_see_stats(principal) -> bool:
    if principal.is_enterprise:
        return False
    return any(g == "admin" or g.startswith(("wg:", "leader:")) for g in principal.groups)


def stats_scope(principal) -> set[str] | None:
    """None: every county; else the counties the person's statistics are limited to."""
    if principal.is_enterprise:
        return set()
    if principal.groups & {"admin", "wg:city", "leader:city"}:
        return None
    return set(principal.counties)


def scoped_county(principal, wanted: str | None) -> str | None:
    """The county the figures are for: what was asked, within the person's scope."""
    scope = stats_scope(principal)
    if scope is None:
        return wanted or None
    if wanted in scope:
        return wanted
    if not scope:
        raise PermissionError("no statistics for this person")
    return sorted(scope)[0]


# -- the dashboard -------------------------------------------------------------------------
@dataclass
class Dashboard:
    period: Period
    county: str | None
    totals: dict[str, Any]
    by_category: dict[str, int]
    by_county: dict[str, int]
    by_mode: dict[str, int]
    by_unit: dict[str, int]
    rates: dict[str, float | None]
    leader_modes: dict[str, int]
    bulletins: dict[str, dict[str, Any]]
    records: dict[str, int]
    links: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period.args(), "county": self.county, "totals": self.totals,
                "by_category": self.by_category, "by_county": self.by_county, "by_mode": self.by_mode,
                "by_unit": self.by_unit, "rates": self.rates, "leader_modes": self.leader_modes,
                "bulletins": self.bulletins, "records": self.records}


def _sum(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _received_groups(session: Session, period: Period, county: str | None, now: _dt.datetime):
    """One scan of the cases received in the period, grouped by the dashboard's dimensions."""
    r = CaseRecord
    where = [_between(r.received_at, period)]
    if county:
        where.append(r.county == county)
    stmt = select(
        r.county, r.category, r.mode, r.lead_unit,
        func.count().label("received"),
        _sum(r.accepted_at.is_not(None)).label("accepted"),
        _sum(r.outcome == "rejected").label("rejected"),
        _sum(r.outcome == "withdrawn").label("withdrawn"),
        _sum(r.is_open == True).label("open"),  # noqa: E712
        _sum(r.ever_overdue == True).label("overdue"),  # noqa: E712
        _sum(and_(r.is_open == True, r.deadline < now)).label("overdue_now"),  # noqa: E712
        _sum(r.escalated == True).label("escalated"),  # noqa: E712
        *[_sum(r.leader_mode == m).label(f"lm{i}") for i, m in enumerate(LEADER_MODES)],
    ).where(*where).group_by(r.county, r.category, r.mode, r.lead_unit)
    return session.execute(stmt).all()


def _closed_groups(session: Session, period: Period, county: str | None):
    """One scan of the cases closed in the period, grouped by lead unit."""
    r = CaseRecord
    where = [_between(r.closed_at, period), r.closed_at.is_not(None)]
    if county:
        where.append(r.county == county)
    stmt = select(
        r.lead_unit,
        func.count().label("closed"),
        _sum(r.outcome == "solved").label("solved"),
        _sum(r.on_time.is_not(None)).label("handled"),
        _sum(r.on_time == True).label("on_time"),  # noqa: E712
        _sum(and_(r.on_time.is_not(None), r.reopen_count > 0)).label("reopened"),
        _sum(r.satisfaction.in_(GOOD_SATISFACTION)).label("sat_good"),
        _sum(r.satisfaction.in_(ANSWERED_SATISFACTION)).label("sat_answered"),
        func.coalesce(func.sum(case((r.outcome == "solved", r.workdays_to_close), else_=0)), 0).label("wd_sum"),
    ).where(*where).group_by(r.lead_unit)
    return session.execute(stmt).all()


def distinct_enterprises(session: Session, period: Period, county: str | None) -> int:
    r = CaseRecord
    where = [_between(r.received_at, period), r.uscc.is_not(None)]
    if county:
        where.append(r.county == county)
    return session.scalar(select(func.count(func.distinct(r.uscc))).where(*where)) or 0


def coordinations(session: Session, period: Period, county: str | None) -> dict[str, int]:
    """Unit assignments made in the period, per unit."""
    u = CaseUnit
    stmt = select(u.unit, func.count()).where(_between(u.assigned_at, period))
    if county:
        stmt = stmt.where(u.county == county)
    return {unit: n for unit, n in session.execute(stmt.group_by(u.unit))}


def bulletin_counts(session: Session, period: Period, county: str | None) -> dict[str, dict[str, Any]]:
    b = Bulletin
    series = dict(BULLETIN_SERIES)
    series.update({code: name for code, name in session.execute(select(BulletinSeries.code, BulletinSeries.name))})
    stmt = select(b.series, func.count()).where(b.status == "issued", _between(b.issued_at, period))
    if county:
        stmt = stmt.where(b.county == county)
    counts = dict(session.execute(stmt.group_by(b.series)).all())
    return {code: {"name": name, "issued": counts.get(code, 0)} for code, name in series.items()}


def record_counts(session: Session, period: Period, county: str | None) -> dict[str, int]:
    w = WorkRecord
    stmt = select(w.kind, func.count()).where(_day_between(w.occurred_on, period))
    if county:
        stmt = stmt.where(w.county == county)
    counts = dict(session.execute(stmt.group_by(w.kind)).all())
    out = {kind: counts.get(kind, 0) for kind in RECORD_KINDS}
    out["weekly_report"] = weekly_reports(session, period)
    return out


def weekly_reports(session: Session, period: Period) -> int:
    """“1+7” weekly reports published in the period (completions of the publish task)."""
    a = AuditEntry
    return session.scalar(select(func.count()).select_from(a).join(Instance, Instance.id == a.instance_id).where(
        a.action == "complete", a.task_bpmn_id == WEEKLY_PUBLISH_TASK, Instance.process_id == WEEKLY_PROCESS,
        _between(a.at, period))) or 0


def dashboard(session: Session, period: Period, county: str | None = None,
              now: _dt.datetime | None = None) -> Dashboard:
    """Every figure of the dashboard for the period and county (None: all counties).

    The caller has already limited ``county`` to what the person may see (``scoped_county``).
    """
    now = now or _dt.datetime.now(UTC)
    received_rows = _received_groups(session, period, county, now)
    closed_rows = _closed_groups(session, period, county)
    totals = {k: 0 for k in ("received", "accepted", "rejected", "withdrawn", "open", "overdue", "overdue_now",
                             "escalated")}
    by_category: dict[str, int] = {}
    by_county: dict[str, int] = {}
    by_mode: dict[str, int] = {}
    by_unit: dict[str, int] = {}
    leader_modes = {m: 0 for m in LEADER_MODES}
    for row in received_rows:
        for key in totals:
            totals[key] += getattr(row, key)
        if row.category:
            by_category[row.category] = by_category.get(row.category, 0) + row.received
        if row.county:
            by_county[row.county] = by_county.get(row.county, 0) + row.received
        if row.mode:
            by_mode[row.mode] = by_mode.get(row.mode, 0) + row.received
        if row.lead_unit:
            by_unit[row.lead_unit] = by_unit.get(row.lead_unit, 0) + row.received
        for i, mode in enumerate(LEADER_MODES):
            leader_modes[mode] += getattr(row, f"lm{i}")
    closed = {k: 0 for k in ("closed", "solved", "handled", "on_time", "reopened", "sat_good", "sat_answered",
                             "wd_sum")}
    for row in closed_rows:
        for key in closed:
            closed[key] += getattr(row, key)
    coord = coordinations(session, period, county)
    totals.update(solved=closed["solved"], closed=closed["closed"], handled=closed["handled"],
                  on_time=closed["on_time"], enterprises=distinct_enterprises(session, period, county),
                  coordinations=sum(coord.values()))
    rates = {
        "on_time": _ratio(closed["on_time"], closed["handled"]),
        "satisfaction": _ratio(closed["sat_good"], closed["sat_answered"]),
        "reopen": _ratio(closed["reopened"], closed["handled"]),
        "workdays_to_close": round(closed["wd_sum"] / closed["solved"], 1) if closed["solved"] else None,
    }
    board = Dashboard(period, county, totals, dict(sorted(by_category.items(), key=lambda kv: -kv[1])), by_county,
                      by_mode, dict(sorted(by_unit.items(), key=lambda kv: -kv[1])), rates, leader_modes,
                      bulletin_counts(session, period, county), record_counts(session, period, county))
    board.links = figure_links(period, county)
    return board


def figure_links(period: Period, county: str | None) -> dict[str, dict[str, str]]:
    """The cases-page arguments of every case figure (what a click on the figure lists)."""
    recv = {"received_from": period.start.isoformat() if period.start else "",
            "received_to": period.end.isoformat() if period.end else "", "rcounty": county or ""}
    recv = {k: v for k, v in recv.items() if v}
    clos = {"closed_from": period.start.isoformat() if period.start else "",
            "closed_to": period.end.isoformat() if period.end else "", "rcounty": county or ""}
    clos = {k: v for k, v in clos.items() if v}
    if not clos:
        clos = {"state": "closed"}
    links = {
        "received": case_list_args(recv) or {"state": ""},
        "accepted": case_list_args(recv, accepted=True),
        "rejected": case_list_args(recv, outcome="rejected"),
        "withdrawn": case_list_args(recv, outcome="withdrawn"),
        "open": case_list_args(recv, state="open"),
        "overdue": case_list_args(recv, ever_overdue=True),
        "overdue_now": case_list_args(recv, overdue_now=True),
        "escalated": case_list_args(recv, escalated=True),
        "solved": case_list_args(clos, outcome="solved"),
        "closed": case_list_args(clos),
        "handled": case_list_args(clos, handled=True),
        "on_time": case_list_args(clos, on_time="1"),
        "satisfaction": case_list_args(clos, satisfaction="good"),
        "reopen": case_list_args(clos, handled=True, reopened=True),
        "workdays_to_close": case_list_args(clos, outcome="solved"),
        "enterprises": case_list_args(recv),
    }
    if not recv:
        links["received"] = {"state": "all"}
    for mode in LEADER_MODES:
        links[f"leader:{mode}"] = case_list_args(recv, leader_mode=mode)
    links["_received"] = recv
    links["_closed"] = clos
    return links


# -- the unit assessment (考核) -------------------------------------------------------------
@dataclass
class UnitScore:
    unit: str
    received: int = 0  # cases led, received in the period
    overdue: int = 0  # of those, turned red at least once
    closed: int = 0  # handled cases led, closed in the period
    on_time: int = 0
    sat_good: int = 0
    sat_answered: int = 0
    coordinations: int = 0  # assignments (lead or cooperating) in the period
    rank: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.on_time, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.sat_good, self.sat_answered)

    def as_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "unit": self.unit, "received": self.received, "closed": self.closed,
                "on_time": self.on_time, "on_time_rate": self.on_time_rate, "sat_good": self.sat_good,
                "sat_answered": self.sat_answered, "satisfaction_rate": self.satisfaction_rate,
                "overdue": self.overdue, "coordinations": self.coordinations}


def assessment(session: Session, period: Period, county: str | None = None,
               now: _dt.datetime | None = None) -> list[UnitScore]:
    """Units ranked by on-time rate (high first), then satisfaction rate (high first), then
    overdue count (low first); units with nothing closed in the period come last."""
    now = now or _dt.datetime.now(UTC)
    scores: dict[str, UnitScore] = {}

    def score(unit):
        return scores.setdefault(unit, UnitScore(unit))

    for row in _received_groups(session, period, county, now):
        if row.lead_unit:
            s = score(row.lead_unit)
            s.received += row.received
            s.overdue += row.overdue
    for row in _closed_groups(session, period, county):
        if row.lead_unit:
            s = score(row.lead_unit)
            s.closed += row.handled
            s.on_time += row.on_time
            s.sat_good += row.sat_good
            s.sat_answered += row.sat_answered
    for unit, n in coordinations(session, period, county).items():
        score(unit).coordinations += n

    def key(s: UnitScore):
        return (s.on_time_rate is None, -(s.on_time_rate or 0), -(s.satisfaction_rate or 0), s.overdue, s.unit)

    ranked = sorted(scores.values(), key=key)
    for i, s in enumerate(ranked, start=1):
        s.rank = i
    return ranked


def parse_period(start: str | None, end: str | None) -> Period:
    def day(value):
        try:
            return _dt.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    return Period(day(start), day(end))


def export_rows(session: Session, instances: list[Instance], names) -> list[dict[str, Any]]:
    """Rows of the case-list workbook for the given cases (in their order)."""
    ids = [i.id for i in instances]
    records = {r.instance_id: r for r in session.scalars(select(CaseRecord).where(CaseRecord.instance_id.in_(ids or [-1])))}

    def when(value):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value else None

    rows = []
    for inst in instances:
        s = inst.summary or {}
        r = records.get(inst.id)
        rows.append({
            "case_no": s.get("case_no") or inst.business_key, "enterprise": s.get("enterprise_name"),
            "uscc": s.get("uscc"), "title": s.get("title"), "category": s.get("category"),
            "county": names.county_name(s.get("county")), "level": {"city": "市级", "county": "县级"}.get(s.get("level")),
            "urgency": s.get("urgency"), "mode": s.get("mode"), "lead_unit": names.unit_name(s.get("lead_unit")),
            "coop_units": "、".join(names.unit_name(u) for u in (s.get("coop_units") or [])),
            "status": s.get("status"), "outcome": s.get("outcome"),
            "received_at": when(r.received_at) if r else when(inst.created_at),
            "closed_at": when(r.closed_at) if r else when(inst.ended_at),
            "deadline": when(r.deadline) if r else s.get("deadline"),
            "ever_overdue": ("是" if r.ever_overdue else "否") if r else None,
            "leader_mode": s.get("leader_mode"), "satisfaction": s.get("satisfaction"),
            "reopen_count": s.get("reopen_count"), "workdays_to_close": r.workdays_to_close if r else None,
        })
    return rows
