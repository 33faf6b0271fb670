"""Dashboard and assessment latency with many generated cases in PostgreSQL, before (the
queries over case_record of the last commit) and after (the rollups of engine/stats.py).

    .venv/bin/python scripts/measure_stats.py [--cases 1000000] [--repeats 30] [--keep]

Generates case_record / case_unit rows (and their instance rows) with INSERT … SELECT
generate_series in a throwaway schema (``stats_bench_<n>``, dropped unless --keep; reused
when kept), builds the rollups with ``stats.rebuild_rollups``, checks that both versions show
the same figures, and prints p50/p95 per query. Prints; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import stats  # noqa: E402
from engine.bench import pg  # noqa: E402
from engine.bench.bigdata import CITY_UNITS, COUNTIES, _categories  # noqa: E402
from engine.db import make_sessionmaker  # noqa: E402
from engine.models import Base  # noqa: E402

NOW = _dt.datetime(2026, 3, 2, 1, 0, tzinfo=_dt.timezone.utc)


def old_stats():
    """engine/stats.py as committed (HEAD): the queries that scan case_record."""
    source = subprocess.run(["git", "show", "HEAD:engine/stats.py"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    spec = importlib.util.spec_from_loader("engine._stats_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "engine"
    sys.modules[spec.name] = module
    exec(compile(source, "engine/stats.py@HEAD", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


def generate(conn, n: int) -> dict:
    params = {"n": n, "now": NOW, "counties": COUNTIES, "units": CITY_UNITS, "cats": _categories()}
    t0 = time.perf_counter()
    conn.execute(text("INSERT INTO deployment (id, deployed_at, deployed_by, source, summary) "
                      "VALUES (1, now(), 'bench', '', '{}')"))
    conn.execute(text("INSERT INTO process_version (id, process_id, version, name, flavor, content_hash, main_file, "
                      "files, deployment_id, created_at) VALUES (1, 'ztc_case', 1, '', 'spiff', 'x', 'x', '{}', 1, now())"))
    conn.execute(text("""
        INSERT INTO instance (id, process_version_id, process_id, business_key, status, state, serializer_version,
                              lock_version, summary, started_by, created_at, updated_at)
        SELECT g, 1, 'ztc_case', 'ZTC-' || g, CASE WHEN g % 7 = 0 THEN 'running' ELSE 'completed' END, '', '1', 1,
               '{}', 'bench', CAST(:now AS timestamptz), CAST(:now AS timestamptz)
        FROM generate_series(1, :n) g"""), params)
    # h: a pseudo-random number per case; 1000 days of cases, about 14 % still open
    conn.execute(text("""
        INSERT INTO case_record (instance_id, case_no, process_id, county, level, category, urgency, source, mode,
            lead_unit, coop_units, uscc, enterprise_name, status, is_open, outcome, received_at, accepted_at,
            closed_at, deadline, warning, ever_overdue, reopen_count, escalated, leader_mode, satisfaction, on_time,
            workdays_to_close, updated_at)
        SELECT g, 'ZTC-' || g, 'ztc_case', c.county, CASE WHEN c.county = 'city' THEN 'city' ELSE 'county' END,
               (CAST(:cats AS text[]))[1 + h % array_length(CAST(:cats AS text[]), 1)], '一般', 'online',
               (ARRAY['马上办','快速办','限期办'])[1 + (h / 7) % 3], c.lead,
               CASE WHEN g % 3 = 0 THEN '["gdgs"]'::jsonb ELSE '[]'::jsonb END,
               '91211300MA' || lpad((abs(hashint4(g + 1000003)) % 50000)::text, 7, '0') || 'X', '某企业',
               CASE WHEN o.open THEN '办理中' ELSE '已办结' END, o.open, o.outcome, t.received,
               CASE WHEN o.outcome IN ('rejected', 'withdrawn') THEN NULL ELSE t.received + interval '1 day' END,
               CASE WHEN o.open THEN NULL ELSE t.received + ((3 + h % 15) || ' days')::interval END,
               t.received + interval '10 days', NULL, h % 13 = 0, CASE WHEN h % 23 = 0 THEN 1 ELSE 0 END,
               h % 41 = 0, CASE WHEN h % 41 = 0 THEN (ARRAY['签批督办','专题会议','现场办公'])[1 + h % 3] END,
               CASE WHEN NOT o.open AND o.outcome NOT IN ('rejected', 'withdrawn')
                    THEN (ARRAY['满意','基本满意','不满意'])[1 + (h % 17) / 15] END,
               CASE WHEN NOT o.open AND o.outcome IN ('solved', 'explained', 'no_answer') THEN h % 13 <> 0 END,
               CASE WHEN o.open THEN NULL ELSE (3 + h % 15) * 5 / 7 END, CAST(:now AS timestamptz)
        FROM generate_series(1, :n) g
        CROSS JOIN LATERAL (SELECT abs(hashint4(g)) AS h) x
        CROSS JOIN LATERAL (SELECT (CAST(:counties AS text[]))[1 + g % 8] AS county) c0
        CROSS JOIN LATERAL (SELECT c0.county,
                                   CASE WHEN c0.county = 'city' THEN (CAST(:units AS text[]))[1 + (h / 13) % 10]
                                        ELSE c0.county || '.' || (CAST(:units AS text[]))[1 + (h / 13) % 10] END AS lead) c
        CROSS JOIN LATERAL (SELECT g % 7 = 0 AS open,
                                   CASE WHEN g % 7 = 0 THEN NULL WHEN h % 20 = 0 THEN 'rejected'
                                        WHEN h % 20 = 1 THEN 'withdrawn' WHEN h % 20 = 2 THEN 'explained'
                                        WHEN h % 20 = 3 THEN 'no_answer' ELSE 'solved' END AS outcome) o
        CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz) - ((1000.0 - g * 1000.0 / :n) || ' days')::interval
                                   AS received) t"""), params)
    t1 = time.perf_counter()
    conn.execute(text("""
        INSERT INTO case_unit (instance_id, unit, role, county, assigned_at)
        SELECT instance_id, lead_unit, 'lead', county, received_at + interval '1 day' FROM case_record
        UNION ALL
        SELECT instance_id, 'gdgs', 'coop', county, received_at + interval '1 day' FROM case_record
        WHERE instance_id % 3 = 0 AND lead_unit <> 'gdgs'"""))
    conn.execute(text("ANALYZE instance; ANALYZE case_record; ANALYZE case_unit"))
    t2 = time.perf_counter()
    return {"case_record+instance": t1 - t0, "case_unit": t2 - t1}


def timed(fn, repeats: int) -> tuple[float, float, object]:
    fn()  # warm-up
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1000 * statistics.median(times), 1000 * times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--before-repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    name = f"stats_bench_{args.cases}"
    reuse = args.keep and pg.schema_exists(name)
    with pg.schema(name, keep=args.keep, fresh=not reuse) as (db, _env):
        Session = make_sessionmaker(db)
        if not reuse:
            Base.metadata.create_all(db)
            with db.begin() as conn:
                print("generated", generate(conn, args.cases), flush=True)
            t0 = time.perf_counter()
            with Session.begin() as s:
                counts = stats.rebuild_rollups(s)
            with db.begin() as conn:
                conn.execute(text("ANALYZE " + ", ".join(m.__tablename__ for m in stats.ROLLUP_TABLES)))
            print(f"rebuild_rollups: {time.perf_counter() - t0:.1f} s, rows {counts}", flush=True)
        with db.connect() as conn:
            print("case_record rows", conn.execute(text("SELECT count(*) FROM case_record")).scalar(),
                  "case_unit rows", conn.execute(text("SELECT count(*) FROM case_unit")).scalar(), flush=True)
        before = old_stats()
        year, month = (stats.Period(_dt.date(2025, 1, 1), _dt.date(2025, 12, 31)),
                       stats.Period(_dt.date(2026, 2, 1), _dt.date(2026, 2, 28)))
        cases = [
            ("dashboard, all time", "dashboard", stats.Period(), None),
            ("dashboard, one year (2025)", "dashboard", year, None),
            ("dashboard, one county-year (2025, kazuo)", "dashboard", year, "kazuo"),
            ("dashboard, one month (2026-02)", "dashboard", month, None),
            ("dashboard, 45 days (2025-12-20..2026-02-02)", "dashboard",
             stats.Period(_dt.date(2025, 12, 20), _dt.date(2026, 2, 2)), None),
            ("assessment, all time", "assessment", stats.Period(), None),
            ("assessment, one year (2025)", "assessment", year, None),
            ("assessment, one county-year (2025, kazuo)", "assessment", year, "kazuo"),
        ]
        rows = []
        for label, what, period, county in cases:
            def run(module):
                def call():
                    with Session() as s:
                        out = getattr(module, what)(s, period, county, now=NOW)
                        return out.as_dict() if what == "dashboard" else [r.as_dict() for r in out]
                return call
            b50, b95, bres = timed(run(before), args.before_repeats)
            a50, a95, ares = timed(run(stats), args.repeats)
            same = bres == ares
            rows.append((label, b50, b95, a50, a95, same))
            print(f"{label:45} before p50 {b50:8.1f} p95 {b95:8.1f} ms | after p50 {a50:6.1f} p95 {a95:6.1f} ms | "
                  f"same figures: {same}", flush=True)
            if not same:
                print("   before:", bres if what == "assessment" else {k: bres[k] for k in ("totals", "rates")})
                print("   after: ", ares if what == "assessment" else {k: ares[k] for k in ("totals", "rates")})
        print("\n| query | before p50 | before p95 | after p50 | after p95 | same figures |\n|---|---|---|---|---|---|")
        for label, b50, b95, a50, a95, same in rows:
            print(f"| {label} | {b50:.0f} ms | {b95:.0f} ms | {a50:.1f} ms | {a95:.1f} ms | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
