"""Exports neutralise formulas (issue 16 item 6): text that Excel would take for a formula
(``= + - @``, tab, CR at the start) is written as text with a leading apostrophe, in every
workbook, read back here with openpyxl as a spreadsheet program would."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from engine import exports, stats
from engine.names import Directory

from .conftest import dispatch

HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(1,1)", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1"]


def _cells(data: bytes):
    book = load_workbook(io.BytesIO(data))
    return [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row]


def _assert_no_formula(data: bytes) -> list:
    cells = _cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell is a live formula"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(exports.FORMULA_START)]
    return texts


@pytest.mark.parametrize("title", HOSTILE)
def test_the_case_list_writes_a_hostile_title_as_text(real_app, new_case, as_user, title):
    case = new_case(title=title, enterprise_name='=HYPERLINK("http://evil","点我")')
    dispatch(case)
    response = as_user("wg.city").client.get("/stats/export/cases.xlsx")
    assert response.status_code == 200
    texts = _assert_no_formula(response.data)
    assert "'" + title in texts and '\'=HYPERLINK("http://evil","点我")' in texts
    assert case.case_no in texts  # ordinary text is untouched


def test_dashboard_and_assessment_workbooks_write_hostile_names_as_text(real_app, new_case, as_user):
    case = new_case()
    dispatch(case, lead="zrzyj")
    stats.fold_due(case.Session)  # the worker's pass: the rollups catch up with the steps
    directory = real_app.config["DIRECTORY"]
    real_app.config["DIRECTORY"] = Directory(
        counties={k: "=1+1" for k in directory.counties},
        units={k: "@evil()" for k in directory.units},
        categories=directory.categories,
    )
    browser = as_user("wg.city")
    for url in ("/stats/export/dashboard.xlsx", "/stats/export/assessment.xlsx"):
        response = browser.client.get(url)
        assert response.status_code == 200, url
        texts = _assert_no_formula(response.data)
        assert "'@evil()" in texts, url
    assert "'=1+1" in _assert_no_formula(browser.client.get("/stats/export/dashboard.xlsx").data)


def test_cell_values_keep_numbers_and_plain_text():
    assert exports.cell_value(-3) == -3 and exports.cell_value(2.5) == 2.5 and exports.cell_value(None) is None
    assert exports.cell_value("普通文字") == "普通文字" and exports.cell_value("-") == "'-"
    assert exports.cell_value(["a", "=b"]) == '["a", "=b"]'  # a summary value that is a list: its text
