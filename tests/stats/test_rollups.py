"""The statistics rollups (stats_* tables) that the worker's fold (``stats.fold_due``) keeps up
with the records every step marks due equal a recomputation from scratch
(``stats.rebuild_rollups``), whatever the interleaving of steps, partial folds, concurrent folds
and rebuilds; and the dashboard and the assessment read from them show exactly what a scan of
every case_record row shows."""

from __future__ import annotations

import datetime as _dt
import importlib.util
import random
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from engine import stats
from engine.models import CaseRecord, CaseUnit, Deployment, Instance, ProcessVersion
from engine.stats import rollups as stats_rollups
from engine.workdays import WorkCalendar

from .conftest import CITY_WG, dispatch, make_uscc, solve
from .test_projection import MARCH, story  # noqa: F401  (the fixture)

UTC = _dt.UTC
COUNTIES = ["city", "kazuo", "jianping", None]
UNITS = ["zrzyj", "fgw", "gdgs", "yshj", "kazuo.sthjj"]
CATEGORIES = ["土地批复", "融资贷款", "要素保障", None]
MODES = ["马上办", "快速办", "限期办"]
ENTERPRISES = [make_uscc(f"91211300MA0Q1{i:03d}1") for i in range(6)] + [None, ""]
COUNTER_COLUMNS = {
    "stats_received": stats.RECEIVED_COUNTERS,
    "stats_received_dim": ("received",),
    "stats_closed": stats.CLOSED_COUNTERS,
    "stats_unit": ("assigned",),
    "stats_enterprise": ("cases",),
    "stats_enterprise_day": ("cases",),
    "stats_enterprise_gap": ("n",),
}


def snapshot(session) -> dict[str, set[tuple]]:
    """Every rollup row with a non-zero counter (rows left at zero count as absent)."""
    out = {}
    for model in stats.ROLLUP_TABLES:
        table = model.__table__
        counters = COUNTER_COLUMNS[table.name]
        rows = session.execute(select(table)).mappings().all()
        out[table.name] = {
            tuple(sorted((k, str(v)) for k, v in row.items())) for row in rows if any(row[c] for c in counters)
        }
    return out


def reference(session, period: stats.Period, county, now) -> dict:
    """The figures from every case_record / case_unit row, filtered in Python (the meaning the
    dashboard's queries had before the rollups)."""
    lo, hi = period.bounds()

    def within(t):
        return t is not None and (lo is None or t >= lo) and (hi is None or t < hi)

    records = [r for r in session.scalars(select(CaseRecord)) if not county or r.county == county]
    received = [r for r in records if within(r.received_at)]
    closed = [r for r in records if within(r.closed_at)]
    handled = [r for r in closed if r.on_time is not None]

    def count_by(rows, attr):
        out: dict = {}
        for r in rows:
            if getattr(r, attr):
                out[getattr(r, attr)] = out.get(getattr(r, attr), 0) + 1
        return out

    units = [
        u for u in session.scalars(select(CaseUnit)) if within(u.assigned_at) and (not county or u.county == county)
    ]
    solved = [r for r in closed if r.outcome == "solved"]
    answered = [r for r in closed if r.satisfaction in stats.ANSWERED_SATISFACTION]
    totals = {
        "received": len(received),
        "accepted": sum(r.accepted_at is not None for r in received),
        "rejected": sum(r.outcome == "rejected" for r in received),
        "withdrawn": sum(r.outcome == "withdrawn" for r in received),
        "open": sum(r.is_open for r in received),
        "overdue": sum(bool(r.ever_overdue) for r in received),
        "overdue_now": sum(bool(r.is_open and r.deadline and r.deadline < now) for r in received),
        "escalated": sum(bool(r.escalated) for r in received),
        "solved": len(solved),
        "closed": len(closed),
        "handled": len(handled),
        "on_time": sum(r.on_time is True for r in closed),
        "enterprises": len({r.uscc for r in received if r.uscc is not None}),
        "coordinations": len(units),
        "awaiting_intake": sum(bool(r.is_open and r.accepted_at is None) for r in received),
    }
    rates = {
        "on_time": stats.ratio(totals["on_time"], len(handled)),
        "satisfaction": stats.ratio(sum(r.satisfaction in stats.GOOD_SATISFACTION for r in closed), len(answered)),
        "reopen": stats.ratio(sum(r.reopen_count > 0 for r in handled), len(handled)),
        "workdays_to_close": round(sum(r.workdays_to_close or 0 for r in solved) / len(solved), 1) if solved else None,
    }
    scores: dict[str, list[int]] = {}
    for r in received:
        if r.lead_unit:
            s = scores.setdefault(r.lead_unit, [0] * 7)
            s[0] += 1
            s[1] += bool(r.ever_overdue)
    for r in closed:
        if r.lead_unit:
            s = scores.setdefault(r.lead_unit, [0] * 7)
            s[2] += r.on_time is not None
            s[3] += r.on_time is True
            s[4] += r.satisfaction in stats.GOOD_SATISFACTION
            s[5] += r.satisfaction in stats.ANSWERED_SATISFACTION
    for u in units:
        scores.setdefault(u.unit, [0] * 7)[6] += 1
    return {
        "totals": totals,
        "rates": rates,
        "by_category": count_by(received, "category"),
        "by_county": count_by(received, "county"),
        "by_mode": count_by(received, "mode"),
        "by_unit": count_by(received, "lead_unit"),
        "leader_modes": {m: sum(r.leader_mode == m for r in received) for m in stats.LEADER_MODES},
        "assessment": {u: tuple(s) for u, s in scores.items()},
    }


def figures(session, period, county, now) -> dict:
    board = stats.dashboard(session, period, county, now=now)
    ranked = stats.assessment(session, period, county, now=now)
    return {
        "totals": board.totals,
        "rates": board.rates,
        "by_category": board.by_category,
        "by_county": board.by_county,
        "by_mode": board.by_mode,
        "by_unit": board.by_unit,
        "leader_modes": board.leader_modes,
        "assessment": {
            s.unit: (s.received, s.overdue, s.closed, s.on_time, s.sat_good, s.sat_answered, s.coordinations)
            for s in ranked
        },
    }


PERIODS = [
    stats.Period(),
    stats.Period(_dt.date(2026, 1, 1), _dt.date(2026, 12, 31)),
    stats.Period(_dt.date(2025, 12, 1), _dt.date(2025, 12, 31)),
    stats.Period(_dt.date(2026, 1, 1), _dt.date(2026, 1, 31)),
    stats.Period(_dt.date(2026, 2, 1), _dt.date(2026, 2, 28)),
    stats.Period(_dt.date(2025, 12, 24), _dt.date(2026, 2, 9)),  # days, a whole month, days
    stats.Period(_dt.date(2026, 1, 10), _dt.date(2026, 1, 20)),  # days within a month
    stats.Period(_dt.date(2026, 1, 15), None),
    stats.Period(None, _dt.date(2026, 1, 15)),
    stats.Period(None, _dt.date(2026, 1, 31)),
    stats.Period(_dt.date(2026, 2, 1), None),
    stats.Period(_dt.date(2026, 1, 7), _dt.date(2026, 1, 7)),
    stats.Period(_dt.date(2026, 2, 1), _dt.date(2026, 1, 1)),  # empty
]


class Driver:
    """Cases changed at random the way the case process changes their summary, each step
    projected by ``stats.project`` as every saved step does."""

    def __init__(self, Session, seed: int):
        self.Session = Session
        self.rnd = random.Random(seed)
        self.calendar = WorkCalendar()
        self.now = _dt.datetime(2025, 12, 20, 1, 0, tzinfo=UTC)
        with Session.begin() as s:
            dep = Deployment(deployed_by="t")
            s.add(dep)
            s.flush()
            pv = ProcessVersion(
                process_id="ztc_case", version=1, content_hash="x", main_file="x.bpmn", files={}, deployment_id=dep.id
            )
            s.add(pv)
            s.flush()
            self.pv = pv.id
        self.ids: list[int] = []

    def tick(self):
        # hours at random, often across Beijing midnight (16:00 UTC)
        self.now += _dt.timedelta(hours=self.rnd.choice([1, 3, 7, 15, 23, 30, 50]), minutes=self.rnd.randint(0, 59))

    def save(self, s, inst: Instance, summary: dict, open_: bool = True):
        inst.summary = summary
        inst.updated_at = self.now
        inst.status = "running" if open_ else "completed"
        inst.ended_at = None if open_ else self.now
        stats.project(s, inst, self.calendar, self.now, "t")
        s.flush()

    def new(self, s):
        n = len(self.ids) + 1
        inst = Instance(
            process_version_id=self.pv,
            process_id="ztc_case",
            business_key=f"T-{n}",
            status="running",
            state="{}",
            serializer_version="1",
            created_at=self.now,
            updated_at=self.now,
        )
        s.add(inst)
        s.flush()
        self.ids.append(inst.id)
        summary = {
            "case_no": f"T-{n}",
            "status": "待受理",
            "county": self.rnd.choice(COUNTIES),
            "category": self.rnd.choice(CATEGORIES),
            "uscc": self.rnd.choice(ENTERPRISES),
            "enterprise_name": "某企业",
            "registered_at": self.now.isoformat(),
            "level": "city",
        }
        self.save(s, inst, summary)

    def step(self, s):
        inst = s.get(Instance, self.rnd.choice(self.ids))
        summary = dict(inst.summary)
        is_open = inst.status == "running"
        op = self.rnd.random()
        if is_open and summary["status"] in ("待受理", "待补充材料"):
            if op < 0.6:
                summary.update(
                    status="办理中",
                    accepted_at=self.now.isoformat(),
                    lead_unit=self.rnd.choice(UNITS),
                    coop_units=self.rnd.sample(UNITS, self.rnd.randint(0, 2)),
                    mode=self.rnd.choice(MODES),
                    deadline=(self.now + _dt.timedelta(days=self.rnd.randint(1, 9))).isoformat(),
                )
            elif op < 0.8:
                summary.update(status="不予受理", outcome="rejected")
                return self.save(s, inst, summary, open_=False)
            else:
                summary.update(status="已撤回", outcome="withdrawn")
                return self.save(s, inst, summary, open_=False)
        elif is_open:
            if op < 0.2:  # re-dispatched to another unit
                summary.update(
                    lead_unit=self.rnd.choice(UNITS),
                    mode=self.rnd.choice(MODES),
                    coop_units=self.rnd.sample(UNITS, self.rnd.randint(0, 2)),
                )
            elif op < 0.35:
                summary.update(warning="red", overdue=True)
            elif op < 0.45:
                summary.update(escalated=True, leader_mode=self.rnd.choice(stats.LEADER_MODES + (None,)))
            elif op < 0.5:
                summary.update(status="已撤回", outcome="withdrawn")
                return self.save(s, inst, summary, open_=False)
            elif op < 0.53:  # corrected registration: another enterprise, county, day
                summary.update(
                    uscc=self.rnd.choice(ENTERPRISES),
                    county=self.rnd.choice(COUNTIES),
                    registered_at=(self.now - _dt.timedelta(days=self.rnd.randint(0, 40))).isoformat(),
                )
            else:
                summary.update(
                    status="已办结",
                    outcome=self.rnd.choice(["solved", "solved", "explained", "no_answer"]),
                    satisfaction=self.rnd.choice(["满意", "基本满意", "不满意", None]),
                    warning=None,
                )
                return self.save(s, inst, summary, open_=False)
        else:
            if summary.get("outcome") in ("rejected", "withdrawn") or op < 0.5:
                return
            # reopened (不满意 → 重新交办), possibly to another unit
            summary.update(
                status="办理中",
                outcome=None,
                reopen_count=int(summary.get("reopen_count") or 0) + 1,
                lead_unit=self.rnd.choice(UNITS),
                warning=None,
            )
        self.save(s, inst, summary)

    def run(self, steps: int, rebuild_at: int | None = None):
        for n in range(steps):
            with self.Session.begin() as s:  # one to three steps per transaction
                for _ in range(self.rnd.randint(1, 3)):
                    self.tick()
                    if not self.ids or self.rnd.random() < 0.3:
                        self.new(s)
                    else:
                        self.step(s)
            if self.rnd.random() < 0.3:  # a worker's pass now and then, sometimes only a few records
                stats.fold_due(self.Session, batch=self.rnd.randint(1, 4), max_batches=self.rnd.choice([1, 2, None]))
            if n == rebuild_at:  # an admin's stats-rebuild between passes: the folds go on from it
                with self.Session.begin() as s:
                    stats.rebuild_rollups(s)


def assert_rollups_exact(Session, now):
    stats.fold_due(Session)  # the worker's pass
    with Session() as s:
        assert stats.unfolded(s) == 0
        kept = snapshot(s)
        got = {(i, str(p), c): figures(s, p, c, now) for i, p in enumerate(PERIODS) for c in (None, "city", "kazuo")}
        want = {(i, str(p), c): reference(s, p, c, now) for i, p in enumerate(PERIODS) for c in (None, "city", "kazuo")}
        stats.rebuild_rollups(s)
        rebuilt = snapshot(s)
        again = {(i, str(p), c): figures(s, p, c, now) for i, p in enumerate(PERIODS) for c in (None, "city", "kazuo")}
        s.rollback()
    for name in kept:
        assert kept[name] == rebuilt[name], name
    for key in want:
        assert got[key] == want[key], key
        assert again[key] == want[key], key
    return kept


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_a_recomputation_after_random_changes(Session, seed):
    driver = Driver(Session, seed)
    driver.run(150, rebuild_at=70 if seed == 2 else None)
    kept = assert_rollups_exact(Session, driver.now)
    assert kept["stats_closed"] and kept["stats_enterprise_gap"] and kept["stats_unit"]
    with Session() as s:  # the story had every kind of change
        records = list(s.scalars(select(CaseRecord)))
    assert any(r.reopen_count for r in records) and any(r.outcome == "withdrawn" for r in records)
    assert any(r.is_open for r in records) and any(not r.is_open and r.reopen_count for r in records)


def test_rebuild_gives_the_same_figures(story, Session, clock):  # noqa: F811
    now = clock.now()
    with Session() as s:
        board = stats.dashboard(s, MARCH, None, now=now).as_dict()
        ranked = [r.as_dict() for r in stats.assessment(s, MARCH, None, now=now)]
        kept = snapshot(s)
    assert board["totals"]["enterprises"] == 4 and board["totals"]["coordinations"] == 6
    with Session.begin() as s:  # a database from before the rollups: empty tables
        for model in stats.ROLLUP_TABLES:
            s.execute(delete(model.__table__))
    with Session() as s:
        assert stats.dashboard(s, MARCH, None, now=now).totals["received"] == 0
    with Session.begin() as s:
        counts = stats.rebuild_rollups(s)
    assert counts["stats_received"] > 0
    with Session() as s:
        assert snapshot(s) == kept
        assert stats.dashboard(s, MARCH, None, now=now).as_dict() == board
        assert [r.as_dict() for r in stats.assessment(s, MARCH, None, now=now)] == ranked
    assert_rollups_exact(Session, now)


def test_real_cases_reopened_and_redispatched(new_case, Session, clock):
    """Through the real processes: a case solved, found unsatisfying, reopened and solved by
    another unit days later, in the next month; a case withdrawn."""
    from .conftest import beijing

    clock.set(beijing("2026-03-30", "09:00"))
    a = new_case(uscc=make_uscc("91211300MA0Q1AAA1"), category="土地批复")
    dispatch(a, lead="zrzyj", coop=["fgw"])
    solve(a, coop=["fgw"], satisfaction="不满意")
    a.complete("不满意处置", CITY_WG, {"dissatisfied_decision": "reopen"})
    a.move_to(beijing("2026-04-02", "10:00"))
    a.complete(
        "分级交办", CITY_WG, {"dispatch_action": "dispatch", "lead_unit": "gdgs", "coop_units": [], "mode": "马上办"}
    )
    solve(a, lead="gdgs", satisfaction="满意")
    b = new_case(uscc=make_uscc("91211300MA0Q1AAA1"), county="kazuo")
    b.complete("受理审查", "wg:kazuo", {"intake_decision": "accept"})
    assert_rollups_exact(Session, clock.now())
    with Session() as s:
        april = stats.dashboard(s, stats.Period(_dt.date(2026, 4, 1), _dt.date(2026, 4, 30)), None, now=clock.now())
    assert april.totals["solved"] == 1 and april.totals["coordinations"] == 1  # gdgs, in April


@pytest.mark.parametrize("workers", [4])
def test_concurrent_cases_of_one_enterprise(Session, db_engine, workers):
    """Cases of the same enterprise, county and days saved at once by several connections, each
    also folding now and then (several workers): the rollups still equal a recomputation
    (PostgreSQL: SKIP LOCKED, the upserts and the enterprise's row lock; SQLite: one writer at a
    time)."""
    driver = Driver(Session, 7)
    uscc = make_uscc("91211300MA0Q1YYY1")
    days = [_dt.datetime(2026, 1, d, 3, 0, tzinfo=UTC) for d in (5, 9, 12, 20)]
    errors = []

    def work(k):
        try:
            rnd = random.Random(k)
            for i in range(6):
                with Session.begin() as s:
                    at = rnd.choice(days)
                    inst = Instance(
                        process_version_id=driver.pv,
                        process_id="ztc_case",
                        business_key=f"C-{k}-{i}",
                        status="running",
                        state="{}",
                        serializer_version="1",
                        created_at=at,
                        updated_at=at,
                    )
                    s.add(inst)
                    s.flush()
                    inst.summary = {
                        "case_no": f"C-{k}-{i}",
                        "status": "待受理",
                        "county": rnd.choice(["city", "kazuo"]),
                        "uscc": uscc,
                        "registered_at": at.isoformat(),
                        "category": "其他",
                    }
                    stats.project(s, inst, None, at, "t")
                    s.flush()
                stats.fold_due(Session, batch=2, max_batches=1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    kept = assert_rollups_exact(Session, _dt.datetime(2026, 2, 1, tzinfo=UTC))
    assert len(kept["stats_enterprise_day"]) <= 3 * len(days)


def test_the_migration_snapshots_what_the_rollups_count(Session):
    """Migration 0014 gives every existing record the snapshot ``rebuild_rollups`` gives it, the
    ``Facts`` the fold reads (the rollups of existing cases were kept in their steps)."""
    Driver(Session, 5).run(40)
    path = Path(__file__).parents[2] / "engine" / "migrations" / "versions" / "0014_statistics_fold.py"
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def snapshots(s):
        return {r.instance_id: stats_rollups.from_json(r.rollup_applied) for r in s.scalars(select(CaseRecord))}

    with Session() as s:
        facts = {r.instance_id: stats_rollups.facts_of(r) for r in s.scalars(select(CaseRecord))}
        s.execute(text(migration.facts_update(s.get_bind().dialect.name)))
        migrated = snapshots(s)
        s.rollback()
        stats.rebuild_rollups(s)
        s.expire_all()
        rebuilt = snapshots(s)
        s.rollback()
    assert len(facts) > 10 and migrated == rebuilt == facts
