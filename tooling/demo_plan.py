"""The plan of the demo history (tooling/demo_history.py): the article's figures, the
enterprises, and what happens to each of the 300 cases — its day, county, category, units,
outcome and the harder paths (red cards, escalation, reopened visits). Pure data, drawn from a
seeded ``random.Random``; nothing here touches the database or runs a process.

The figures follow from the plan, not from tuning afterwards:
  257 problems solved        = 257 cases closed with outcome ``solved``
  236 enterprises contacted  = 236 distinct USCCs among the 300 cases
  395 department coordinations = 280 dispatched cases × 1 lead unit + 115 cooperating units
  78 / 15 / 9 bulletins      = issues signed off per series
  33 weekly reports, 48 park files, 27 research visits.
"""

from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass, field

from engine.forms import uscc_check_digit

ARTICLE = {
    "ztc": 78,
    "key_project": 15,
    "six_batches": 9,
    "weekly_report": 33,
    "park_file": 48,
    "research_visit": 27,
    "enterprises": 236,
    "coordinations": 395,
    "solved": 257,
}
START = _dt.date(2019, 9, 2)
COUNTIES = ["city", "shuangta", "longcheng", "beipiao", "lingyuan", "chaoyangxian", "jianping", "kazuo"]
CATEGORY_UNITS = {  # category → (lead unit, possible cooperating units)
    "土地批复": ("zrzyj", ["fgw", "zjj"]),
    "门牌备案": ("gaj", ["zjj", "zrzyj"]),
    "要素保障": ("fgw", ["gdgs", "zrzyj", "rsj"]),
    "环评手续": ("sthjj", ["fgw", "zrzyj"]),
    "设计变更": ("zjj", ["zrzyj", "fgw"]),
    "融资贷款": ("jrfzj", ["gxj", "fgw"]),
    "项目推进": ("fgw", ["gxj", "zrzyj", "yshj"]),
    "其他": ("yshj", ["gxj", "rsj"]),
}
CATEGORY_WEIGHTS = [22, 6, 20, 12, 8, 12, 16, 4]
PLACES = [
    "华信",
    "燕都",
    "龙腾",
    "北方",
    "辽西",
    "凌河",
    "大凌河",
    "三燕",
    "红山",
    "牛河梁",
    "鑫奥",
    "柏慧",
    "韩伟",
    "金达",
    "宏远",
    "盛源",
    "德隆",
    "恒泰",
    "泰和",
    "天成",
    "瑞丰",
    "安泰",
    "新华",
    "长城",
]
TRADES = [
    ("新材料", "科技"),
    ("食品", "有限"),
    ("健身器材", "制造"),
    ("蛋业", "发展"),
    ("光伏", "能源"),
    ("汽车零部件", "制造"),
    ("农产品", "加工"),
    ("医药", "科技"),
    ("建材", "实业"),
    ("物流", "服务"),
    ("钢铁", "实业"),
    ("电子", "科技"),
    ("文旅", "发展"),
    ("化工", "科技"),
    ("装备", "制造"),
    ("风电", "能源"),
]
TITLES = {
    "土地批复": ["项目用地批复尚未下达", "二期用地报批进度缓慢", "工业用地指标不足"],
    "门牌备案": ["新建厂区门牌编号备案", "办公楼门牌号码申请"],
    "要素保障": ["施工用电增容迟迟未落实", "厂区供水管网未接入", "用工缺口较大需协调", "天然气管线接入受阻"],
    "环评手续": ["环评批复办理时间长", "排污许可证延续办理"],
    "设计变更": ["厂房设计变更审批", "规划条件调整审批"],
    "融资贷款": ["流动资金贷款到期续贷困难", "技改项目融资需求", "中小企业担保贷款"],
    "项目推进": ["项目开工前置手续多", "重点项目施工许可办理", "项目配套道路未建成"],
    "其他": ["企业人才公寓申请", "出口退税进度咨询"],
}


@dataclass
class CasePlan:
    """What happens to one case."""

    day: _dt.date
    enterprise: int  # index into the enterprise list
    county: str
    category: str
    urgency: str = "一般"
    outcome: str = "solved"  # solved | rejected | withdrawn_timeout | withdrawn_message | explained | no_answer | open
    coop: list[str] = field(default_factory=list)
    mode: str = "快速办"
    handling_days: int = 1  # working days the unit takes
    overdue: bool = False  # the unit misses the deadline (red card); city cases only
    auto_escalate: bool = False  # so late that it escalates by itself
    escalate: str | None = None  # the unit head asks for escalation; the leaders choose this mode
    visits: list[str] = field(default_factory=lambda: ["满意"])  # return-visit answers in order
    material_first: bool = False  # the WG asks for material first; it comes
    special: dict = field(default_factory=dict)


def make_enterprises(rng: random.Random, n: int) -> list[dict]:
    """``n`` enterprises with distinct names and valid USCCs; the last is the article's 柏慧燕都食品."""
    out: list[dict[str, str]] = []
    names: set[str] = set()
    while len(out) < n:
        place, (trade, kind) = rng.choice(PLACES), rng.choice(TRADES)
        name = (
            f"朝阳{place}{trade}{'科技' if kind == '科技' else ''}有限公司"
            if rng.random() < 0.5
            else f"辽宁{place}{trade}有限公司"
        )
        if name in names:
            name = name.replace("有限公司", f"{len(out) % 9 + 1}号项目有限公司")
        if name in names:
            continue
        names.add(name)
        body = f"91211300MA{len(out) + 1:07d}"
        out.append({"name": name, "uscc": body + uscc_check_digit(body)})
    out[-1] = {"name": "辽宁柏慧燕都食品有限公司", "uscc": out[-1]["uscc"]}
    return out


def plan(end: _dt.date, seed: int = 2019) -> list[CasePlan]:
    """300 cases from 2019-09 to ``end``: 257 solved, 15 rejected, 8 withdrawn, 6 closed with an
    explanation, 4 without a return-visit answer, 10 still open at ``end``."""
    rng = random.Random(seed)
    outcomes = (
        ["solved"] * 257
        + ["rejected"] * 15
        + ["withdrawn_timeout"] * 5
        + ["withdrawn_message"] * 3
        + ["explained"] * 6
        + ["no_answer"] * 4
    )
    rng.shuffle(outcomes)
    closed_end = end - _dt.timedelta(days=45)
    span = (closed_end - START).days
    days = sorted(START + _dt.timedelta(days=rng.randrange(span)) for _ in outcomes)
    open_days = sorted(end - _dt.timedelta(days=rng.randrange(2, 14)) for _ in range(10))
    # the article's case: the 257th problem solved, a special meeting for 柏慧燕都食品
    last_solved = max(i for i, o in enumerate(outcomes) if o == "solved")
    # exactly 236 distinct enterprises: 0..234 at least once each (+64 repeat visits), 235 for the article's case
    enterprises_of = list(range(235)) + [rng.randrange(235) for _ in range(64)]
    rng.shuffle(enterprises_of)
    enterprises_of.insert(last_solved, 235)
    plans: list[CasePlan] = []
    for i, (outcome, day) in enumerate(zip(outcomes + ["open"] * 10, days + open_days)):
        category = rng.choices(list(CATEGORY_UNITS), CATEGORY_WEIGHTS)[0]
        county = rng.choices(COUNTIES, [30, 10, 10, 8, 8, 8, 14, 12])[0]
        plans.append(
            CasePlan(
                day=day,
                enterprise=enterprises_of[i],
                county=county,
                category=category,
                urgency=rng.choices(["一般", "紧急", "特急"], [60, 30, 10])[0],
                outcome=outcome,
                mode=rng.choices(["马上办", "快速办", "监督办"], [30, 50, 20])[0],
                handling_days=rng.choice([1, 1, 2, 2, 3]),
                material_first=rng.random() < 0.05,
            )
        )
    special = plans[last_solved]
    special.county, special.category, special.escalate = "city", "项目推进", "专题会议"
    special.special = {"title": "二期建设项目推进受阻", "lead": "fgw", "coop": ["zrzyj"]}
    dispatched = [p for p in plans if p.outcome in ("solved", "explained", "no_answer", "open", "withdrawn_message")]
    # 115 cooperating-unit assignments over the 280 dispatched cases
    coop_total = ARTICLE["coordinations"] - len(dispatched)
    fixed = sum(len(p.special.get("coop", [])) for p in dispatched)
    candidates = [p for p in dispatched if not p.special]
    for p in rng.sample(candidates, coop_total - fixed):
        p.coop = [rng.choice(CATEGORY_UNITS[p.category][1])]
    for p in dispatched:
        if p.special:
            p.coop = list(p.special["coop"])
    # harder paths, on city-level cases that end solved
    city_solved = [p for p in plans if p.outcome == "solved" and p.county == "city" and not p.special]
    rng.shuffle(city_solved)
    for p in city_solved[:6]:
        p.overdue = True
    for p in city_solved[6:9]:
        p.overdue = p.auto_escalate = True
    for p, mode in zip(city_solved[9:40], ["签批督办"] * 17 + ["专题会议"] * 8 + ["现场办公"] * 6):
        p.escalate = mode
    for p in city_solved[40:50]:
        p.visits = ["不满意", "满意"]  # reopened once, then satisfied
    for p in plans:
        if p.outcome == "explained":
            p.visits = ["不满意"]
        elif p.outcome == "no_answer":
            p.visits = []
        elif p.outcome == "solved" and p.visits == ["满意"]:
            p.visits = [rng.choices(["满意", "基本满意"], [80, 20])[0]]
    return plans


def units_for(p: CasePlan) -> tuple[str, list[str]]:
    """The lead unit and cooperating units of a case, as group codes (county units prefixed)."""
    lead = p.special.get("lead") or CATEGORY_UNITS[p.category][0]
    prefix = "" if p.county == "city" else p.county + "."
    return prefix + lead, [prefix + c for c in p.coop]
