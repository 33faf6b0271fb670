"""(e) inbox and dashboard latency with many generated cases in PostgreSQL.

Cases are generated with INSERT … SELECT generate_series (not through the engine), in a
PostgreSQL schema of their own: ``instance`` rows with a realistic ``summary`` (the case's
queryable face, as the case process writes it), ``human_task`` rows (the history of
completed tasks, and the ready task of every open case), ``human_task_group`` rows for
the ready ones, and the statistics projection of every case — ``case_record`` and
``case_unit`` rows (as ``stats.project`` writes them on every saved step; same county, lead
unit, registration time and open/closed state as the instance) — from which
``stats.rebuild_rollups`` then builds the rollup tables. ``instance.state`` holds a short
placeholder: no measured query reads it (a real state is ~20 KB, stored out of line by TOAST).
The tables are VACUUMed after loading (the steady state autovacuum keeps: a visibility map,
so index-only scans stay index-only).

Measured: the inbox (``engine.inbox.inbox``, as /api/v1/tasks and the office page call it)
for people of several roles, and the statistics as /api/v1/statistics and /stats compute
them: ``stats.dashboard`` (all time and one year for the city working group, one
county-year for a county working group, the county chosen by ``stats.scoped_county``) and
``stats.assessment`` (the unit ranking).
"""

from __future__ import annotations

import datetime as _dt
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine as SaEngine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine import stats
from engine.access import Principal
from engine.inbox import InboxFilter, inbox
from engine.workdays import WorkCalendar

from .inprocess import Rig

DASHBOARD_TIMEOUT_S = 20  # a query still running after this is stopped and reported as "> 20 s"
COUNTIES = ["city", "shuangta", "longcheng", "beipiao", "lingyuan", "chaoyangxian", "jianping", "kazuo"]
CITY_UNITS = ["zrzyj", "sthjj", "zjj", "fgw", "yshj", "jrfzj", "gdgs", "gaj", "gxj", "rsj"]
STAGES = [  # (task name, bpmn id, group prefix, summary status, stage, form) of an open case
    ("受理审查", "Task_intake", "wg", "待受理", "受理", "intake-review.schema.json"),
    ("分级交办", "Task_dispatch", "wg", "待交办", "交办", "dispatch.schema.json"),
    ("拟办办理结果", "Task_draft", "unit", "办理中", "办理", "unit-draft.schema.json"),
    ("负责人审核", "Task_head_review", "head", "待审核", "办理", "unit-head-review.schema.json"),
    ("结果审核", "Task_result_review", "wg", "待审核", "审核", "result-review.schema.json"),
    ("回访评价", "Task_return_visit", "wg", "待回访", "回访", "return-visit.schema.json"),
]


def _categories() -> list[str]:
    from engine.config import Settings

    schema = json.loads((Settings().forms_dir / "case-submit.schema.json").read_text(encoding="utf-8"))
    return schema["properties"]["category"]["enum"]


def generate(
    conn: Connection, n_cases: int, version_id: int, open_share: float = 0.15, now: _dt.datetime | None = None
) -> dict[str, Any]:
    """Fill the schema's tables (already created, empty) with ``n_cases`` cases."""
    now = now or _dt.datetime.now(_dt.UTC)
    params = {
        "n": n_cases,
        "pv": version_id,
        "open_every": max(1, round(1 / open_share)),
        "now": now,
        "counties": COUNTIES,
        "units": CITY_UNITS,
        "cats": _categories(),
        "tnames": [s[0] for s in STAGES],
        "tids": [s[1] for s in STAGES],
        "tgroups": [s[2] for s in STAGES],
        "tstatus": [s[3] for s in STAGES],
        "tstage": [s[4] for s in STAGES],
        "tforms": [s[5] for s in STAGES],
    }
    t0 = time.perf_counter()
    # bulk load without the secondary indexes, then build them (much faster than row by row)
    indexes = conn.execute(
        text("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename IN ('instance', 'human_task', 'human_task_group')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
    """)
    ).all()
    for name, _definition in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    # an open case: every open_every-th; its stage (0..5) from its number; newer cases more often open
    conn.execute(
        text("""
        INSERT INTO instance (id, process_version_id, process_id, business_key, status, state, serializer_version,
                              lock_version, next_timer_at, summary, started_by, created_at, updated_at, ended_at)
        SELECT g, :pv, 'ztc_case', 'ZTC-' || (2024 + g * 3 / (:n + 1)) || '-' || lpad(g::text, 7, '0'),
               CASE WHEN g % :open_every = 0 THEN 'running' ELSE 'completed' END,
               '{"tasks":{}}', '1.5', 7,
               CASE WHEN g % :open_every = 0 THEN CAST(CAST(:now AS timestamptz) AS timestamptz) + ((g % 20) || ' days')::interval END,
               jsonb_build_object(
                 'case_no', 'ZTC-' || (2024 + g * 3 / (:n + 1)) || '-' || lpad(g::text, 7, '0'),
                 'title', '项目用地批复迟迟未下达（' || g || '）',
                 'enterprise_name', '朝阳某企业有限公司' || (g % 50000),
                 'uscc', '91211300MA' || lpad((g % 50000)::text, 7, '0') || 'X',
                 'county', (CAST(:counties AS text[]))[1 + (g % 8)],
                 'level', CASE WHEN g % 8 = 0 THEN 'city' ELSE 'county' END,
                 'category', (CAST(:cats AS text[]))[1 + (g / 7) % array_length(CAST(:cats AS text[]), 1)],
                 'urgency', (ARRAY['一般','紧急','特急'])[1 + g % 3],
                 'status', CASE WHEN g % :open_every = 0 THEN (CAST(:tstatus AS text[]))[1 + (g / :open_every) % 6] ELSE '已办结' END,
                 'stage', CASE WHEN g % :open_every = 0 THEN (CAST(:tstage AS text[]))[1 + (g / :open_every) % 6] ELSE '已结束' END,
                 'mode', (ARRAY['马上办','快速办','限期办'])[1 + g % 3],
                 'lead_unit', CASE WHEN g % 8 = 0 THEN (CAST(:units AS text[]))[1 + (g / 8) % 10]
                                   ELSE (CAST(:counties AS text[]))[1 + (g % 8)] || '.' || (CAST(:units AS text[]))[1 + (g / 8) % 10] END,
                 'coop_units', CASE WHEN g % 5 = 0 THEN jsonb_build_array((CAST(:units AS text[]))[1 + (g / 3) % 10]) ELSE '[]'::jsonb END,
                 'deadline', to_char((CAST(CAST(:now AS timestamptz) AS timestamptz) - ((1000 - g * 1000 / :n) || ' days')::interval + interval '10 days')
                                     AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"17:30:00+08:00'),
                 'deadline_days', 3 + g % 10,
                 'warning', CASE WHEN g % 97 = 0 THEN 'red' WHEN g % 31 = 0 THEN 'yellow' END,
                 'overdue', g % 97 = 0,
                 'escalated', g % 41 = 0,
                 'reopen_count', g % 23 / 22,
                 'satisfaction', CASE WHEN g % :open_every <> 0 THEN (ARRAY['满意','基本满意','不满意'])[1 + (g % 17) / 15] END,
                 'outcome', CASE WHEN g % :open_every <> 0 THEN 'solved' END,
                 'registered_at', to_char(CAST(CAST(:now AS timestamptz) AS timestamptz) - ((1000 - g * 1000 / :n) || ' days')::interval, 'YYYY-MM-DD"T"HH24:MI:SS+00:00')),
               'enterprise:91211300MA' || lpad((g % 50000)::text, 7, '0') || 'X',
               CAST(CAST(:now AS timestamptz) AS timestamptz) - ((1000 - g * 1000 / :n) || ' days')::interval,
               CAST(CAST(:now AS timestamptz) AS timestamptz) - ((1000 - g * 1000 / :n) || ' days')::interval + interval '3 days',
               CASE WHEN g % :open_every = 0 THEN NULL ELSE CAST(CAST(:now AS timestamptz) AS timestamptz) - ((1000 - g * 1000 / :n) || ' days')::interval + interval '9 days' END
        FROM generate_series(1, :n) AS g
    """),
        params,
    )
    t1 = time.perf_counter()
    # history: the completed tasks of every case (six for a closed case, those before its stage for an open one)
    conn.execute(
        text("""
        INSERT INTO human_task (instance_id, task_guid, bpmn_id, name, process_id, lane, candidate_groups, form,
                                ui_form, state, due_at, created_at, completed_at, completed_by)
        SELECT i.id, md5(i.id::text || '-' || s)::uuid::text, (CAST(:tids AS text[]))[s + 1], (CAST(:tnames AS text[]))[s + 1], 'ztc_case', NULL,
               jsonb_build_array((CAST(:tgroups AS text[]))[s + 1] || ':' || (i.summary->>(CASE WHEN (CAST(:tgroups AS text[]))[s + 1] = 'wg' THEN 'county' ELSE 'lead_unit' END))),
               (CAST(:tforms AS text[]))[s + 1], NULL,
               CASE WHEN i.status = 'running' AND s = (i.id / :open_every) % 6 THEN 'ready' ELSE 'completed' END,
               i.created_at + ((s + 1) || ' days')::interval, i.created_at + (s || ' days')::interval,
               CASE WHEN i.status = 'running' AND s = (i.id / :open_every) % 6 THEN NULL
                    ELSE i.created_at + ((s + 1) || ' days')::interval END,
               CASE WHEN i.status = 'running' AND s = (i.id / :open_every) % 6 THEN NULL ELSE 'someone' END
        FROM instance i
        CROSS JOIN LATERAL generate_series(0, CASE WHEN i.status = 'running' THEN (i.id / :open_every) % 6 ELSE 5 END) AS s
    """),
        params,
    )
    t2 = time.perf_counter()
    conn.execute(
        text("""
        INSERT INTO human_task_group (task_id, "group")
        SELECT id, candidate_groups->>0 FROM human_task WHERE state = 'ready'
    """)
    )
    t3 = time.perf_counter()
    _case_records(conn, params)
    t4 = time.perf_counter()
    for _name, definition in indexes:
        conn.execute(text(definition))
    conn.execute(text("SELECT setval(pg_get_serial_sequence('instance', 'id'), :n)"), params)
    t5 = time.perf_counter()
    counts = {
        t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
        for t in ("instance", "human_task", "human_task_group", "case_record", "case_unit")
    }
    counts["ready"] = conn.execute(text("SELECT count(*) FROM human_task WHERE state = 'ready'")).scalar()
    return {
        "counts": counts,
        "seconds": {
            "instance": t1 - t0,
            "human_task": t2 - t1,
            "groups": t3 - t2,
            "case_record+case_unit": t4 - t3,
            "indexes": t5 - t4,
        },
    }


def _case_records(conn: Connection, params: dict[str, Any]) -> None:
    """The statistics projection of every generated case (case_record and case_unit as
    ``stats.project`` would write them), keyed to the instance rows: same county, lead unit,
    registration time and open state."""
    # h: a pseudo-random number per case; outcome, satisfaction, closing delay, flags from it
    conn.execute(
        text("""
        INSERT INTO case_record (instance_id, case_no, process_id, county, level, category, urgency, source, mode,
            lead_unit, coop_units, uscc, enterprise_name, status, is_open, outcome, received_at, accepted_at,
            closed_at, deadline, warning, ever_overdue, reopen_count, escalated, leader_mode, satisfaction, on_time,
            workdays_to_close, updated_at)
        SELECT i.id, i.business_key, 'ztc_case', i.summary->>'county', i.summary->>'level', i.summary->>'category',
               i.summary->>'urgency', 'online', i.summary->>'mode', i.summary->>'lead_unit', i.summary->'coop_units',
               i.summary->>'uscc', i.summary->>'enterprise_name', i.summary->>'status', o.open, o.outcome,
               i.created_at,
               CASE WHEN o.outcome IN ('rejected', 'withdrawn') THEN NULL ELSE i.created_at + interval '1 day' END,
               CASE WHEN o.open THEN NULL ELSE i.created_at + ((3 + h % 15) || ' days')::interval END,
               i.created_at + interval '10 days', i.summary->>'warning', h % 13 = 0, CASE WHEN h % 23 = 0 THEN 1 ELSE 0 END,
               h % 41 = 0, CASE WHEN h % 41 = 0 THEN (ARRAY['签批督办','专题会议','现场办公'])[1 + h % 3] END,
               CASE WHEN NOT o.open AND o.outcome NOT IN ('rejected', 'withdrawn')
                    THEN (ARRAY['满意','基本满意','不满意'])[1 + (h % 17) / 15] END,
               CASE WHEN NOT o.open AND o.outcome IN ('solved', 'explained', 'no_answer') THEN h % 13 <> 0 END,
               CASE WHEN o.open THEN NULL ELSE (3 + h % 15) * 5 / 7 END, CAST(:now AS timestamptz)
        FROM instance i
        CROSS JOIN LATERAL (SELECT abs(hashint4(i.id::int)) AS h) x
        CROSS JOIN LATERAL (SELECT i.status = 'running' AS open,
                                   CASE WHEN i.status = 'running' THEN NULL WHEN h % 20 = 0 THEN 'rejected'
                                        WHEN h % 20 = 1 THEN 'withdrawn' WHEN h % 20 = 2 THEN 'explained'
                                        WHEN h % 20 = 3 THEN 'no_answer' ELSE 'solved' END AS outcome) o
    """),
        params,
    )
    conn.execute(
        text("""
        INSERT INTO case_unit (instance_id, unit, role, county, assigned_at)
        SELECT instance_id, lead_unit, 'lead', county, received_at + interval '1 day' FROM case_record
        UNION ALL
        SELECT r.instance_id, c.unit, 'coop', r.county, r.received_at + interval '1 day'
        FROM case_record r CROSS JOIN LATERAL jsonb_array_elements_text(r.coop_units) AS c(unit)
        WHERE c.unit <> r.lead_unit
    """)
    )


def vacuum(db: SaEngine) -> float:
    """VACUUM ANALYZE the loaded tables (outside a transaction); seconds taken."""
    t0 = time.perf_counter()
    with db.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("instance", "human_task", "human_task_group", "case_record", "case_unit"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return time.perf_counter() - t0


def build_rollups(rig: Rig) -> dict:
    """``stats.rebuild_rollups`` over the generated cases, then ANALYZE of the rollup tables."""
    t0 = time.perf_counter()
    with rig.Session.begin() as s:
        rows = stats.rebuild_rollups(s)
    with rig.db.begin() as conn:
        conn.execute(text("ANALYZE " + ", ".join(m.__tablename__ for m in stats.ROLLUP_TABLES)))
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def principals() -> dict[str, Principal]:
    return {
        "city working group (wg:city)": Principal("bench.wg.city", groups=frozenset({"wg:city"})),
        "county working group (wg:beipiao)": Principal("bench.wg.beipiao", groups=frozenset({"wg:beipiao"})),
        "unit handler (unit:zrzyj)": Principal("bench.unit", groups=frozenset({"unit:zrzyj"})),
        "county unit head (head:kazuo.fgw)": Principal("bench.head", groups=frozenset({"head:kazuo.fgw"})),
    }


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def statistics_queries(now: _dt.datetime) -> list[tuple[str, str, Principal, stats.Period]]:
    """(label, "dashboard" | "assessment", person, period): what /stats and /api/v1/statistics compute."""
    p = principals()
    city, county = p["city working group (wg:city)"], p["county working group (wg:beipiao)"]
    year = now.year - 1
    last_year = stats.Period(_dt.date(year, 1, 1), _dt.date(year, 12, 31))
    return [
        ("dashboard, city WG, all time", "dashboard", city, stats.Period()),
        (f"dashboard, city WG, one year ({year})", "dashboard", city, last_year),
        (f"dashboard, county WG (wg:beipiao), one county-year ({year})", "dashboard", county, last_year),
        (f"assessment, city WG, one year ({year})", "assessment", city, last_year),
        (f"assessment, county WG (wg:beipiao), one county-year ({year})", "assessment", county, last_year),
    ]


def _timed(rig: Rig, fn: Callable[[Session], Any], runs: int) -> tuple[list[float], Any, bool]:
    """``fn(session)`` ``runs`` times after one warm-up, each in a session of its own under a statement
    timeout; (seconds per run, last result, timed out)."""
    times: list[float] = []
    result = None
    for i in range(runs + 1):
        with rig.Session() as s:
            s.execute(text(f"SET LOCAL statement_timeout = {int(DASHBOARD_TIMEOUT_S * 1000)}"))
            t0 = time.perf_counter()
            try:
                result = fn(s)
                dt = time.perf_counter() - t0
            except OperationalError:  # statement_timeout: a plan that does not finish
                return times + [float("inf")], result, True
        if i:
            times.append(dt)
    return times, result, False


def measure(rig: Rig, repeats: int, calendar: WorkCalendar | None = None) -> dict[str, Any]:
    """Latency of the inbox (per person, first page of 50 with its four tab counts), of the dashboard
    and of the assessment, ``repeats`` times each after one warm-up; medians and p95 in ms."""
    now = _dt.datetime.now(_dt.UTC)
    calendar = calendar or rig.engine.calendar
    out: dict = {"inbox": {}, "dashboard": {}, "assessment": {}}
    all_inbox: list[float] = []
    all_dash: list[float] = []
    all_assess: list[float] = []
    for label, principal in principals().items():

        def first_page(s: Session, p: Principal = principal) -> Any:
            return inbox(s, p, InboxFilter(limit=50), calendar=calendar, now=now)

        times, page, _ = _timed(rig, first_page, repeats)
        all_inbox += times
        out["inbox"][label] = {
            "ready_tasks": page.counts.get("all", 0),
            "median_ms": 1000 * statistics.median(times),
            "p95_ms": 1000 * _pct(times, 0.95),
        }
    for label, what, principal, period in statistics_queries(now):
        county = stats.scoped_county(principal, None)

        def call(s: Session, what: str = what, period: stats.Period = period, county: str | None = county) -> Any:
            return getattr(stats, what)(s, period, county, now=now)

        times, result, timed_out = _timed(rig, call, repeats)
        (all_dash if what == "dashboard" else all_assess).extend(times)
        figure = (result.totals["received"] if what == "dashboard" else len(result)) if result is not None else 0
        out[what][label] = {
            "cases" if what == "dashboard" else "units": figure,
            "county": county,
            "median_ms": 1000 * statistics.median(times),
            "p95_ms": 1000 * _pct(times, 0.95),
            "timed_out": timed_out,
        }
    out["inbox_p95_ms"] = 1000 * _pct(all_inbox, 0.95)
    out["dashboard_p95_ms"] = 1000 * _pct(all_dash, 0.95)
    out["assessment_p95_ms"] = 1000 * _pct(all_assess, 0.95)
    return out


def explain(rig: Rig, principal: Principal) -> str:
    """EXPLAIN ANALYZE of the inbox's two statements, tab counts then page (for docs/PERFORMANCE.md)."""
    from engine.inbox import queries

    out = []
    with rig.Session() as s:
        for stmt in queries(principal, InboxFilter(limit=50), _dt.datetime.now(_dt.UTC)):
            compiled = stmt.compile(dialect=s.get_bind().dialect, compile_kwargs={"literal_binds": True})
            out += [r[0] for r in s.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled)))] + [""]
    return "\n".join(out).rstrip()
