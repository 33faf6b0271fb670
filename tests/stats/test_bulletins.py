"""专报: numbered per series (also when composed at the same moment), signed off by a leader in
processes/bulletin.bpmn, produced as DOCX and PDF with Chinese text that survives."""

from __future__ import annotations

import datetime as _dt
import io
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import bulletin_document, bulletins, stats
from engine.access import Principal
from engine.models import Bulletin, HumanTask

from .conftest import dispatch, make_uscc

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "stats"
MARCH = stats.Period(_dt.date(2026, 3, 1), _dt.date(2026, 3, 31))


def compose(Session, engine, series="ztc", case_ids=(), title="关于三月份直通车运行情况的专报"):
    with Session.begin() as s:
        b = bulletins.compose(
            s, engine, series=series, title=title, period=MARCH, case_ids=list(case_ids), actor="wg.city"
        )
        return b.id, b.number, b.instance_id


def ready(Session, instance_id):
    with Session() as s:
        return s.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
        ).one()


def complete(Session, engine, instance_id, data, actor):
    task = ready(Session, instance_id)
    with Session.begin() as s:
        engine.complete_task(s, task.id, data, actor)
    return task


def test_numbers_run_per_series(Session, engine, deployed):
    numbers = [compose(Session, engine, series)[1] for series in ("ztc", "ztc", "key_project", "ztc", "six_batches")]
    assert numbers == [1, 2, 1, 3, 1]


def test_concurrent_composing_never_shares_a_number(Session, engine, deployed):
    compose(Session, engine)  # the series exists
    results, errors = [], []
    barrier = threading.Barrier(6)

    def work():
        try:
            barrier.wait(5)
            results.append(compose(Session, engine)[1])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(results) == [2, 3, 4, 5, 6, 7]


def test_sign_off_in_the_process(Session, engine, deployed, new_case):
    case = new_case()
    dispatch(case)
    case.complete("拟办办理结果", "unit:zrzyj", {"handling_result": "需协调", "solved": False})
    case.complete("负责人审核", "head:zrzyj", {"head_decision": "escalation", "head_reason": "需领导协调"})
    stats.fold_due(Session)  # the worker's pass: a bulletin freezes the figures it reads
    bid, number, iid = compose(Session, engine, case_ids=[case.instance().id])
    task = complete(Session, engine, iid, {"body": "本期报送一件需领导协调的案件。"}, "wg.city")
    assert (task.name, task.candidate_groups) == ("编写专报", ["wg:city"])
    sign = ready(Session, iid)
    assert (sign.name, sign.candidate_groups) == ("领导审签", ["leader:city"])
    with Session() as s:
        assert s.get(Bulletin, bid).status == "signing"
    complete(Session, engine, iid, {"signoff_decision": "return", "leader_comment": "请补充办理进展"}, "leader.mayor")
    with Session() as s:
        b = s.get(Bulletin, bid)
        assert (b.status, b.leader_comment, b.issued_at) == ("draft", "请补充办理进展", None)
    complete(Session, engine, iid, {"body": "本期报送一件需领导协调的案件，自然资源局已着手办理。"}, "wg.city")
    complete(
        Session,
        engine,
        iid,
        {"signoff_decision": "approve", "leader_comment": "同意印发，请各单位抓紧落实"},
        "leader.mayor",
    )
    with Session() as s:
        b = s.get(Bulletin, bid)
        assert (b.status, b.signed_by, b.number) == ("issued", "leader.mayor", number)
        assert "自然资源局已着手办理" in b.body
        assert b.figures["totals"]["received"] == 1
        board = stats.dashboard(s, MARCH, None, now=engine.clock.now())
    assert board.bulletins["ztc"]["issued"] == 1 and board.bulletins["key_project"]["issued"] == 0


def test_a_return_needs_a_comment(Session, engine, deployed):
    from engine.forms import FormValidationError

    _, _, iid = compose(Session, engine)
    complete(Session, engine, iid, {"body": "按语"}, "wg.city")
    with pytest.raises(FormValidationError):
        complete(Session, engine, iid, {"signoff_decision": "return"}, "leader.mayor")


@pytest.fixture
def issued(Session, engine, deployed, new_case):
    case = new_case(
        enterprise_name="辽宁柏慧燕都食品有限公司", title="二期建设项目推进受阻", uscc=make_uscc("91211300MA0Q1BHY1")
    )
    dispatch(case, lead="fgw")
    for _ in range(2):
        compose(Session, engine, series="key_project", title="重点项目建设情况")
    bid, number, iid = compose(
        Session, engine, series="key_project", case_ids=[case.instance().id], title="关于重点项目建设情况的专报"
    )
    complete(Session, engine, iid, {"body": "一、总体情况\n本月重点项目推进顺利。"}, "wg.city")
    complete(
        Session,
        engine,
        iid,
        {"signoff_decision": "approve", "leader_comment": "同意印发，请各单位抓紧落实"},
        "leader.mayor",
    )
    with Session() as s:
        from engine.names import load_directory

        directory = load_directory(Path(__file__).resolve().parents[2] / "processes" / "directory.json")
        return bulletin_document.document(s, s.get(Bulletin, bid), directory)


def test_docx_has_the_issue_number_and_east_asian_font(issued):
    from docx import Document
    from docx.oxml.ns import qn

    data = bulletin_document.render_docx(issued)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "bulletin.docx").write_bytes(data)
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "重点项目建设情况专报" in text and "第3期" in text
    assert "本月重点项目推进顺利。" in text
    assert "辽宁柏慧燕都食品有限公司" in cells and "市发展和改革委员会" in cells
    fonts = {r._element.rPr.rFonts.get(qn("w:eastAsia")) for p in doc.paragraphs for r in p.runs}
    assert None not in fonts and "黑体" in fonts
    assert "领导批示：同意印发，请各单位抓紧落实" in text
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4, not US Letter


def test_pdf_text_is_chinese(issued, tmp_path):
    data = bulletin_document.render_pdf(issued)
    assert data.startswith(b"%PDF")
    pdf = tmp_path / "bulletin.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "重点项目建设情况专报" in text
    assert "第3期" in text
    assert "辽宁柏慧燕都食品有限公司" in "".join(text.split())  # a table cell may wrap it
    assert "领导批示：同意印发，请各单位抓紧落实" in "".join(text.split())
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, text=True).stdout
    assert "(A4)" in info
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "bulletin.pdf").write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / "bulletin")], check=True
    )
    assert list(ARTIFACTS.glob("bulletin*.png"))


def test_who_sees_which_issue(Session, engine, deployed):
    compose(Session, engine)
    with Session() as s:
        city = bulletins.list_bulletins(s, Principal("wg.city", groups=frozenset({"wg:city"})))
        county = bulletins.list_bulletins(s, Principal("wg.kazuo", groups=frozenset({"wg:kazuo"})))
        ent = bulletins.list_bulletins(s, Principal("e", kind="enterprise", groups=frozenset({"enterprise:x"})))
        unit = bulletins.list_bulletins(s, Principal("u", groups=frozenset({"unit:zrzyj"})))
    assert len(city) == 1
    assert county == [] and ent == [] and unit == []  # a city draft: the city only
