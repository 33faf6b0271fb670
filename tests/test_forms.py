"""The forms in forms/: valid JSON Schema 2020-12, Chinese labels, one per user task, and
unit/county lists that agree with processes/directory.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from engine import forms

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "forms"
DIRECTORY = json.loads((ROOT / "processes" / "directory.json").read_text(encoding="utf-8"))
SCHEMAS = sorted(FORMS.glob("*.schema.json"))
UNIT_CODES = {u["code"] for u in DIRECTORY["units"]}
COUNTY_CODES = {c["code"] for c in DIRECTORY["counties"]}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def fields(schema, path=""):
    """(dotted path, subschema) of every property, items included."""
    for name, sub in (schema.get("properties") or {}).items():
        yield f"{path}{name}", sub
        if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
            yield f"{path}{name}[]", sub["items"]
            yield from fields(sub["items"], f"{path}{name}[].")


def choices(sub):
    if "enum" in sub:
        return set(sub["enum"])
    if "oneOf" in sub:
        return {o["const"] for o in sub["oneOf"]}
    return None


def test_directory_codes_follow_the_conventions():
    assert [c["code"] for c in DIRECTORY["counties"]] == [
        "city",
        "shuangta",
        "longcheng",
        "beipiao",
        "lingyuan",
        "chaoyangxian",
        "jianping",
        "kazuo",
    ]
    for unit in DIRECTORY["units"]:
        assert unit["county"] in COUNTY_CODES
        assert ("." not in unit["code"]) == (unit["county"] == "city")
        if unit["county"] != "city":
            assert unit["code"].startswith(unit["county"] + ".")
    assert {"zrzyj", "sthjj", "zjj", "fgw", "yshj", "jrfzj", "gdgs", "jianping.zrzyj"} <= UNIT_CODES


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_form_is_valid_and_labelled_in_chinese(path):
    schema = load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert forms.check_schema(schema) is None
    assert (FORMS / path.name.replace(".schema.json", ".uischema.json")).exists()
    for name, sub in fields(schema):
        if name.endswith("[]"):
            continue
        assert any("\u4e00" <= ch <= "\u9fff" for ch in sub.get("title", "")), f"{name} has no Chinese title"


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_unit_and_county_lists_agree_with_the_directory(path):
    for name, sub in fields(load(path)):
        leaf = name.rstrip("[]").split(".")[-1].rstrip("[]")
        values = choices(sub)
        if values is None:
            continue
        if leaf in ("lead_unit", "unit", "coop_units"):
            assert values == UNIT_CODES, name
        if leaf == "county":
            assert values == COUNTY_CODES, name


def test_every_user_task_has_a_form():
    missing = []
    for bpmn in (ROOT / "processes").glob("*.bpmn"):
        root = etree.parse(str(bpmn)).getroot()
        for task in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask"):
            props = {p.get("name"): p.get("value") for p in task.iter("{*}property")}
            name = props.get("formJsonSchemaFilename")
            if not name or not (FORMS / name).exists() or not (FORMS / props.get("formUiSchemaFilename", "-")).exists():
                missing.append((bpmn.name, task.get("name")))
    assert missing == []


def test_submission_form_checks_credit_code_and_mobile():
    schema = load(FORMS / "case-submit.schema.json")
    base = {
        "enterprise_name": "某公司",
        "uscc": "91211300MA0Q1ABC2" + forms.uscc_check_digit("91211300MA0Q1ABC2"),
        "contact": "张",
        "mobile": "13904210000",
        "county": "kazuo",
        "category": "土地批复",
        "title": "用地问题",
        "description": "用地批复三个月未下达",
        "help_wanted": "尽快批复",
        "urgency": "一般",
    }
    assert forms.validate(schema, base)
    with pytest.raises(forms.FormValidationError) as err:
        forms.validate(
            schema, {**base, "uscc": base["uscc"][:-1] + ("0" if base["uscc"][-1] != "0" else "1"), "mobile": "12345"}
        )
    assert set(err.value.by_field()) == {"uscc", "mobile"}


def test_decision_items_are_repeatable_objects():
    schema = load(FORMS / "meeting-minutes.schema.json")
    data = {
        "meeting_date": "2026-03-11",
        "attendees": ["市长"],
        "minutes": "纪要",
        "decision_items": [
            {"content": "事项一", "unit": "zrzyj", "deadline": "2026-03-20"},
            {"content": "事项二", "unit": "kazuo.fgw", "deadline": "2026-03-25"},
        ],
    }
    assert forms.validate(schema, data)
    with pytest.raises(forms.FormValidationError) as err:
        forms.validate(schema, {**data, "decision_items": [{"content": "x", "unit": "nope", "deadline": "soon"}]})
    assert set(err.value.by_field()) == {"decision_items.0.unit", "decision_items.0.deadline"}
