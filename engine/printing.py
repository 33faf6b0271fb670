"""How the printable documents are written — the 专报 (engine/bulletin_document.py) and a case's
交办单/督办单/会议纪要 (engine/documents.py): DOCX on A4 (python-docx) with East Asian fonts on every
run, the stylesheet of their HTML and its PDF (WeasyPrint), and the signer's display name.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

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


def new_docx(font_size: float | None = None) -> DocxDocument:
    """An empty Word document on A4 whose Normal style is Times New Roman / 宋体 (in ``font_size``
    points if given, else the template's size)."""
    from docx import Document as Docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    d = Docx()
    a4(d)
    normal = d.styles["Normal"]
    normal.font.name = "Times New Roman"
    if font_size is not None:
        normal.font.size = Pt(font_size)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    return d


def paragraph(
    d: DocxDocument,
    text: str,
    size: float = 12,
    bold: bool = False,
    align: Any = None,
    font: str = "宋体",
    color: str | None = None,
) -> Paragraph:
    """A paragraph of one run: ``size`` points, East Asian ``font``, ``color`` as RRGGBB."""
    from docx.shared import Pt, RGBColor

    p = d.add_paragraph()
    if align is not None:
        p.alignment = align
    run = p.add_run(text)
    run.font.size, run.bold = Pt(size), bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    east_asian(run, font)
    return p


def table(d: DocxDocument, rows: Sequence[Sequence[str]], header: bool = False) -> None:
    """A grid table of ``rows`` (every cell 宋体; the first row 黑体 if ``header``)."""
    t = d.add_table(rows=0, cols=len(rows[0]))
    t.style = "Table Grid"
    for i, row in enumerate(rows):
        for cell, text in zip(t.add_row().cells, row):
            cell.text = ""
            east_asian(cell.paragraphs[0].add_run(text), "黑体" if (header and i == 0) else "宋体")


def docx_bytes(d: DocxDocument) -> bytes:
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def html_to_pdf(html: str) -> bytes:
    """HTML as PDF (WeasyPrint; Chinese text needs a CJK font installed, e.g. Debian's
    fonts-wqy-zenhei or fonts-noto-cjk)."""
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
