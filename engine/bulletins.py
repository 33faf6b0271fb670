"""专报 bulletins: numbered issues (第N期) per series, composed by the working group from
selected cases and the period's figures, signed off by a leader in ``processes/bulletin.bpmn``
(process ``ztc_bulletin``), produced as DOCX (python-docx) and PDF (WeasyPrint).

The number is taken when the issue is composed, with a row lock on the series (PostgreSQL)
or under SQLite's write lock, so two working-group members composing at once never get the
same number; a returned issue keeps its number, so numbers have no gaps. No web here.
"""

from __future__ import annotations

import datetime as _dt
import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import stats
from .access import Principal
from .errors import InvalidRequest, NotFound
from .models import Bulletin, BulletinSeries, CaseRecord, Instance
from .names import Directory
from .workdays import to_china_date

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

    from .runtime import Engine
    from .step import StepSaved

PROCESS = "ztc_bulletin"
SERIES = stats.BULLETIN_SERIES
STATUS_FROM_SUMMARY = {"编写中": "draft", "退回修改": "draft", "待审签": "signing", "已签发": "issued"}
STATUS_LABELS = {"draft": "编写中", "signing": "待审签", "issued": "已印发"}


def ensure_series(session: Session) -> dict[str, str]:
    """Create the standard series if missing; returns code → name of every series."""
    have = {code: name for code, name in session.execute(select(BulletinSeries.code, BulletinSeries.name))}
    for code, name in SERIES.items():
        if code not in have:
            try:
                with session.begin_nested():
                    session.add(BulletinSeries(code=code, name=name, last_no=0))
                    session.flush()
                have[code] = name
            except IntegrityError:  # created by a concurrent transaction
                have[code] = name
    return have


def next_number(session: Session, series: str) -> int:
    """The next issue number of ``series`` (inside the caller's transaction)."""
    ensure_series(session)
    row = session.scalars(select(BulletinSeries).where(BulletinSeries.code == series).with_for_update()).first()
    if row is None:
        raise InvalidRequest(f"unknown bulletin series '{series}'", field="series")
    session.execute(
        update(BulletinSeries).where(BulletinSeries.code == series).values(last_no=BulletinSeries.last_no + 1)
    )
    session.refresh(row)
    return row.last_no


def compose(
    session: Session,
    engine: Engine,
    *,
    series: str,
    title: str,
    period: stats.Period,
    case_ids: list[int],
    actor: str,
    county: str = "city",
    body: str = "",
) -> Bulletin:
    """Number a new issue, freeze the period's figures and start its sign-off process."""
    title = (title or "").strip()
    if not title:
        raise InvalidRequest("a bulletin needs a title", field="title")
    if len(title) > 300:
        raise InvalidRequest("a title has at most 300 characters", field="title")
    known = set(session.scalars(select(CaseRecord.instance_id).where(CaseRecord.instance_id.in_(case_ids or [-1]))))
    unknown = [c for c in case_ids if c not in known]
    if unknown:
        raise InvalidRequest(f"not cases: {unknown}", field="case_ids")
    number = next_number(session, series)
    now = engine.clock.now()
    figures = stats.dashboard(session, period, None if county == "city" else county, now=now).as_dict()
    bulletin = Bulletin(
        series=series,
        number=number,
        title=title,
        county=county,
        period_from=period.start,
        period_to=period.end,
        case_ids=list(case_ids),
        figures=figures,
        body=body,
        status="draft",
        composed_by=actor,
        created_at=now,
    )
    session.add(bulletin)
    session.flush()
    instance = engine.start(
        session,
        PROCESS,
        {
            "bulletin_id": bulletin.id,
            "title": title,
            "series": series,
            "number": number,
            "county": county,
            "body": body,
        },
        actor=actor,
    )
    bulletin.instance_id = instance.id
    session.flush()
    return bulletin


def on_step_saved(event: StepSaved) -> None:
    """Step listener (engine/domain.py): an issue's row follows its process (a ``bulletin_id``
    in the summary marks a bulletin process)."""
    summary = event.instance.summary or {}
    if summary.get("bulletin_id"):
        project_bulletin(event.session, summary, event.now, event.actor)


def project_bulletin(session: Session, summary: dict[str, Any], now: _dt.datetime, actor: str | None) -> None:
    bulletin = session.get(Bulletin, int(summary["bulletin_id"]))
    if bulletin is None:
        return
    status = STATUS_FROM_SUMMARY.get(summary.get("status") or "", bulletin.status)
    if summary.get("body"):
        bulletin.body = summary["body"]
    if summary.get("leader_comment"):
        bulletin.leader_comment = summary["leader_comment"]
    if status == "issued" and bulletin.status != "issued":
        bulletin.issued_at = now
        bulletin.signed_by = actor
    bulletin.status = status


# -- who sees which issue ------------------------------------------------------------------
def visible(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on Bulletin: the issues the person may list and download."""
    scope = stats.stats_scope(principal)
    if not stats.can_see_stats(principal):
        return Bulletin.id < 0
    if scope is None:
        return Bulletin.id > 0
    return or_(Bulletin.county.in_(sorted(scope)), (Bulletin.county == "city") & (Bulletin.status == "issued"))


def can_compose(principal: Principal) -> bool:
    return not principal.is_enterprise and "wg:city" in principal.groups


def list_bulletins(
    session: Session, principal: Principal, series: str | None = None, status: str | None = None, limit: int = 200
) -> list[Bulletin]:
    stmt = select(Bulletin).where(visible(principal))
    if series:
        stmt = stmt.where(Bulletin.series == series)
    if status:
        stmt = stmt.where(Bulletin.status == status)
    return list(session.scalars(stmt.order_by(Bulletin.created_at.desc(), Bulletin.id.desc()).limit(limit)))


def get(session: Session, principal: Principal, bulletin_id: int) -> Bulletin:
    found = session.scalars(select(Bulletin).where(Bulletin.id == bulletin_id, visible(principal))).first()
    if found is None:
        raise NotFound(f"bulletin {bulletin_id}")
    return found


# -- the document --------------------------------------------------------------------------
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


def display_name(session: Session, username: str) -> str:
    from .models import User

    user = session.scalars(select(User).where(User.username == username)).first()
    return (user.display_name or username) if user else username


def east_asian(run: Run, font: str = "宋体", latin: str = "Times New Roman") -> None:
    from docx.oxml.ns import qn

    run.font.name = latin
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), font)


def a4(d: DocxDocument) -> None:
    """Every section of a python-docx document on A4 paper (python-docx's template is US Letter)
    with the margins of official documents (GB/T 9704: top 37 mm, sides 28/26 mm)."""
    from docx.shared import Mm

    for section in d.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)


def render_docx(doc: Document) -> bytes:
    """The issue as a Word document; every run carries an East Asian font (宋体/黑体)."""
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    d = Docx()
    a4(d)
    normal = d.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")

    def para(
        text: str,
        size: int = 12,
        bold: bool = False,
        align: WD_ALIGN_PARAGRAPH | None = None,
        font: str = "宋体",
        color: str | None = None,
    ) -> Paragraph:
        p = d.add_paragraph()
        if align is not None:
            p.alignment = align
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold
        if color:
            run.font.color.rgb = RGBColor.from_string(color)
        east_asian(run, font)
        return p

    para(doc.series_name, 26, True, WD_ALIGN_PARAGRAPH.CENTER, "黑体", "C00000")
    para(
        doc.number_line + ("" if doc.status == "已印发" else f"（{doc.status}）"), 14, False, WD_ALIGN_PARAGRAPH.CENTER
    )
    para(f"{doc.issuer}　　　　{doc.date}", 12, False, WD_ALIGN_PARAGRAPH.CENTER)
    if doc.instruction:
        para(f"领导批示：{doc.instruction}", 14, font="楷体")
    para(doc.title, 18, True, WD_ALIGN_PARAGRAPH.CENTER, "黑体")
    if doc.period:
        para(f"统计期间：{doc.period}", 12)
    for line in (doc.body or "").splitlines() or [""]:
        if line.strip():
            para(line, 14, font="仿宋")
    para("一、本期统计", 14, True, font="黑体")
    table = d.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("指标", "数值")):
        cell.text = ""
        east_asian(cell.paragraphs[0].add_run(text), "黑体")
    for label, value in doc.figures:
        cells = table.add_row().cells
        for cell, text in zip(cells, (label, value)):
            cell.text = ""
            east_asian(cell.paragraphs[0].add_run(text))
    para("二、提请领导关注的案件", 14, True, font="黑体")
    if doc.cases:
        table = d.add_table(rows=1, cols=6)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("案件编号", "企业", "诉求", "牵头单位", "状态", "领导批示")):
            cell.text = ""
            east_asian(cell.paragraphs[0].add_run(text), "黑体")
        for c in doc.cases:
            cells = table.add_row().cells
            values = (
                c["case_no"],
                c["enterprise"],
                f"【{c['category']}】{c['title']}",
                c["unit"],
                c["status"] + (f"（{c['leader_mode']}）" if c["leader_mode"] else ""),
                c.get("instruction", ""),
            )
            for cell, text in zip(cells, values):
                cell.text = ""
                east_asian(cell.paragraphs[0].add_run(text))
    else:
        para("本期无。", 12)
    if doc.signed:
        para(doc.signed, 12, align=WD_ALIGN_PARAGRAPH.RIGHT)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


PDF_CSS = """
@page { size: A4; margin: 25mm 22mm; @bottom-center { content: counter(page); font-size: 10pt; } }
body { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Source Han Serif SC", serif;
       font-size: 12pt; line-height: 1.6; }
.series { color: #c00000; font-size: 26pt; font-weight: bold; text-align: center; letter-spacing: 2pt; margin: 0; }
.number { text-align: center; font-size: 14pt; margin: 4pt 0; }
.issuer { text-align: center; border-bottom: 2pt solid #c00000; padding-bottom: 6pt; margin-bottom: 14pt; }
h1 { font-size: 18pt; text-align: center; } h2 { font-size: 14pt; margin-top: 14pt; }
p.body { font-size: 14pt; text-indent: 2em; margin: 4pt 0; }
table { border-collapse: collapse; width: 100%; } td, th { border: 0.6pt solid #333; padding: 3pt 5pt; font-size: 10.5pt; }
th { background: #f2f2f2; } .signed { text-align: right; margin-top: 18pt; }
.instruction { border: 1pt solid #c00000; padding: 6pt 8pt; font-size: 13pt; margin: 8pt 0; }
"""


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
    """The issue as PDF (WeasyPrint; Chinese text needs a CJK font installed, e.g. Debian's
    fonts-wqy-zenhei or fonts-noto-cjk)."""
    from weasyprint import HTML

    return HTML(string=render_html(doc)).write_pdf()


def filename(bulletin: Bulletin, series_name: str, ext: str) -> str:
    return f"{series_name}第{bulletin.number}期.{ext}"
