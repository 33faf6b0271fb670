"""The dashboard's figures from cases whose story we know, run through the real processes:
the projection (case_record, case_unit) follows every step, and each figure lists exactly
the cases behind it."""

from __future__ import annotations

import datetime as _dt

import pytest
from sqlalchemy import select

from engine import casefiles, stats
from engine.access import Principal
from engine.models import CaseRecord, CaseUnit

from .conftest import CITY_WG, beijing, dispatch, make_uscc, solve

WG_CITY = Principal("wg.city", groups=frozenset({"wg:city"}))
MARCH = stats.Period(_dt.date(2026, 3, 1), _dt.date(2026, 3, 31))


@pytest.fixture
def story(new_case, clock, Session):
    """Five cases in March 2026 (the clock starts Monday 03-02 09:00 Beijing time):
    A city, 土地批复, zrzyj + fgw, solved on time, 满意;
    B jianping, 融资贷款, rejected at intake (same enterprise as A);
    C city, 要素保障, fgw, 马上办, turned red, then solved, 不满意 → reopened → 基本满意;
    D kazuo, 环评手续, in handling (kazuo.sthjj), not yet due;
    E city, 其他, the unit head asks for escalation, the mayor signs off (签批督办), solved, 满意."""
    ent = make_uscc("91211300MA0Q1AAA1")
    a = new_case(uscc=ent, category="土地批复")
    dispatch(a, lead="zrzyj", coop=["fgw"])
    clock.set(beijing("2026-03-03", "10:00"))
    solve(a, coop=["fgw"])
    b = new_case(uscc=ent, county="jianping", category="融资贷款")
    b.complete("受理审查", "wg:jianping", {"intake_decision": "reject", "intake_reason": "不属于受理范围"})
    c = new_case(uscc=make_uscc("91211300MA0Q1CCC1"), category="要素保障")
    dispatch(c, lead="fgw", mode="马上办")  # deadline Friday 03-06 17:30
    c.move_to(beijing("2026-03-06", "17:31"))
    assert c.summary["warning"] == "red"
    c.complete("签发督办单", CITY_WG, {"supervision_notice_no": "督字〔2026〕1号", "supervision_content": "限期办结"})
    c.move_to(beijing("2026-03-09", "10:00"))
    solve(c, lead="fgw", satisfaction="不满意")
    c.complete("不满意处置", CITY_WG, {"dissatisfied_decision": "reopen"})
    c.complete(
        "分级交办",
        CITY_WG,
        {"dispatch_action": "dispatch", "lead_unit": "fgw", "coop_units": ["gdgs"], "mode": "快速办"},
    )
    solve(c, lead="fgw", coop=["gdgs"], satisfaction="基本满意")
    d = new_case(uscc=make_uscc("91211300MA0Q1DDD1"), county="kazuo", category="环评手续")
    dispatch(d, group="wg:kazuo", lead="kazuo.sthjj")
    e = new_case(uscc=make_uscc("91211300MA0Q1EEE1"), category="其他")
    dispatch(e, lead="yshj")
    e.complete("拟办办理结果", "unit:yshj", {"handling_result": "需领导协调", "solved": False})
    e.complete("负责人审核", "head:yshj", {"head_decision": "escalation", "head_reason": "需市领导协调"})
    e.complete(
        "领导批示", "leader:city", {"leader_mode": "签批督办", "instruction": "五日内解决", "leader_deadline_days": 5}
    )
    solve(e, lead="yshj")
    stats.fold_due(Session)  # the worker's pass: the rollups catch up with the steps
    return {k: v.instance().id for k, v in dict(a=a, b=b, c=c, d=d, e=e).items()}


def listed(Session, args, now, principal=WG_CITY) -> set[int]:
    """The instance ids the cases page lists for a figure's link."""
    with Session() as s:
        query = casefiles.CaseQuery(stats=stats.CaseFilter.from_args(args), per_page=1000)
        return {i.id for i in casefiles.search_cases(s, principal, query, now=now).items}


def test_figures_from_known_cases(story, Session, clock):
    now = clock.now()
    with Session() as s:
        board = stats.dashboard(s, MARCH, None, now=now)
    t = board.totals
    assert (t["received"], t["accepted"], t["rejected"], t["open"], t["solved"]) == (5, 4, 1, 1, 3)
    assert (t["overdue"], t["overdue_now"], t["escalated"]) == (1, 0, 1)
    assert t["enterprises"] == 4  # A and B are the same enterprise
    # A: zrzyj + fgw; C: fgw, then gdgs on reopening; D: kazuo.sthjj; E: yshj
    assert t["coordinations"] == 6
    assert board.by_category == {"土地批复": 1, "融资贷款": 1, "要素保障": 1, "环评手续": 1, "其他": 1}
    assert board.by_county == {"city": 3, "jianping": 1, "kazuo": 1}
    assert board.by_mode == {"快速办": 4}  # C was re-dispatched as 快速办 on reopening
    assert board.leader_modes == {"签批督办": 1, "专题会议": 0, "现场办公": 0}
    # closed after handling: A, C, E; C turned red → 2 of 3 on time
    assert board.rates["on_time"] == round(2 / 3, 4)
    assert board.rates["satisfaction"] == 1.0  # A 满意, C 基本满意 (its last answer), E 满意
    assert board.rates["reopen"] == round(1 / 3, 4)
    assert board.rates["workdays_to_close"] is not None


def test_every_figure_lists_its_cases(story, Session, clock):
    now = clock.now()
    with Session() as s:
        links = stats.dashboard(s, MARCH, None, now=now).links
    assert listed(Session, links["received"], now) == set(story.values())
    assert listed(Session, links["rejected"], now) == {story["b"]}
    assert listed(Session, links["open"], now) == {story["d"]}
    assert listed(Session, links["solved"], now) == {story["a"], story["c"], story["e"]}
    assert listed(Session, links["overdue"], now) == {story["c"]}
    assert listed(Session, links["on_time"], now) == {story["a"], story["e"]}
    assert listed(Session, links["reopen"], now) == {story["c"]}
    assert listed(Session, links["leader:签批督办"], now) == {story["e"]}
    assert listed(Session, {**links["received"], "unit": "fgw"}, now) == {story["a"], story["c"]}


def test_projection_rows(story, Session):
    with Session() as s:
        c = s.get(CaseRecord, story["c"])
        assert (c.lead_unit, c.coop_units, c.outcome, c.ever_overdue, c.on_time, c.reopen_count) == (
            "fgw",
            ["gdgs"],
            "solved",
            True,
            False,
            1,
        )
        assert c.warning is None and c.satisfaction == "基本满意" and not c.is_open
        assert c.accepted_at is not None and c.closed_at > c.accepted_at >= c.received_at
        units = {(u.unit, u.role) for u in s.scalars(select(CaseUnit).where(CaseUnit.instance_id == story["c"]))}
        assert units == {("fgw", "lead"), ("gdgs", "coop")}
        b = s.get(CaseRecord, story["b"])
        assert (b.outcome, b.accepted_at, b.on_time, b.county) == ("rejected", None, None, "jianping")
        d = s.get(CaseRecord, story["d"])
        assert d.is_open and d.closed_at is None and d.deadline is not None


def test_period_and_county_filters(story, Session, clock):
    now = clock.now()
    with Session() as s:
        april = stats.dashboard(s, stats.Period(_dt.date(2026, 4, 1), None), None, now=now)
        kazuo = stats.dashboard(s, MARCH, "kazuo", now=now)
    assert april.totals["received"] == 0 and april.totals["solved"] == 0
    assert (kazuo.totals["received"], kazuo.totals["open"], kazuo.totals["coordinations"]) == (1, 1, 1)


def test_assessment_ranks_units(story, Session, clock):
    with Session() as s:
        ranked = stats.assessment(s, MARCH, None, now=clock.now())
    by_unit = {r.unit: r for r in ranked}
    assert (by_unit["fgw"].closed, by_unit["fgw"].on_time, by_unit["fgw"].overdue) == (1, 0, 1)
    assert by_unit["zrzyj"].on_time_rate == 1.0 and by_unit["yshj"].on_time_rate == 1.0
    assert by_unit["gdgs"].coordinations == 1 and by_unit["gdgs"].closed == 0
    order = [r.unit for r in ranked]
    assert order.index("zrzyj") < order.index("fgw")  # on time beats overdue
    assert order[-1] in ("gdgs", "kazuo.sthjj")  # nothing closed: last
    assert [r.rank for r in ranked] == [1, 1, 3, 4, 4]  # equal scores share a rank (competition ranking)


def test_county_people_see_their_county_only():
    county_wg = Principal("wg.kazuo", groups=frozenset({"wg:kazuo"}))
    assert stats.scoped_county(county_wg, None) == "kazuo"
    assert stats.scoped_county(county_wg, "city") == "kazuo"
    assert stats.scoped_county(WG_CITY, None) is None
    assert stats.scoped_county(WG_CITY, "jianping") == "jianping"
    assert not stats.can_see_stats(Principal("ent", kind="enterprise", groups=frozenset({"enterprise:X"})))
    assert not stats.can_see_stats(Principal("unit.zrzyj", groups=frozenset({"unit:zrzyj"})))
    assert stats.can_see_stats(Principal("leader.mayor", groups=frozenset({"leader:city"})))
