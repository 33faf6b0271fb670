"""Runs every measurement in order, prints the figures as they come, returns them all."""

from __future__ import annotations

import collections
import cProfile
import io
import pstats
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.stats import fold_due

from . import bigdata, http, inprocess, pg, timers

FULL = dict(
    ab_rounds=5,
    ab_cases=20,
    loops=[1, 10, 100, 1000],
    http_levels=[1, 4, 8, 16],
    http_cases_per_client=6,
    e_cases=1_000_000,
    e_repeats=8,
    f_timers=1000,
)
QUICK = dict(
    ab_rounds=3,
    ab_cases=3,
    loops=[1, 10, 50],
    http_levels=[1, 4, 16],
    http_cases_per_client=1,
    e_cases=5_000,
    e_repeats=6,
    f_timers=100,
)
PARTS = ("a", "b", "c", "d", "e", "f")


@dataclass
class Results:
    quick: bool
    sizes: dict
    figures: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)  # name -> (passed, detail)
    notes: list = field(default_factory=list)
    profile: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.checks.values())


def _say(echo: Callable[[str], None], text: str) -> None:
    echo(text)


def profile_summary(fn: Callable[[], object], top: int = 18) -> str:
    """cProfile of ``fn()``: own time by package, then the functions with the most own time."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof)
    by_pkg: collections.Counter = collections.Counter()
    # Stats.stats (the raw table) is not in typeshed's stubs
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for key in ("sqlalchemy", "SpiffWorkflow", "RestrictedPython", "jsonschema", "psycopg"):
            if key in filename:
                break
        else:
            if "/engine/" in filename:
                key = "engine (ours)"
            elif filename == "~":
                key = (
                    "sqlite3/C builtins"
                    if ("sqlite3" in name or "execute" in name or "commit" in name)
                    else "C builtins"
                )
            elif "/json/" in filename:
                key = "json"
            elif "uuid" in filename:
                key = "uuid"
            else:
                key = "other stdlib"
        by_pkg[key] += tt
    total = sum(by_pkg.values()) or 1
    lines = ["own time by package:"]
    lines += [f"  {k:22} {100 * v / total:5.1f} %" for k, v in by_pkg.most_common()]
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(
        r"engine/(runtime|notify|forms|serializer|compaction|inbox)\.py", top
    )
    lines.append("cumulative time of the engine's own functions:")
    for line in out.getvalue().splitlines():
        if "engine/" in line:
            parts = line.split()
            if len(parts) >= 6:
                lines.append(f"  {parts[3]:>8} s  {parts[0]:>6} calls  {parts[-1].split('/work/main/')[-1]}")
    return "\n".join(lines)


def run(
    quick: bool = False,
    parts: tuple[str, ...] = PARTS,
    echo: Callable[[str], None] = print,
    profile: bool = False,
    keep_data: bool = False,
    sizes: dict | None = None,
) -> Results:
    sizes = {**(QUICK if quick else FULL), **(sizes or {})}
    res = Results(quick, sizes)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="ztc-bench-"))
    tag = secrets.token_hex(3)
    pg_problem = pg.reachable()
    rig = inprocess.Rig.sqlite(workdir)
    f = res.figures

    # (a) and (b), interleaved round by round so that a busy machine weighs on both alike
    if "a" in parts or "b" in parts:
        inprocess.bare_library(rig, 1)
        inprocess.persisted(rig, 1)
        a_rounds, b_rounds, a0_rounds = [], [], []
        for _ in range(sizes["ab_rounds"]):
            if "a" in parts:
                a_rounds.append(inprocess.bare_library(rig, sizes["ab_cases"]))
                a0_rounds.append(inprocess.bare_library(rig, sizes["ab_cases"], library_default=True))
            if "b" in parts:
                b_rounds.append(inprocess.persisted(rig, sizes["ab_cases"]))
        if a_rounds:
            f["a"] = {
                "tasks_per_s": statistics.median(r["tasks_per_s"] for r in a_rounds),
                "cpu_tasks_per_s": statistics.median(r["cpu_tasks_per_s"] for r in a_rounds),
                "cases": sum(r["cases"] for r in a_rounds),
            }
            _say(
                echo,
                f"(a) bare library, in memory          {f['a']['tasks_per_s']:8.0f} user tasks/s "
                f"(median of {len(a_rounds)} rounds × {sizes['ab_cases']} cases × 6 tasks)",
            )
            f["a0"] = {
                "tasks_per_s": statistics.median(r["tasks_per_s"] for r in a0_rounds),
                "cpu_tasks_per_s": statistics.median(r["cpu_tasks_per_s"] for r in a0_rounds),
            }
            _say(
                echo,
                f"(a) bare library, its default script engine {f['a0']['tasks_per_s']:8.0f} user tasks/s "
                f"(CPU {f['a0']['cpu_tasks_per_s']:.0f}); above: our sandboxed engine "
                f"(CPU {f['a']['cpu_tasks_per_s']:.0f})",
            )
        if b_rounds:
            f["b"] = {
                "tasks_per_s": statistics.median(r["tasks_per_s"] for r in b_rounds),
                "cpu_tasks_per_s": statistics.median(r["cpu_tasks_per_s"] for r in b_rounds),
                "cases": sum(r["cases"] for r in b_rounds),
            }
            _say(
                echo,
                f"(b) engine + SQLite WAL, in process  {f['b']['tasks_per_s']:8.0f} user tasks/s "
                f"(one transaction per step)",
            )
            res.checks["b: happy path completes"] = (all(r["all_completed"] for r in b_rounds), "every case completed")
        if "a" in f and "b" in f:
            f["b/a"] = f["b"]["tasks_per_s"] / f["a"]["tasks_per_s"]
            f["b/a cpu"] = f["b"]["cpu_tasks_per_s"] / f["a"]["cpu_tasks_per_s"]
            _say(echo, f"    b/a = {f['b/a']:.2f} (CPU time: {f['b/a cpu']:.2f})")
            f["b/a0"] = f["b"]["tasks_per_s"] / f["a0"]["tasks_per_s"]
            f["b/a0 cpu"] = f["b"]["cpu_tasks_per_s"] / f["a0"]["cpu_tasks_per_s"]
            _say(
                echo, f"    b/a against the library's default engine = {f['b/a0']:.2f} (CPU time: {f['b/a0 cpu']:.2f})"
            )
        if profile and "b" in parts:
            res.profile = profile_summary(lambda: inprocess.persisted(rig, sizes["ab_cases"]))
            _say(echo, "profile of (b):\n" + res.profile)

    # (d) one case sent round the loop
    if "d" in parts:
        d = inprocess.loops(rig, sizes["loops"])
        f["d"] = d
        for k, ms in d["step_ms"].items():
            _say(
                echo,
                f"(d) loop {k:>5}: {ms:7.2f} ms per persisted step (CPU {d['step_cpu_ms'][k]:6.2f} ms), "
                f"state {d['state_bytes'].get(k, 0):,} bytes",
            )
        first = min(d["step_ms"])
        # the target's ratio (d100/d1; quick mode: the largest mark it runs), in CPU time: it does not
        # move when other processes take the cores (wall time is printed beside it)
        mark = 100 if 100 in d["step_ms"] else max(d["step_ms"])
        key = f"d{mark}/d{first}"
        f["d_ratio"] = {
            "name": key,
            "value": d["step_cpu_ms"][mark] / d["step_cpu_ms"][first],
            "wall": d["step_ms"][mark] / d["step_ms"][first],
        }
        extra = ""
        if max(d["step_ms"]) != mark:
            last = max(d["step_ms"])
            f["d_last"] = {"name": f"d{last}/d{first}", "value": d["step_cpu_ms"][last] / d["step_cpu_ms"][first]}
            extra = f", {f['d_last']['name']} = {f['d_last']['value']:.2f}"
        _say(
            echo,
            f"    {key} = {f['d_ratio']['value']:.2f} (CPU time; wall {f['d_ratio']['wall']:.2f}){extra}; "
            f"after {d['loops']} loops the case is {d['status']} with {d['reviews']} result reviews",
        )
        res.checks[f"d: {d['loops']} loops end completed"] = (d["correct"], f"{d['status']}, {d['reviews']} reviews")

    # (c) over HTTP through gunicorn
    if "c" in parts:
        for database in ("sqlite", "postgresql"):
            if database == "postgresql" and pg_problem:
                res.notes.append(f"(c) PostgreSQL skipped: {pg_problem}")
                _say(echo, f"(c) PostgreSQL skipped: {pg_problem}")
                continue
            f[f"c_{database}"] = _http(database, sizes, workdir, tag, echo, res)

    # (e) inbox and dashboard over many cases
    if "e" in parts:
        if pg_problem:
            res.notes.append(f"(e) skipped: PostgreSQL not reachable: {pg_problem}")
            _say(echo, res.notes[-1])
        else:
            f["e"] = _bigdata(sizes, echo, res, keep_data)

    # (f) timers with one and two worker processes
    if "f" in parts:
        if pg_problem:
            res.notes.append(f"(f) skipped: PostgreSQL not reachable: {pg_problem}")
            _say(echo, res.notes[-1])
        else:
            with pg.schema(f"bench_f_{tag}") as (db, env):
                frig = inprocess.Rig.on(db, start=timers.PAST)
                out = timers.measure(frig, env, sizes["f_timers"], workdir)
            f["f"] = out
            for w, r in out.items():
                _say(
                    echo,
                    f"(f) {w} worker process{'es' if w > 1 else ''}: {r['per_s']:7.1f} timers/s "
                    f"({r['fired']} fired in {r['seconds']:.2f} s; {r['withdrawn']} cases withdrawn)",
                )
                res.checks[f"f: {w} worker(s) fire every timer once"] = (
                    r["correct"],
                    f"{r['fired']} fired, {r['incidents']} incidents",
                )
            f["f2/f1"] = out[2]["per_s"] / out[1]["per_s"] if out[1]["per_s"] else 0.0
            _say(echo, f"    f2/f1 = {f['f2/f1']:.2f}")
    rig.db.dispose()
    res.seconds = time.perf_counter() - started
    return res


def _http(database: str, sizes: dict, workdir: Path, tag: str, echo: Callable[[str], None], res: Results) -> dict:
    """(c) at each client count of ``http_levels`` on one server and database, then (g): the
    inbox while the most clients write, against the same reads with nothing else running."""
    env = {
        "ZHITONGCHE_SECRET_KEY": secrets.token_hex(16),
        "ZHITONGCHE_UPLOAD_DIR": str(workdir / "uploads"),
        "ZHITONGCHE_WORKER_POLL_SECONDS": "3600",
    }
    if database == "sqlite":
        db_path = workdir / "http.db"
        rig = inprocess.Rig.sqlite(workdir, "http.db")
        env["ZHITONGCHE_DATABASE_URL"] = f"sqlite:///{db_path}"
        cm = None
    else:
        cm = pg.schema(f"bench_c_{tag}")
        db, pg_env = cm.__enter__()
        rig = inprocess.Rig.on(db)
        env.update(pg_env)
    levels: dict[int, dict] = {}
    out: dict = {"levels": levels, "available": True}
    try:
        tokens = http.prepare(rig)
        server = http.start_gunicorn(env, workdir, workers=2)  # threads as `zhitongche run`
        try:
            http.drive(server.port, tokens, 2, 1, database)  # warm-up: both workers load the specs
            first = 1000
            top = max(sizes["http_levels"])
            for clients in sizes["http_levels"]:
                n = clients * sizes["http_cases_per_client"]
                result = http.drive(server.port, tokens, n, clients, database, first=first, probe=clients == top)
                first += n
                levels[clients] = r = result.as_dict()
                if not result.available:
                    out["available"] = False
                    out["errors"] = result.errors
                    _say(echo, f"(c) HTTP, {database}: not measured — {result.errors[0]}")
                    res.notes.append(f"(c) {database}: {result.errors[0]}")
                    return out
                c = r["complete"]
                _say(
                    echo,
                    f"(c) HTTP {database:10} {clients:>2} clients: {r['tasks_per_s']:6.1f} completions/s; "
                    f"complete p50/p95/p99 {c['p50_ms']:.0f}/{c['p95_ms']:.0f}/{c['p99_ms']:.0f} ms, "
                    f"form GET p95 {r['form']['p95_ms']:.0f} ms, submit p95 {r['submit']['p95_ms']:.0f} ms "
                    f"({r['completions']} completions, {r['n_errors']} errors)",
                )
                res.checks[f"c: {database}, {clients} clients: every case completed over HTTP"] = (
                    r["completed_cases"] == n and not r["n_errors"],
                    f"{r['completed_cases']}/{n} cases, {r['n_errors']} errors {r['errors'][:1]}",
                )
            idle = http.spread(http.idle_inbox(server.port, tokens))
        finally:
            server.stop()
    finally:
        rig.db.dispose()
        if cm is not None:
            cm.__exit__(None, None, None)
    busy = levels[top]["inbox"]
    out["g"] = {
        "idle": idle,
        "busy": busy,
        "clients": top,
        "ratio": (busy["p95_ms"] / idle["p95_ms"]) if busy["p95_ms"] and idle["p95_ms"] else None,
    }
    _say(
        echo,
        f"(g) inbox {database:10} p95 idle {idle['p95_ms']:.1f} ms, while {top} clients write "
        f"{busy['p95_ms'] or 0:.1f} ms ({busy['n']} reads): ratio {out['g']['ratio'] or 0:.2f}",
    )
    low, high = levels[min(levels)], levels[top]
    out["scale"] = high["tasks_per_s"] / low["tasks_per_s"] if low["tasks_per_s"] else None
    out["tasks_per_s"] = max(r["tasks_per_s"] for r in levels.values())
    out["median_ms"], out["p95_ms"] = high["median_ms"], high["p95_ms"]
    _say(echo, f"    {database}: {top} clients ÷ 1 client = {out['scale'] or 0:.2f}")
    return out


def _bigdata(sizes: dict, echo: Callable[[str], None], res: Results, keep: bool) -> dict:
    n = sizes["e_cases"]
    name = f"bench_e_{n}"
    reuse = keep and pg.schema_exists(name)
    with pg.schema(name, keep=keep, fresh=not reuse) as (db, _env):
        rig = (
            inprocess.Rig.on(db)
            if not reuse
            else inprocess.Rig(inprocess.make_sessionmaker(db), inprocess.make_engine_for_bench(), db)
        )
        if not reuse:
            with rig.Session() as s:
                version_id = rig.engine.version(s, "ztc_case").id
            with db.begin() as conn:
                gen = bigdata.generate(conn, n, version_id)
            gen["seconds"]["vacuum"] = bigdata.vacuum(db)
            c = gen["counts"]
            _say(
                echo,
                f"(e) generated {c['instance']:,} cases, {c['human_task']:,} task rows ({c['ready']:,} ready), "
                f"{c['case_record']:,} case_record and {c['case_unit']:,} case_unit rows "
                f"in {sum(gen['seconds'].values()):.0f} s",
            )
            rollups = bigdata.build_rollups(rig)
            gen["rollups"] = rollups
            _say(
                echo,
                f"(e) stats.rebuild_rollups: {rollups['seconds']:.1f} s, {sum(rollups['rows'].values()):,} rollup rows",
            )
        else:
            gen = {"reused": True}
            _say(echo, f"(e) reusing the {n:,} generated cases in schema {name}")
        fold_due(rig.Session)  # the worker's pass: nothing due (the rebuild folds all), unless reused
        out = bigdata.measure(rig, sizes["e_repeats"])
        out["generated"] = gen
        out["explain_inbox"] = bigdata.explain(rig, bigdata.principals()["city working group (wg:city)"])
    for label, r in out["inbox"].items():
        _say(
            echo,
            f"(e) inbox     {label:36} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms "
            f"({r['ready_tasks']:,} tasks)",
        )
    for what in ("dashboard", "assessment"):
        for label, r in out[what].items():
            if r.get("timed_out"):
                _say(echo, f"(e) {what:9} {label:58} > {bigdata.DASHBOARD_TIMEOUT_S} s: stopped by statement_timeout")
                res.notes.append(
                    f"(e) {label}: a query ran longer than {bigdata.DASHBOARD_TIMEOUT_S} s "
                    "and was stopped (see 'What bounds the missed targets')"
                )
                continue
            size = f"{r['cases']:,} cases received" if what == "dashboard" else f"{r['units']} units ranked"
            _say(echo, f"(e) {label:66} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms ({size})")
    everything = next(iter(out["dashboard"].values()))  # the city WG, all time
    res.checks["e: the dashboard counts every generated case"] = (
        everything["timed_out"] or everything["cases"] == n,
        f"{everything['cases']:,} received of {n:,}",
    )
    _say(
        echo,
        f"    inbox p95 {out['inbox_p95_ms']:.1f} ms, dashboard p95 {out['dashboard_p95_ms']:.1f} ms, "
        f"assessment p95 {out['assessment_p95_ms']:.1f} ms over {n:,} cases",
    )
    return out
