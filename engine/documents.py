"""Printable documents of a case (A4, Chinese): 交办单 (from 分级交办), 督办单 (from 签发督办单)
and 会议纪要 with its decision items (from 专题会议纪要), as PDF (WeasyPrint) and DOCX
(python-docx on A4, like the 专报 in engine/bulletin_document.py; shared helpers in engine/printing.py).

A document is built from what was submitted at its step — the ``complete`` rows of the case's
history (audit_entry), which keep every round's answers although the task tree is compacted —
and the case's summary (deadline, units). Who may download is the caller's business (the case
page: people who can see the case).
"""

from __future__ import annotations

import datetime as _dt
import html
from dataclasses import dataclass, field

from sqlalchemy import ScalarResult, select
from sqlalchemy.orm import Session

from .models import AuditEntry, Instance
from .names import Directory
from .printing import PDF_CSS, display_name, docx_bytes, html_to_pdf, new_docx, paragraph, table
from .workdays import CHINA

# step (task bpmn id) → (document kind, title)
KINDS = {
    "Task_dispatch": ("dispatch", "交办单"),
    "Task_notice": ("supervision", "督办单"),
    "Task_meeting": ("minutes", "会议纪要"),
}


@dataclass
class DocumentRef:
    entry_id: int  # the audit row it is made from: the document's id in URLs
    kind: str
    title: str
    at: _dt.datetime


@dataclass
class CaseDocument:
    title: str
    number: str
    issuer: str
    date: str
    fields: list[tuple[str, str]]
    paragraphs: list[str] = field(default_factory=list)
    table_title: str = ""
    table: list[list[str]] = field(default_factory=list)  # first row: the header
    footer: str = ""


def _entries(session: Session, instance: Instance) -> ScalarResult[AuditEntry]:
    return session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.instance_id == instance.id,
            AuditEntry.action == "complete",
            AuditEntry.task_bpmn_id.in_(list(KINDS)),
        )
        .order_by(AuditEntry.id)
    )


def available(session: Session, instance: Instance) -> list[DocumentRef]:
    """The documents the case has, in the order their steps were done (a dispatch that passed
    the case up instead of dispatching it makes none)."""
    refs = []
    for entry in _entries(session, instance):
        data = entry.data or {}
        if entry.task_bpmn_id == "Task_dispatch" and data.get("dispatch_action", "dispatch") != "dispatch":
            continue
        kind, title = KINDS[entry.task_bpmn_id or ""]  # (the query keeps rows of KINDS only)
        refs.append(DocumentRef(entry.id, kind, title, entry.at))
    return refs


def _day(value: object) -> str:
    if isinstance(value, str):
        text = value
        try:
            value = _dt.datetime.fromisoformat(text) if "T" in text else _dt.date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, _dt.datetime):
        value = value.astimezone(CHINA).date()
    return f"{value.year}年{value.month}月{value.day}日" if isinstance(value, _dt.date) else ""


def build(session: Session, instance: Instance, entry_id: int, directory: Directory) -> CaseDocument | None:
    """The document made from audit row ``entry_id`` of this case, or None."""
    entry = session.get(AuditEntry, entry_id)
    if (
        entry is None
        or entry.instance_id != instance.id
        or entry.action != "complete"
        or entry.task_bpmn_id not in KINDS
    ):
        return None
    data, s = entry.data or {}, instance.summary or {}
    who = display_name(session, entry.actor)
    unit, units = directory.unit_name, (lambda codes: "、".join(directory.unit_name(c) for c in codes or []))
    county = s.get("county") or "city"
    issuer = "朝阳市书记市长直通车工作组" if county == "city" else f"{directory.county_name(county)}直通车工作组"
    case_no = s.get("case_no") or instance.business_key or str(instance.id)
    base = [
        ("案件编号", case_no),
        ("企业名称", str(s.get("enterprise_name") or "")),
        ("诉求事项", str(s.get("title") or "")),
    ]
    kind = KINDS[entry.task_bpmn_id][0]
    if kind == "dispatch":
        lead = data.get("lead_unit") or s.get("lead_unit")
        fields = base + [
            ("问题类别", str(data.get("category") or s.get("category") or "")),
            ("牵头单位", unit(lead) if lead else ""),
            ("配合单位", units(data.get("coop_units", s.get("coop_units"))) or "无"),
            ("办理方式", str(data.get("mode") or s.get("mode") or "")),
            ("办理时限", _day(s.get("deadline")) if s.get("deadline") else "按规定时限"),
        ]
        note = str(data.get("dispatch_note") or "")
        return CaseDocument(
            "交办单",
            f"直通车交〔{entry.at.astimezone(CHINA).year}〕{case_no}",
            issuer,
            _day(entry.at),
            fields,
            ([f"交办意见：{note}"] if note else [])
            + ["请牵头单位会同配合单位在办理时限内办结，并通过直通车系统报送办理结果。"],
            footer=f"交办人：{who}",
        )
    if kind == "supervision":
        lead = s.get("lead_unit")
        fields = base + [
            ("责任单位", unit(lead) if lead else ""),
            ("原办理时限", _day(s.get("deadline"))),
            ("限期回复", f"{data.get('reply_days')}个工作日内" if data.get("reply_days") else ""),
        ]
        return CaseDocument(
            "督办单",
            str(data.get("supervision_notice_no") or ""),
            issuer,
            _day(entry.at),
            fields,
            [
                f"督办事项：{data.get('supervision_content') or ''}",
                "该案件已超过办理时限仍未办结，请责任单位主要负责人亲自督促，限期办结并书面回复。",
            ],
            footer=f"签发人：{who}",
        )
    items = data.get("decision_items") or []
    table = [["序号", "议定事项", "责任单位", "完成期限"]] + [
        [str(i), str(it.get("content", "")), unit(it.get("unit")) if it.get("unit") else "", _day(it.get("deadline"))]
        for i, it in enumerate(items, start=1)
    ]
    fields = base + [
        ("会议日期", _day(data.get("meeting_date"))),
        ("参会人员", "、".join(str(a) for a in data.get("attendees") or [])),
        ("领导批示", str(s.get("leader_instruction") or "")),
    ]
    paragraphs = [line for line in str(data.get("minutes") or "").splitlines() if line.strip()]
    return CaseDocument(
        "专题会议纪要",
        f"第{sum(1 for r in available(session, instance) if r.kind == 'minutes' and r.entry_id <= entry.id)}次",
        issuer,
        _day(data.get("meeting_date")) or _day(entry.at),
        fields,
        paragraphs,
        "议定事项",
        table,
        footer=f"记录人：{who}",
    )


def render_html(doc: CaseDocument) -> str:
    e = html.escape
    parts = [
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(doc.title)}</title>'
        f"<style>{PDF_CSS}</style></head><body>",
        f'<p class="series">{e(doc.title)}</p>',
        f'<p class="number">{e(doc.number)}</p>',
        f'<p class="issuer">{e(doc.issuer)}　　　　{e(doc.date)}</p>',
        '<table class="fields">',
    ]
    parts += [f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in doc.fields]
    parts.append("</table>")
    parts += [f'<p class="body">{e(p)}</p>' for p in doc.paragraphs]
    if doc.table:
        parts.append(f"<h2>{e(doc.table_title)}</h2><table>")
        parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in doc.table[0]) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in doc.table[1:]]
        parts.append("</table>")
    if doc.footer:
        parts.append(f'<p class="signed">{e(doc.footer)}</p>')
    parts.append("</body></html>")
    return "".join(parts)


def render_pdf(doc: CaseDocument) -> bytes:
    return html_to_pdf(render_html(doc))


def render_docx(doc: CaseDocument) -> bytes:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    d = new_docx()
    paragraph(d, doc.title, 24, True, WD_ALIGN_PARAGRAPH.CENTER, "黑体", "C00000")
    paragraph(d, doc.number, 14, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph(d, f"{doc.issuer}　　　　{doc.date}", 12, align=WD_ALIGN_PARAGRAPH.CENTER)
    table(d, [[label, value] for label, value in doc.fields])
    for p in doc.paragraphs:
        paragraph(d, p, 14, font="仿宋")
    if doc.table:
        paragraph(d, doc.table_title, 14, True, font="黑体")
        table(d, doc.table, header=True)
    if doc.footer:
        paragraph(d, doc.footer, 12, align=WD_ALIGN_PARAGRAPH.RIGHT)
    return docx_bytes(d)
