"""The document of a 专报 issue: what it shows (``Document``, built by ``document`` from the
bulletin's row, its cases and its frozen figures) and its renderings — DOCX, HTML and PDF, written
with the helpers shared with a case's documents (engine/printing.py).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .bulletins import STATUS_LABELS
from .models import Bulletin, BulletinSeries, CaseRecord, Instance
from .names import Directory
from .printing import PDF_CSS, display_name, docx_bytes, html_to_pdf, new_docx, paragraph, table
from .workdays import to_china_date


@dataclass
class Document:
    """What both renderings show, in order."""

    series_name: str
    number: int
    title: str
    issuer: str
    date: str
    status: str
    period: str
    body: str
    figures: list[tuple[str, str]]
    cases: list[dict[str, Any]]
    signed: str
    instruction: str = ""  # the signing leader's 批示

    @property
    def number_line(self) -> str:
        return f"第{self.number}期"


FIGURE_LABELS = [
    ("received", "受理诉求（件）"),
    ("accepted", "已受理（件）"),
    ("open", "办理中（件）"),
    ("solved", "解决难题（件）"),
    ("overdue", "超期（件）"),
    ("enterprises", "沟通企业（家）"),
    ("coordinations", "协调部门（次）"),
]


def document(session: Session, bulletin: Bulletin, directory: Directory | None = None) -> Document:
    series_row = session.get(BulletinSeries, bulletin.series)
    series_name = series_row.name if series_row else bulletin.series
    rows = {
        r.instance_id: r
        for r in session.scalars(
            select(CaseRecord).where(CaseRecord.instance_id.in_(list(bulletin.case_ids or []) or [-1]))
        )
    }
    titles = {
        i.id: (i.summary or {}) for i in session.scalars(select(Instance).where(Instance.id.in_(list(rows) or [-1])))
    }
    cases: list[dict[str, Any]] = []
    for cid in bulletin.case_ids or []:
        r = rows.get(cid)
        if r is None:
            continue
        s = titles.get(cid, {})
        unit = directory.unit_name(r.lead_unit) if directory and r.lead_unit else (r.lead_unit or "")
        county = directory.county_name(r.county) if directory else (r.county or "")
        cases.append(
            {
                "case_no": r.case_no,
                "enterprise": r.enterprise_name or "",
                "title": s.get("title", ""),
                "category": r.category or "",
                "county": county,
                "unit": unit,
                "status": r.status or "",
                "leader_mode": r.leader_mode or "",
                "instruction": str(s.get("leader_instruction") or ""),
            }
        )
    figures = bulletin.figures or {}
    totals = figures.get("totals", {})
    rates = figures.get("rates", {})
    figure_rows = [(label, str(totals.get(key, 0))) for key, label in FIGURE_LABELS]
    if "awaiting_intake" in totals:  # 办理中 counts accepted open cases; those still at intake apart
        waiting = int(totals["awaiting_intake"] or 0)
        at = [k for k, _ in FIGURE_LABELS].index("open")
        figure_rows[at] = ("办理中（件）", str(int(totals.get("open", 0)) - waiting))
        figure_rows.insert(at + 1, ("待受理（受理审查或补充材料中，件）", str(waiting)))
    if rates.get("on_time") is not None:
        figure_rows.append(("按期办结率", f"{rates['on_time'] * 100:.1f}%"))
    if rates.get("satisfaction") is not None:
        figure_rows.append(("满意率", f"{rates['satisfaction'] * 100:.1f}%"))
    day = to_china_date(bulletin.issued_at or bulletin.created_at)
    period = ""
    if bulletin.period_from or bulletin.period_to:
        period = f"{bulletin.period_from or ''} 至 {bulletin.period_to or ''}"
    issuer = "朝阳市书记市长直通车工作组"
    if directory and bulletin.county != "city":
        issuer = f"{directory.county_name(bulletin.county)}直通车工作组"
    return Document(
        series_name=series_name,
        number=bulletin.number,
        title=bulletin.title,
        issuer=issuer,
        date=f"{day.year}年{day.month}月{day.day}日",
        status=STATUS_LABELS.get(bulletin.status, ""),
        period=period,
        body=bulletin.body or "",
        figures=figure_rows,
        cases=cases,
        signed=f"审签：{display_name(session, bulletin.signed_by)}" if bulletin.signed_by else "",
        instruction=bulletin.leader_comment or "",
    )


def render_docx(doc: Document) -> bytes:
    """The issue as a Word document; every run carries an East Asian font (宋体/黑体)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    d = new_docx(12)
    paragraph(d, doc.series_name, 26, True, WD_ALIGN_PARAGRAPH.CENTER, "黑体", "C00000")
    number = doc.number_line + ("" if doc.status == "已印发" else f"（{doc.status}）")
    paragraph(d, number, 14, False, WD_ALIGN_PARAGRAPH.CENTER)
    paragraph(d, f"{doc.issuer}　　　　{doc.date}", 12, False, WD_ALIGN_PARAGRAPH.CENTER)
    if doc.instruction:
        paragraph(d, f"领导批示：{doc.instruction}", 14, font="楷体")
    paragraph(d, doc.title, 18, True, WD_ALIGN_PARAGRAPH.CENTER, "黑体")
    if doc.period:
        paragraph(d, f"统计期间：{doc.period}", 12)
    for line in (doc.body or "").splitlines() or [""]:
        if line.strip():
            paragraph(d, line, 14, font="仿宋")
    paragraph(d, "一、本期统计", 14, True, font="黑体")
    table(d, [("指标", "数值"), *doc.figures], header=True)
    paragraph(d, "二、提请领导关注的案件", 14, True, font="黑体")
    if doc.cases:
        header = ("案件编号", "企业", "诉求", "牵头单位", "状态", "领导批示")
        rows = [
            (
                c["case_no"],
                c["enterprise"],
                f"【{c['category']}】{c['title']}",
                c["unit"],
                c["status"] + (f"（{c['leader_mode']}）" if c["leader_mode"] else ""),
                c.get("instruction", ""),
            )
            for c in doc.cases
        ]
        table(d, [header, *rows], header=True)
    else:
        paragraph(d, "本期无。", 12)
    if doc.signed:
        paragraph(d, doc.signed, 12, align=WD_ALIGN_PARAGRAPH.RIGHT)
    return docx_bytes(d)


def render_html(doc: Document) -> str:
    e = html.escape
    parts = [
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(doc.series_name)} '
        f"{e(doc.number_line)}</title><style>{PDF_CSS}</style></head><body>",
        f'<p class="series">{e(doc.series_name)}</p>',
        f'<p class="number">{e(doc.number_line)}{"" if doc.status == "已印发" else "（" + e(doc.status) + "）"}</p>',
        f'<p class="issuer">{e(doc.issuer)}　　　　{e(doc.date)}</p>',
    ]
    if doc.instruction:
        parts.append(f'<p class="instruction">领导批示：{e(doc.instruction)}</p>')
    parts.append(f"<h1>{e(doc.title)}</h1>")
    if doc.period:
        parts.append(f"<p>统计期间：{e(doc.period)}</p>")
    parts += [f'<p class="body">{e(line)}</p>' for line in (doc.body or "").splitlines() if line.strip()]
    parts.append("<h2>一、本期统计</h2><table><tr><th>指标</th><th>数值</th></tr>")
    parts += [f"<tr><td>{e(label)}</td><td>{e(value)}</td></tr>" for label, value in doc.figures]
    parts.append("</table><h2>二、提请领导关注的案件</h2>")
    if doc.cases:
        parts.append(
            '<table class="cases"><colgroup><col style="width:15%"><col style="width:19%"><col style="width:22%">'
            '<col style="width:13%"><col style="width:12%"><col style="width:19%"></colgroup>'
        )
        parts.append(
            "<tr><th>案件编号</th><th>企业</th><th>诉求</th><th>牵头单位</th><th>状态</th><th>领导批示</th></tr>"
        )
        for c in doc.cases:
            status = c["status"] + (f"（{c['leader_mode']}）" if c["leader_mode"] else "")
            parts.append(
                f"<tr><td>{e(c['case_no'])}</td><td>{e(c['enterprise'])}</td>"
                f"<td>【{e(c['category'])}】{e(c['title'])}</td><td>{e(c['unit'])}</td><td>{e(status)}</td>"
                f"<td>{e(c.get('instruction', ''))}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>本期无。</p>")
    if doc.signed:
        parts.append(f'<p class="signed">{e(doc.signed)}</p>')
    parts.append("</body></html>")
    return "".join(parts)


def render_pdf(doc: Document) -> bytes:
    """The issue as PDF (see ``printing.html_to_pdf`` for the fonts it needs)."""
    return html_to_pdf(render_html(doc))


def filename(bulletin: Bulletin, series_name: str, ext: str) -> str:
    return f"{series_name}第{bulletin.number}期.{ext}"
