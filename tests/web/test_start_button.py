"""发起 (issue 15 item 5): a process with a none start event, a start form and
``candidateStarterGroups`` gets a button in its starters' inbox; the form comes from the deployed
version, bad input is marked field by field with the typed input kept, and nobody else may start it."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine.models import Instance

from .conftest import Browser

SCHEMA = {
    "title": "调研走访申请",
    "type": "object",
    "required": ["topic", "visits"],
    "properties": {
        "topic": {"type": "string", "title": "调研主题"},
        "visits": {"type": "integer", "title": "走访企业数", "minimum": 1},
    },
}
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_research_visit" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="research_visit" name="调研走访" isExecutable="true">
    <bpmn:startEvent id="start" name="申请调研">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="research-start.schema.json" />
          <spiffworkflow:property name="candidateStarterGroups" value="['wg:city']" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" name="审批调研">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="candidateGroups" value="'wg:city'" />
          <spiffworkflow:property name="summary" value="{'title': topic, 'visits': visits}" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_starters_get_a_start_button_and_start_with_the_form(real_app, deploy, Session, engine):
    def real_as_user(username: str) -> Browser:
        return Browser(real_app.test_client()).login(username)

    deploy(
        {
            "research_visit.bpmn": BPMN.encode(),
            "research-start.schema.json": json.dumps(SCHEMA, ensure_ascii=False).encode(),
        }
    )
    city = real_as_user("wg.city")
    response = city.get("/inbox")
    inbox = response.get_data(as_text=True)
    assert response.status_code == 200, inbox[-1500:]
    assert 'data-process="research_visit"' in inbox and "发起：调研走访" in inbox
    page = city.get("/start/research_visit").get_data(as_text=True)
    assert "调研主题" in page and "走访企业数" in page
    bad = city.post("/start/research_visit", {"topic": "新能源企业用地", "visits": "0"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "新能源企业用地" in html and "请更正标红的项目后再提交" in html
    with Session() as s:
        assert s.scalars(select(Instance).where(Instance.process_id == "research_visit")).all() == []
    ok = city.post("/start/research_visit", {"topic": "新能源企业用地", "visits": "3"})
    assert ok.status_code == 302
    with Session() as s:
        (instance,) = s.scalars(select(Instance).where(Instance.process_id == "research_visit")).all()
        assert instance.started_by == "wg.city" and instance.summary == {}
        (task,) = engine.ready_tasks(s, instance.id)
        assert engine.task_data(task)["visits"] == 3 and task.name == "审批调研"
    # a leader is not a starter: no button, and the page does not exist for them
    unit = real_as_user("leader.secretary")
    assert 'data-process="research_visit"' not in unit.get("/inbox").get_data(as_text=True)
    assert unit.get("/start/research_visit").status_code == 404
    assert unit.post("/start/research_visit", {"topic": "x", "visits": "3"}).status_code == 404
