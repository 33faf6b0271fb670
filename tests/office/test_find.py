"""Finding work: the case search text follows every step (description, contact, the unit's
result), inbox and case list search with it, working-day deadline filters, 今日到期, days left,
saved filters; on both databases."""

from __future__ import annotations

import pytest

from engine import casefiles, savedfilters
from engine.access import Principal
from engine.errors import InvalidRequest, NotAllowed
from engine.inbox import InboxFilter, inbox
from engine.models import CaseRecord

from .conftest import beijing, make_uscc

WG = Principal("wg.city", groups=frozenset({"wg:city"}))
ZRZYJ = Principal("zrzyj.1", groups=frozenset({"unit:zrzyj"}))


def _found(Session, q, principal=WG) -> set[str]:
    with Session() as s:
        return {c.business_key for c in casefiles.search_cases(s, principal, casefiles.CaseQuery(q=q)).items}


def _inbox_cases(Session, clock, principal=WG, **filters) -> set[str]:
    with Session() as s:
        return {r.instance.business_key for r in inbox(s, principal, InboxFilter(**filters), now=clock.now()).rows}


def test_search_finds_a_case_by_description_contact_and_unit_result(Session, new_case, clock):
    a = new_case(
        uscc=make_uscc("91211300MA0Q1AAA1"), description="厂区南侧道路积水严重，影响货车通行", contact="李明远"
    )
    b = new_case(uscc=make_uscc("91211300MA0Q1BBB1"), description="用电报装排队时间过长")
    assert _found(Session, "积水") == {a.case_no}
    assert _found(Session, "李明远") == {a.case_no}
    assert _found(Session, "报装") == {b.case_no}
    assert _found(Session, "积水 货车") == {a.case_no}  # every word
    assert _found(Session, "积水 报装") == set()
    assert _found(Session, a.case_no) == {a.case_no}
    assert _found(Session, "100%") == set()  # wildcards are literal
    # the inbox finds the case's task by the same words
    assert _inbox_cases(Session, clock, q="积水") == {a.case_no}
    # the unit's result becomes findable at the step that records it
    a.complete("受理审查", "wg:city", {"intake_decision": "accept"})
    a.complete(
        "分级交办", "wg:city", {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "快速办"}
    )
    assert _found(Session, "排水管网") == set()
    a.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "已协调住建局疏通排水管网", "solved": True})
    assert _found(Session, "排水管网") == {a.case_no}
    assert _found(Session, "积水") == {a.case_no}  # earlier fragments stay
    # a person finds only the cases they may see
    assert _found(Session, "报装", principal=ZRZYJ) == set()
    with Session() as s:
        record = s.get(CaseRecord, a.instance().id)
        assert "李明远" in record.search_text and "厂区南侧道路积水严重，影响货车通行" in record.search_text


def test_due_within_counts_working_days_and_due_today(Session, new_case, clock):
    """The clock: Friday 2026-03-06 09:00; a task due Monday 03-09 is due within 1 working day."""
    clock.set(beijing("2026-03-05", "09:00"))
    case = new_case(uscc=make_uscc("91211300MA0Q1AAA1"))
    with Session.begin() as s:
        row = inbox(s, WG, now=clock.now()).rows[0]
        row.task.due_at = beijing("2026-03-09", "17:30")
    clock.set(beijing("2026-03-06", "09:00"))
    assert _inbox_cases(Session, clock, due_within_days=1) == {case.case_no}
    assert _inbox_cases(Session, clock, due_within_days=0) == set()
    assert _inbox_cases(Session, clock, due_today=True) == set()
    with Session() as s:
        assert inbox(s, WG, now=clock.now()).rows[0].days_left == 1
    clock.set(beijing("2026-03-09", "08:00"))
    assert _inbox_cases(Session, clock, due_today=True) == {case.case_no}
    with Session() as s:
        assert inbox(s, WG, now=clock.now()).rows[0].days_left == 0
    clock.set(beijing("2026-03-11", "09:00"))
    assert _inbox_cases(Session, clock, due_today=True) == set()
    with Session() as s:
        row = inbox(s, WG, now=clock.now()).rows[0]
        assert (row.marker, row.days_left) == ("red", -2)


def test_saved_filters_are_personal_or_shared_with_a_group(Session):
    other = Principal("wg.city.2", groups=frozenset({"wg:city"}))
    stranger = Principal("zrzyj.1", groups=frozenset({"unit:zrzyj"}))
    with Session.begin() as s:
        savedfilters.save(s, WG, "inbox", "我的超期", "overdue=1&csrf_token=x&q=")
        shared = savedfilters.save(s, WG, "inbox", "组内临期", "due_within=1", shared_group="wg:city")
        with pytest.raises(InvalidRequest):
            savedfilters.save(s, WG, "inbox", "  ", "overdue=1")
        with pytest.raises(InvalidRequest):
            savedfilters.save(s, WG, "inbox", "别组", "overdue=1", shared_group="unit:zrzyj")
    with Session.begin() as s:
        mine = savedfilters.visible(s, WG, "inbox")
        assert [(f.name, f.query) for f in mine] == [("我的超期", "overdue=1"), ("组内临期", "due_within=1")]
        assert [f.name for f in savedfilters.visible(s, other, "inbox")] == ["组内临期"]
        assert savedfilters.visible(s, stranger, "inbox") == []
        assert savedfilters.visible(s, WG, "cases") == []
        with pytest.raises(NotAllowed):
            savedfilters.delete(s, other, shared.id)
        savedfilters.delete(s, WG, shared.id)
    with Session() as s:
        assert savedfilters.visible(s, other, "inbox") == []


def test_a_search_needs_no_more_than_five_words(Session, new_case):
    new_case(uscc=make_uscc("91211300MA0Q1AAA1"), description="一 二 三 四 五 六")
    assert len(_found(Session, "一 二 三 四 五 七")) == 1  # the sixth word is ignored
