"""Excel workbooks (openpyxl) of case lists, the dashboard's figures and the unit assessment.

Every cell goes through ``cell_value``: text a spreadsheet could take for a formula (starting
with ``= + - @``, a tab or a carriage return — an enterprise's title ``=cmd|' /C calc'!A0``)
is written as text with a leading apostrophe (OWASP "CSV injection"), and values that are not
numbers, dates or text (lists, dicts from a process's summary) are written as their text.
Dates and times are real date cells (Beijing time, formatted ``yyyy-mm-dd hh:mm``), not text.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .names import Directory
from .stats import LEADER_MODES, Dashboard, UnitScore
from .workdays import CHINA

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
BOLD = Font(bold=True)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(value: Any) -> Any:
    """What is written into a cell: numbers, dates and booleans as they are, everything else
    as text that no spreadsheet evaluates."""
    if isinstance(value, _dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(CHINA).replace(tzinfo=None)  # Excel has no time zones: Beijing time
    elif isinstance(value, _dt.time) and value.tzinfo is not None:
        value = value.isoformat()
    if value is None or isinstance(value, (bool, int, float, Decimal, _dt.date, _dt.datetime, _dt.time)):
        return value
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict)) else str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _sheet(
    wb: Workbook,
    title: str,
    header: list[str],
    rows: Iterable[Sequence[Any]],
    widths: list[int] | None = None,
    first: bool = False,
) -> Worksheet:
    ws = wb.active if first else wb.create_sheet()
    assert isinstance(ws, Worksheet)  # a new workbook's first sheet, or one just added
    ws.title = title
    ws.append([cell_value(h) for h in header])
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, Alignment(horizontal="center")
    for row in rows:
        ws.append([cell_value(v) for v in row])
        for cell in ws[ws.max_row]:  # real date cells (sortable, filterable), shown as dates
            if isinstance(cell.value, _dt.datetime):
                cell.number_format = DATETIME_FORMAT
            elif isinstance(cell.value, _dt.date):
                cell.number_format = DATE_FORMAT
    for i, width in enumerate(widths or [16] * len(header), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    return ws


def _bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def cases_workbook(rows: list[dict[str, Any]]) -> bytes:
    """rows: dicts with the keys below (built by the caller from ``case_record`` + summary)."""
    wb = Workbook()
    header = [
        "案件编号",
        "企业",
        "统一社会信用代码",
        "标题",
        "类别",
        "县（市）区",
        "层级",
        "紧急程度",
        "办理方式",
        "牵头单位",
        "配合单位",
        "状态",
        "结果",
        "受理时间",
        "办结时间",
        "办理时限",
        "曾超期",
        "领导督办方式",
        "满意度",
        "重办次数",
        "办结用时（工作日）",
    ]
    keys = [
        "case_no",
        "enterprise",
        "uscc",
        "title",
        "category",
        "county",
        "level",
        "urgency",
        "mode",
        "lead_unit",
        "coop_units",
        "status",
        "outcome",
        "received_at",
        "closed_at",
        "deadline",
        "ever_overdue",
        "leader_mode",
        "satisfaction",
        "reopen_count",
        "workdays_to_close",
    ]
    _sheet(
        wb,
        "案件清单",
        header,
        ([r.get(k) for k in keys] for r in rows),
        [16, 30, 22, 30, 10, 10, 8, 8, 8, 18, 24, 10, 10, 18, 18, 18, 8, 10, 10, 8, 10],
        first=True,
    )
    return _bytes(wb)


OUTCOME_LABELS = {
    "solved": "已解决",
    "rejected": "不予受理",
    "withdrawn": "已撤回",
    "explained": "说明后办结",
    "no_answer": "未回访成功",
}


def dashboard_workbook(board: Dashboard, names: Directory) -> bytes:
    """names: an object with ``county_name`` and ``unit_name`` (engine.names.Directory)."""
    t, r = board.totals, board.rates
    wb = Workbook()
    period = f"{board.period.start or '开通以来'} 至 {board.period.end or '今'}"
    figures = [
        ("统计期间", period),
        ("县（市）区", names.county_name(board.county) if board.county else "全部"),
        ("受理诉求（件）", t["received"]),
        ("已受理（件）", t["accepted"]),
        ("不予受理（件）", t["rejected"]),
        ("已撤回（件）", t["withdrawn"]),
        ("办理中（件）", t["open"]),
        ("解决难题（件）", t["solved"]),
        ("曾超期（件）", t["overdue"]),
        ("当前超期（件）", t["overdue_now"]),
        ("按期办结率（%）", _pct(r["on_time"])),
        ("平均办结用时（工作日）", r["workdays_to_close"]),
        ("满意率（%）", _pct(r["satisfaction"])),
        ("重办率（%）", _pct(r["reopen"])),
        ("沟通企业（家）", t["enterprises"]),
        ("协调部门（次）", t["coordinations"]),
        *[(f"{m}（件）", board.leader_modes[m]) for m in LEADER_MODES],
        *[(f"《{b['name']}》（期）", b["issued"]) for b in board.bulletins.values()],
        ("《“1+7”招商机制周报》（期）", board.records.get("weekly_report", 0)),
        ("重点产业园档案（个）", board.records.get("park_file", 0)),
        ("开展调研（次）", board.records.get("research_visit", 0)),
    ]
    _sheet(wb, "总体情况", ["指标", "数值"], figures, [34, 20], first=True)
    _sheet(wb, "按类别", ["类别", "受理（件）"], board.by_category.items(), [20, 12])
    _sheet(
        wb,
        "按县区",
        ["县（市）区", "受理（件）"],
        ((names.county_name(k), v) for k, v in board.by_county.items()),
        [20, 12],
    )
    _sheet(wb, "按办理方式", ["办理方式", "交办（件）"], board.by_mode.items(), [20, 12])
    _sheet(
        wb,
        "按牵头单位",
        ["牵头单位", "交办（件）"],
        ((names.unit_name(k), v) for k, v in board.by_unit.items()),
        [28, 12],
    )
    return _bytes(wb)


def assessment_workbook(scores: list[UnitScore], names: Directory, title: str = "单位考核") -> bytes:
    wb = Workbook()
    rows = (
        [
            s.rank,
            names.unit_name(s.unit),
            s.closed,
            s.on_time,
            _pct(s.on_time_rate),
            s.sat_answered,
            s.sat_good,
            _pct(s.satisfaction_rate),
            s.received,
            s.overdue,
            s.coordinations,
        ]
        for s in scores
    )
    _sheet(
        wb,
        title[:31],
        [
            "名次",
            "单位",
            "办结（件）",
            "按期办结（件）",
            "按期办结率（%）",
            "回访（件）",
            "满意及基本满意（件）",
            "满意率（%）",
            "牵头受理（件）",
            "超期（件）",
            "协调次数",
        ],
        rows,
        [6, 28, 10, 12, 14, 10, 18, 10, 12, 10, 10],
        first=True,
    )
    return _bytes(wb)
