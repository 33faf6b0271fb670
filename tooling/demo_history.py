"""A plausible history of the 直通车 from September 2019 to a given day, whose dashboard shows
exactly the figures of the article (DOMAIN.md's reference table).

Everything runs through the real engine: every case is submitted with ``cases.start_case``
and driven task by task through ``processes/case.bpmn`` (and the leader, decision-item and
return-visit processes it calls) on a ``FakeClock``; timers (yellow/red cards, automatic
escalation, material timeouts) fire as the worker would fire them. Bulletins go through
``processes/bulletin.bpmn`` with their real numbering, weekly reports through
``processes/weekly_report.bpmn``. Only park files and research visits — records with no
process — are inserted directly. Each step is one transaction, as a web request would be.

What happens to each case — and so the figures — is decided beforehand, in
``tooling/demo_plan.py``; this module runs that plan (``Runner``) and adds the bulletins,
weekly reports and records (``generate``).
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from engine import bulletins as bulletins_mod
from engine import cases as cases_mod
from engine import stats
from engine.clock import FakeClock
from engine.models import HumanTask, Instance, Notification, WorkRecord
from engine.runtime import Engine
from engine.workdays import CHINA, to_china_date

from .demo_plan import COUNTIES, START, TITLES, CasePlan, make_enterprises, plan, units_for

HISTORY_SENT = _dt.timedelta(days=7)  # older messages of the history count as sent


def _at(day: _dt.date, hm: str = "09:00") -> _dt.datetime:
    h, m = (int(x) for x in hm.split(":"))
    return _dt.datetime.combine(day, _dt.time(h, m), CHINA)


class Runner:
    def __init__(
        self, Session: sessionmaker[Session], engine: Engine, clock: FakeClock, log: Callable[[str], None] | None = None
    ):
        self.Session, self.engine, self.clock = Session, engine, clock
        self.cal = engine.calendar
        self.log = log or (lambda _m: None)

    # -- plumbing ------------------------------------------------------------------
    def fire_due(self) -> None:
        """The worker's pass: the statistics fold, then the timers due now."""
        stats.fold_due(self.Session)
        for _ in range(20):
            with self.Session.begin() as s:
                due = list(
                    s.scalars(
                        select(Instance).where(Instance.status == "running", Instance.next_timer_at <= self.clock.now())
                    )
                )
                for inst in due:
                    self.engine.fire_timers(s, inst)
            if not due:
                return

    def move(self, when: _dt.datetime) -> None:
        if when > self.clock.now():
            self.clock.set(when)
        self.fire_due()

    def workday(self, day: _dt.date, n: int) -> _dt.date:
        return self.cal.add_workdays(day, n)

    def ready(self, instance_id: int) -> list[HumanTask]:
        with self.Session() as s:
            return self.engine.ready_tasks(s, instance_id)

    def complete(self, task: HumanTask, data: dict) -> None:
        actor = (task.candidate_groups[0] if task.candidate_groups else "system").replace(":", ".")
        if actor == "leader.city":
            actor = "leader.mayor"
        with self.Session.begin() as s:
            inst = self.engine.complete_task(s, task.id, data, actor)
            if inst.status == "error":
                raise RuntimeError(f"case {inst.business_key}: {inst.error}")

    # -- one case ------------------------------------------------------------------
    def run_case(self, p: CasePlan, ent: dict) -> int:
        self.clock.set(_at(self.workday(p.day, 0), "09:00"))
        title = p.special.get("title") or random.Random(p.day.toordinal()).choice(TITLES[p.category])
        data = {
            "enterprise_name": ent["name"],
            "uscc": ent["uscc"],
            "contact": "王经理",
            "mobile": "13904210000",
            "county": p.county,
            "project": "",
            "category": p.category,
            "title": title,
            "description": f"{ent['name']}反映：{title}，影响项目进度，请求协调解决。",
            "help_wanted": "请协调有关部门尽快解决",
            "urgency": p.urgency,
        }
        with self.Session.begin() as s:
            inst = cases_mod.start_case(s, self.engine, data, actor="ent.history")
            iid, case_no = inst.id, inst.business_key
        assert case_no is not None  # start_case numbers every case
        lead, coop = units_for(p)
        state = {
            "visits": list(p.visits),
            "material": p.material_first,
            "late": p.overdue,
            "escalate": p.escalate,
            "day": self.clock.now(),
        }
        for _ in range(80):
            with self.Session() as s:
                status = s.get_one(Instance, iid).status
            if status != "running":
                return iid
            tasks = self.ready(iid)
            if not tasks:
                with self.Session() as s:
                    due = s.get_one(Instance, iid).next_timer_at
                if due is None:
                    raise RuntimeError(f"case {iid} waits for nothing")
                self.move(due + _dt.timedelta(minutes=1))
                continue
            if p.outcome == "open" and any(t.bpmn_id == "Task_draft" for t in tasks):
                return iid  # in handling at the end of the history
            if p.outcome == "withdrawn_message" and any(t.bpmn_id == "Task_draft" for t in tasks):
                self.clock.set(self.clock.now() + _dt.timedelta(hours=3))
                with self.Session.begin() as s:  # the enterprise withdraws while the unit handles it
                    cases_mod.deliver_case_message(
                        s, self.engine, case_no, "enterprise_withdraws", {"reason": "问题已自行解决"}, "ent.history"
                    )
                continue
            self.clock.set(self.clock.now() + _dt.timedelta(minutes=30))
            self.step(p, tasks[0], lead, coop, state)  # one at a time: a step may withdraw the others
        raise RuntimeError(f"case {iid} did not finish")

    def step(self, p: CasePlan, task: HumanTask, lead: str, coop: list[str], state: dict) -> None:
        b = task.bpmn_id
        today = to_china_date(self.clock.now())
        data: dict[str, Any]
        if b == "Task_intake":
            if p.outcome == "rejected":
                data = {"intake_decision": "reject", "intake_reason": "属于司法程序处理范围，不在直通车受理范围"}
            elif p.outcome == "withdrawn_timeout" or state["material"]:
                state["material"] = False
                data = {"intake_decision": "need_material", "material_request": "请补充项目备案文件"}
                if p.outcome != "withdrawn_timeout":
                    self.complete(task, data)
                    self.clock.set(self.clock.now() + _dt.timedelta(hours=20))
                    with self.Session.begin() as s:
                        number = s.get_one(Instance, task.instance_id).business_key
                        assert number is not None  # a case has its number
                        cases_mod.deliver_case_message(
                            s, self.engine, number, "material_supplied", {"files": ["备案文件.pdf"]}, "ent.history"
                        )
                    return
            else:
                data = {"intake_decision": "accept"}
        elif b == "Task_dispatch":
            data = {
                "dispatch_action": "dispatch",
                "lead_unit": lead,
                "coop_units": coop,
                "mode": p.mode,
                "category": p.category,
            }
        elif b in ("Task_draft", "Task_revise"):
            with self.Session() as s:
                deadline = stats.parse_dt(s.get_one(Instance, task.instance_id).summary.get("deadline"))
            if state["late"] and deadline is not None:
                state["late"] = False
                late = 4 if p.auto_escalate else 1
                self.move(_at(self.workday(to_china_date(deadline), late), "10:00"))
                return  # the tasks have changed (a supervision notice, maybe the leaders)
            day = self.workday(today, p.handling_days)
            if deadline is not None:
                day = min(day, to_china_date(deadline))
            self.move(_at(day, "10:00"))
            data = {"handling_result": "已协调办理完毕，问题已解决", "solved": True}
        elif b == "Task_coop":
            data = {"coop_agree": True, "coop_opinion_text": "同意牵头单位意见，已配合办理"}
        elif b == "Task_head_review":
            if state.get("escalate") and not p.auto_escalate:
                state["escalate_pending"] = state.pop("escalate")
                data = {"head_decision": "escalation", "head_reason": "涉及多个部门，需市领导协调"}
            else:
                data = {"head_decision": "submit"}
        elif b == "Task_notice":
            data = {
                "supervision_notice_no": f"督字〔{today.year}〕{task.instance_id}号",
                "supervision_content": "请于限期内办结并报送办理结果",
            }
        elif b == "Task_leader_decision":
            mode = state.pop("escalate_pending", None) or state.pop("escalate", None) or "专题会议"
            data = {"leader_mode": mode, "instruction": "请相关部门抓紧协调解决"}
            if mode == "签批督办":
                data["leader_deadline_days"] = 5
        elif b in ("Task_meeting", "Task_onsite"):
            due = self.workday(today, 3).isoformat()
            items = [{"content": "落实企业诉求", "unit": lead, "deadline": due}]
            items += [{"content": "配合做好相关工作", "unit": c, "deadline": due} for c in coop]
            if b == "Task_meeting":
                data = {
                    "meeting_date": today.isoformat(),
                    "attendees": ["市长", "有关部门负责人"],
                    "minutes": "会议研究了企业反映的问题，议定如下事项",
                    "decision_items": items,
                }
            else:
                data = {
                    "visit_date": today.isoformat(),
                    "location": "项目现场",
                    "attendees": ["市委书记", "有关部门负责人"],
                    "onsite_record": "现场办公，议定如下事项",
                    "decision_items": items,
                }
        elif b == "Task_item":
            self.move(_at(self.workday(today, 1), "10:00"))
            data = {"item_report": "已落实"}
        elif b == "Task_result_review":
            self.move(_at(self.workday(today, 1), "10:00"))
            data = {"review_decision": "accept"}
        elif b == "Task_visit":
            if not state["visits"]:
                with self.Session() as s:
                    timer_due = s.get_one(Instance, task.instance_id).next_timer_at
                assert timer_due is not None  # the visit waits on its timer
                self.move(timer_due + _dt.timedelta(minutes=1))  # nobody answers
                return
            answer = state["visits"].pop(0)
            data = {"satisfaction": answer, "visit_method": "phone", "visit_comment": "企业反馈意见"}
        elif b == "Task_dissatisfied":
            if p.outcome == "explained":
                data = {"dissatisfied_decision": "explain", "explanation": "企业诉求超出政策范围，已当面解释说明"}
            else:
                data = {"dissatisfied_decision": "reopen"}
        elif b == "Task_extension_review":
            data = {"extension_approved": True, "extension_days_granted": 3}
        else:
            raise RuntimeError(f"no rule for task {b} ({task.name})")
        self.complete(task, data)

    # -- bulletins, weekly reports, records ----------------------------------------
    def run_bulletin(self, series: str, day: _dt.date, title: str, period: stats.Period, returned: bool) -> None:
        self.clock.set(_at(day, "09:30"))
        with self.Session.begin() as s:
            picked = list(
                s.scalars(
                    select(stats.CaseRecord.instance_id)
                    .where(
                        stats.CaseRecord.escalated == True,  # noqa: E712
                        stats.between(stats.CaseRecord.received_at, period),
                    )
                    .limit(5)
                )
            )
            bulletin = bulletins_mod.compose(
                s, self.engine, series=series, title=title, period=period, case_ids=picked, actor="wg.city"
            )
            iid = bulletin.instance_id
        assert iid is not None  # compose starts the bulletin's process
        for answer in (["return"] if returned else []) + ["approve"]:
            (compose,) = self.ready(iid)
            self.complete(compose, {"body": f"{title}。本期汇总了直通车受理、办理和企业满意情况，请领导阅示。"})
            self.clock.set(self.clock.now() + _dt.timedelta(hours=3))
            (sign,) = self.ready(iid)
            data: dict[str, Any] = {"signoff_decision": answer}
            if answer == "return":
                data["leader_comment"] = "请补充重点项目进展情况"
            self.complete(sign, data)

    def run_weekly(self, fridays: list[_dt.date]) -> None:
        """One report per Friday, each an instance its timer start event starts (engine/timerstart.py)."""
        from engine import timerstart

        self.clock.set(_at(fridays[0] - _dt.timedelta(days=3), "09:00"))
        timerstart.start_all_due(self.Session, self.engine)  # the schedule: next Friday 09:00
        rng = random.Random(33)
        for n, friday in enumerate(fridays, start=1):
            self.move(_at(friday, "09:01"))
            (iid,) = timerstart.start_all_due(self.Session, self.engine)
            for task in self.ready(iid):
                self.complete(
                    task,
                    {
                        "enterprises_contacted": rng.randrange(0, 6),
                        "coordinations": rng.randrange(0, 8),
                        "problems_solved": rng.randrange(0, 4),
                        "projects_signed": rng.randrange(0, 2),
                        "investment_wan_yuan": float(rng.randrange(0, 5000)),
                    },
                )
            (publish,) = self.ready(iid)
            self.clock.set(_at(friday, "16:00"))
            self.complete(publish, {"issue_no": n, "compile_summary": f"第{n}期周报综述"})


def generate(
    Session: sessionmaker[Session],
    engine: Engine,
    clock: FakeClock,
    end: _dt.date | None = None,
    log: Callable[[str], None] | None = None,
    seed: int = 2019,
) -> dict:
    """Generate the whole history (processes must be deployed). Returns what was made."""
    log = log or (lambda _m: None)
    end = end or to_china_date(clock.now())
    runner = Runner(Session, engine, clock, log)
    rng = random.Random(seed)
    plans = plan(end, seed)
    enterprises = make_enterprises(rng, 236)
    for i, p in enumerate(sorted(plans, key=lambda q: q.day)):
        runner.run_case(p, enterprises[p.enterprise])
        if (i + 1) % 25 == 0:
            log(f"{i + 1} cases")
    stats.fold_due(Session)  # (the worker's pass) a bulletin freezes the figures of its period
    # bulletins: the 直通车专报 roughly monthly from 2019-10, the others later and rarer
    for series, count, first in (
        ("ztc", 78, _dt.date(2019, 10, 8)),
        ("key_project", 15, _dt.date(2021, 3, 1)),
        ("six_batches", 9, _dt.date(2022, 4, 1)),
    ):
        last = end - _dt.timedelta(days=20)
        step = (last - first).days / count
        for n in range(count):
            day = runner.workday(first + _dt.timedelta(days=int(n * step)), 0)
            period = stats.Period(day - _dt.timedelta(days=int(step)), day - _dt.timedelta(days=1))
            name = bulletins_mod.SERIES[series]
            runner.run_bulletin(series, day, f"{name}（{day.year}年{day.month}月）", period, returned=n % 11 == 3)
    log("102 bulletins")
    first_friday = end - _dt.timedelta(days=(end.weekday() - 4) % 7 or 7) - _dt.timedelta(weeks=32)
    runner.run_weekly([first_friday + _dt.timedelta(weeks=k) for k in range(33)])
    log("33 weekly reports")
    with Session.begin() as s:
        for n in range(48):
            county = COUNTIES[n % 8]
            s.add(
                WorkRecord(
                    kind="park_file",
                    title=f"重点产业园档案第{n + 1}号",
                    county=county,
                    occurred_on=START + _dt.timedelta(days=30 + n * 40),
                    data={},
                    created_by="wg.city",
                )
            )
        for n in range(27):
            s.add(
                WorkRecord(
                    kind="research_visit",
                    title=f"赴{['双塔区', '龙城区', '北票市', '凌源市', '朝阳县', '建平县', '喀左县'][n % 7]}调研企业",
                    county=COUNTIES[1 + n % 7],
                    occurred_on=START + _dt.timedelta(days=20 + n * 95),
                    data={"enterprises": rng.randrange(3, 12)},
                    created_by="wg.city",
                )
            )
    with Session.begin() as s:  # the history's messages went out at their time: a worker started
        # on this database sends only the last week's (not thousands of years-old reminders)
        s.execute(
            update(Notification)
            .where(Notification.status == "pending", Notification.created_at < _at(end - HISTORY_SENT, "00:00"))
            .values(status="sent", sent_at=Notification.created_at)
        )
    runner.clock.set(_at(end, "09:00") if _at(end, "09:00") > clock.now() else clock.now())
    runner.fire_due()
    return {"cases": len(plans), "bulletins": 102, "weekly_reports": 33, "park_files": 48, "research_visits": 27}
