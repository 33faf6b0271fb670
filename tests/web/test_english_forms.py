"""English mode: the project's forms show English labels, help and choices from their UI
schemas (``ui:title_en``, ``ui:help_en``, ``ui:enumNames_en``); the JSON Schemas stay Chinese."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import HumanTask

from .conftest import ENT1, ROOT, Browser

ENTERPRISE_FORMS = ("case-submit", "return-visit", "intake-review", "dispatch")


@pytest.mark.parametrize("form", ENTERPRISE_FORMS)
def test_every_field_has_an_english_title(form):
    schema = json.loads((ROOT / "forms" / f"{form}.schema.json").read_text(encoding="utf-8"))
    ui = json.loads((ROOT / "forms" / f"{form}.uischema.json").read_text(encoding="utf-8"))
    for key, prop in schema["properties"].items():
        assert ui.get(key, {}).get("ui:title_en"), f"{form}: {key}"
        names = ui[key].get("ui:enumNames_en")
        values = [o["const"] for o in prop.get("oneOf", [])] or prop.get("enum")
        if values and key != "lead_unit":  # the units' names are proper names (processes/directory.json)
            assert names and set(names) == {str(v) for v in values}, f"{form}: {key}"
    assert "x-title-en" not in json.dumps(schema)


ALL_FORMS = sorted(p.name[: -len(".schema.json")] for p in (ROOT / "forms").glob("*.schema.json"))


def _untranslated(props: dict, ui: dict, where: str) -> list[str]:
    missing = []
    for key, prop in props.items():
        node = ui.get(key, {})
        if not node.get("ui:title_en"):
            missing.append(f"{where}{key}: title")
        if (node.get("ui:help") or prop.get("description")) and not node.get("ui:help_en"):
            missing.append(f"{where}{key}: help")
        values = [o["const"] for o in prop.get("oneOf", [])] or prop.get("enum")
        if values and key not in ("lead_unit", "unit", "coop_units"):  # units: proper names (directory.json)
            names = node.get("ui:enumNames_en") or {}
            if {str(v) for v in values} - set(names):
                missing.append(f"{where}{key}: options")
        items = prop.get("items") or {}
        if items.get("properties"):
            missing += _untranslated(items["properties"], node.get("items", {}), f"{where}{key}.")
    return missing


@pytest.mark.parametrize("form", ALL_FORMS)
def test_every_form_is_translated(form):
    """Labels, help and options of all 19 forms have English (issue 19): fails on any left out."""
    schema = json.loads((ROOT / "forms" / f"{form}.schema.json").read_text(encoding="utf-8"))
    ui = json.loads((ROOT / "forms" / f"{form}.uischema.json").read_text(encoding="utf-8"))
    assert _untranslated(schema["properties"], ui, "") == []


def english(app, username) -> Browser:
    browser = Browser(app.test_client()).login(username)
    assert browser.post("/lang/en", {"next": "/"}).status_code == 302
    return browser


def test_the_submit_form_and_the_intake_form_in_english(real_app, Session, engine):
    from engine import cases
    from tests.scenarios.driver import submission

    ent = english(real_app, "ent.demo1")
    html = ent.get("/portal/submit").get_data(as_text=True)
    for label in (
        "Problem category",
        "Title",
        "Description",
        "Help wanted",
        "Urgency",
        "Very urgent",
        "Land approval",
        "Kazuo County",
    ):
        assert label in html, label
    assert "问题类别" not in html and "希望解决的事项" not in html

    with Session.begin() as session:
        instance = cases.start_case(session, engine, submission(uscc=ENT1), actor="ent.demo1")
        iid = instance.id
    with Session() as session:
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == iid)).one()
    wg = english(real_app, "wg.city")
    html = wg.get(f"/tasks/{task_id}").get_data(as_text=True)
    for label in ("Decision", "Ask the enterprise for more material", "Material needed", "Reason"):
        assert label in html, label
    assert "请企业补充材料" not in html and "需补充的材料" not in html
    assert 'id="nav-tokens"' in html and "API tokens" in html
    # Chinese stays Chinese
    html = Browser(real_app.test_client()).login("wg.city").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "需补充的材料" in html and "Material needed" not in html


def test_units_and_counties_are_named_in_english(real_app, Session, engine):
    """The directory's proper names follow the reader's language (``name_en`` in
    processes/directory.json): the dispatch picker lists the units in English, and Chinese
    readers keep the Chinese names."""
    from engine import cases
    from tests.scenarios.driver import submission

    with Session.begin() as session:
        instance = cases.start_case(session, engine, submission(uscc=ENT1), actor="ent.demo1")
        iid = instance.id
    with Session.begin() as session:
        intake = session.scalars(select(HumanTask).where(HumanTask.instance_id == iid)).one()
        engine.complete_task(session, intake.id, {"intake_decision": "accept"}, "wg:city")
    with Session() as session:
        dispatch = session.scalars(
            select(HumanTask.id).where(HumanTask.instance_id == iid, HumanTask.state == "ready")
        ).one()
    html = english(real_app, "wg.city").get(f"/tasks/{dispatch}").get_data(as_text=True)
    assert "City Natural Resources Bureau" in html and "Kazuo County Public Security Bureau" in html
    assert "市自然资源局" not in html and "喀左县公安局" not in html
    html = Browser(real_app.test_client()).login("wg.city").get(f"/tasks/{dispatch}").get_data(as_text=True)
    assert "市自然资源局" in html and "City Natural Resources Bureau" not in html


def test_the_case_vocabulary_reads_in_english(real_app, Session, engine):
    """Category, urgency and status are stored in Chinese in the case's data; an English reader
    sees them in English on the task page's summary, the inbox and the case list."""
    from engine import cases
    from tests.scenarios.driver import submission

    with Session.begin() as session:
        instance = cases.start_case(
            session, engine, submission(uscc=ENT1, category="土地批复", urgency="紧急"), actor="ent.demo1"
        )
        iid = instance.id
    with Session() as session:
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == iid)).one()
    wg = english(real_app, "wg.city")
    for page in (f"/tasks/{task_id}", "/", "/cases"):
        html = wg.get(page, follow_redirects=True).get_data(as_text=True)
        assert "Land approval" in html and ">土地批复<" not in html, page  # (a filter's value stays 土地批复)
    html = wg.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Urgent" in html and "Awaiting intake" in html and ">待受理<" not in html
    html = Browser(real_app.test_client()).login("wg.city").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "土地批复" in html and "待受理" in html and "Land approval" not in html
