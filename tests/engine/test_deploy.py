"""Deploy: a new version only on change; a broken file is refused with file, line and
element id, and nothing of that deploy is stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.deploy import validate_paths
from engine.models import Deployment, ProcessVersion
from engine.parsing import BundleError

from .util import loop_files


def _count(Session, model):
    with Session.begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def _refused(deploy, files) -> list:
    with pytest.raises(BundleError) as err:
        deploy(files)
    return err.value.problems


def test_first_deploy_creates_version_one_and_an_unchanged_deploy_creates_nothing(deploy, Session):
    first = deploy(loop_files())
    assert first.created == [("loop", 1)]
    again = deploy(loop_files())
    assert again.created == [] and again.unchanged == [("loop", 1)]
    assert _count(Session, ProcessVersion) == 1
    assert _count(Session, Deployment) == 1


def test_a_changed_form_makes_a_new_version(deploy):
    deploy(loop_files())
    files = loop_files()
    schema = json.loads(files["review.schema.json"])
    schema["properties"]["opinion"]["title"] = "处理意见"
    files["review.schema.json"] = json.dumps(schema, ensure_ascii=False).encode()
    assert deploy(files).created == [("loop", 2)]


def test_malformed_xml_is_refused_with_its_line(deploy, Session):
    files = loop_files()
    files["loop.bpmn"] = files["loop.bpmn"].replace(b"</bpmn:scriptTask>", b"</bpmn:scriptTsk>")
    problems = _refused(deploy, files)
    assert problems[0].file == "loop.bpmn"
    assert problems[0].line == 36
    assert "not well-formed" in problems[0].message
    assert _count(Session, ProcessVersion) == 0


def test_an_unsafe_condition_is_refused_naming_the_flow_and_line(deploy, Session):
    files = loop_files()
    files["loop.bpmn"] = files["loop.bpmn"].replace(b"decision == 'redo'", b"().__class__.__base__.__subclasses__()")
    problems = _refused(deploy, files)
    [problem] = problems
    assert problem.file == "loop.bpmn"
    assert problem.element_id == "f4"  # the flow whose condition it is
    assert problem.line == 42
    assert "sandbox" in problem.message and "__subclasses__" in problem.message
    assert _count(Session, ProcessVersion) == 0


def test_a_syntax_error_in_a_script_names_the_task(deploy):
    files = loop_files()
    files["loop.bpmn"] = files["loop.bpmn"].replace(b"rounds = rounds + 1", b"rounds = = 1")
    [problem] = _refused(deploy, files)
    assert problem.element_id == "count"
    assert problem.line == 35


def test_a_missing_form_is_refused(deploy):
    files = loop_files()
    del files["review.schema.json"]
    [problem] = _refused(deploy, files)
    assert problem.element_id == "review"
    assert "review.schema.json" in problem.message


def test_an_invalid_json_schema_is_refused(deploy):
    files = loop_files()
    files["review.schema.json"] = json.dumps({"type": "objekt"}).encode()
    problems = _refused(deploy, files)
    assert any(p.file == "review.schema.json" and "JSON Schema" in p.message for p in problems)


def test_unquoted_iso_timer_gets_a_helpful_message(deploy):
    files = loop_files()
    files["loop.bpmn"] = files["loop.bpmn"].replace(
        b'<bpmn:endEvent id="end">',
        b'<bpmn:boundaryEvent id="late" attachedToRef="review" cancelActivity="false">'
        b"<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>"
        b'</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="end">',
    )
    problems = _refused(deploy, files)
    assert any(p.element_id == "late" and "quoted string" in p.message for p in problems)


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><x>&b;</x>',
    ],
)
def test_entities_are_refused(deploy, Session, payload):
    files = loop_files()
    files["evil.bpmn"] = payload
    problems = _refused(deploy, files)
    assert any(p.file == "evil.bpmn" and "entity" in p.message for p in problems)
    assert _count(Session, ProcessVersion) == 0


def test_one_broken_file_stores_nothing_of_the_deploy(deploy, Session):
    files = loop_files()
    files["broken.bpmn"] = b"<bpmn:definitions"
    _refused(deploy, files)
    assert _count(Session, ProcessVersion) == 0
    assert _count(Session, Deployment) == 0


def test_validate_without_storing(tmp_path):
    for name, content in loop_files().items():
        (tmp_path / name).write_bytes(content)
    assert validate_paths([tmp_path / "loop.bpmn"]) == []
    (tmp_path / "loop.bpmn").write_bytes(loop_files()["loop.bpmn"].replace(b'default="f5"', b""))
    problems = validate_paths([tmp_path / "loop.bpmn"])
    assert problems and problems[0].element_id


def test_an_element_with_a_reserved_id_is_refused_with_its_line(deploy):
    """A designer names the start event 'Start': the engine's own start task has that name."""
    import pytest

    from engine.parsing import BundleError
    from tests.engine.util import DATA

    xml = (DATA / "stall.bpmn").read_text(encoding="utf-8").replace("Start_stall", "Start")
    with pytest.raises(BundleError) as refused:
        deploy({"stall.bpmn": xml.encode("utf-8")})
    [problem] = [p for p in refused.value.problems if "reserved" in p.message]
    assert (problem.element_id, problem.line) == (
        "Start",
        xml.splitlines().index('    <bpmn:startEvent id="Start"/>') + 1,
    )
