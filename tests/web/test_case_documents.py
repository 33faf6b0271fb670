"""Printable documents of a case (A4, Chinese): 交办单 from the dispatch, 督办单 from the
supervision notice, 会议纪要 with its decision items — listed on the case page, downloaded as
PDF (text read back with pdftotext, A4 per pdfinfo) and Word (A4 section), only by people who
can see the case. PNG renders of each PDF land in test-artifacts/documents/."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest

from tests.scenarios.conftest import deployed, new_case  # noqa: F401
from tests.scenarios.driver import beijing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"
CITY_WG, LEADERS = "wg:city", "leader:city"


@pytest.fixture
def app(real_app):
    return real_app


@pytest.fixture
def journey(real_app, new_case):
    case = new_case(title="二期厂房用地批复迟迟未下达", enterprise_name="朝阳某新能源科技有限公司")
    case.complete("受理审查", CITY_WG, {"intake_decision": "accept"})
    case.complete(
        "分级交办",
        CITY_WG,
        {
            "dispatch_action": "dispatch",
            "lead_unit": "zrzyj",
            "coop_units": ["fgw"],
            "mode": "马上办",
            "dispatch_note": "请三日内完成用地预审并答复企业",
        },
    )
    case.move_to(beijing("2026-03-05", "17:31"))
    case.complete(
        "签发督办单",
        CITY_WG,
        {"supervision_notice_no": "督字〔2026〕7号", "supervision_content": "限期两日办结", "reply_days": 2},
    )
    case.move_to(beijing("2026-03-10", "17:31"))
    case.complete("领导批示", LEADERS, {"leader_mode": "专题会议", "instruction": "召开专题会议，一周内拿出方案"})
    items = [
        {"content": "下达用地批复", "unit": "zrzyj", "deadline": "2026-03-13"},
        {"content": "保障施工用电", "unit": "gdgs", "deadline": "2026-03-16"},
    ]
    case.complete(
        "专题会议纪要",
        CITY_WG,
        {
            "meeting_date": "2026-03-11",
            "attendees": ["市长", "自然资源局局长"],
            "minutes": "会议研究了用地问题并议定两项事项",
            "decision_items": items,
        },
    )
    return case


def _pdf_text(data: bytes, path: Path) -> tuple[str, str]:
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(path.with_suffix(""))], check=True
    )
    return "".join(text.split()), info


def test_the_case_page_offers_each_document_as_a4_pdf_and_word(journey, as_user, tmp_path):
    from docx import Document

    wg = as_user("wg.city")
    page = wg.get(f"/cases/{journey.instance().id}").get_data(as_text=True)
    section = re.search(r'id="case-documents".*?</section>', page, re.S).group(0)
    assert [k for k in re.findall(r'data-kind="(\w+)"', section)] == ["dispatch", "supervision", "minutes"]
    links = re.findall(r'href="(/cases/\d+/documents/\d+\.pdf)"', section)
    expected = {
        "dispatch": [
            "交办单",
            "市自然资源局",
            "市发展和改革委员会",
            "请三日内完成用地预审并答复企业",
            "2026年3月5日",
            "二期厂房用地批复迟迟未下达",
        ],
        "supervision": ["督办单", "督字〔2026〕7号", "限期两日办结", "2个工作日内", "市自然资源局"],
        "minutes": [
            "专题会议纪要",
            "下达用地批复",
            "保障施工用电",
            "朝阳供电公司",
            "2026年3月16日",
            "市长、自然资源局局长",
            "会议研究了用地问题并议定两项事项",
            "召开专题会议，一周内拿出方案",
        ],
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for (kind, wanted), link in zip(expected.items(), links):
        response = wg.client.get(link)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text, info = _pdf_text(response.data, ARTIFACTS / f"{kind}.pdf")
        for snippet in wanted:
            assert snippet in text, (kind, snippet)
        assert "(A4)" in info
        word = wg.client.get(link.replace(".pdf", ".docx"))
        assert word.status_code == 200
        doc = Document(io.BytesIO(word.data))
        section = doc.sections[0]
        assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
        words = "".join(p.text for p in doc.paragraphs) + "".join(
            c.text for t in doc.tables for row in t.rows for c in row.cells
        )
        for snippet in wanted:
            assert snippet in words, (kind, snippet)


def test_only_people_who_see_the_case_download(journey, as_user):
    link = re.findall(
        r'href="(/cases/\d+/documents/\d+\.pdf)"',
        as_user("wg.city").get(f"/cases/{journey.instance().id}").get_data(as_text=True),
    )[0]
    assert as_user("unit.yshj").client.get(link).status_code == 404  # a unit with no part in the case
    assert as_user("wg.kazuo").client.get(link).status_code == 404  # another county's working group
    assert as_user("ent.demo1").client.get(link).status_code in (302, 403)  # enterprises never
    assert as_user("unit.zrzyj").client.get(link).status_code == 200  # the lead unit
    other = link.rsplit("/", 1)[0] + "/1.pdf"  # an audit row that is not this case's document
    assert as_user("wg.city").client.get(other).status_code == 404
