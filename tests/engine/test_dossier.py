"""Issue 14: the dossier's rules without a database — visibility, the ``context`` property,
which files an enterprise may read."""

from __future__ import annotations

import datetime as _dt

from engine.dossier import Answer, Step, is_public, visible_attachment_ids
from engine.taskcontext import context_for, parse_context

AT = _dt.datetime(2026, 3, 2, 9)
FORM = {"x-visibility": "public", "properties": {"note": {"x-visibility": "internal"}, "answer": {}}}


def step(step_id, kind="task", groups=(), **answers) -> Step:
    return Step(
        kind,
        step_id,
        step_id,
        "someone",
        AT,
        groups=list(groups),
        answers=[Answer(k, {}, {}, v, True) for k, v in answers.items()],
    )


def test_a_field_is_internal_unless_marked_public():
    assert is_public(FORM, "answer") and not is_public(FORM, "note")
    assert not is_public({"properties": {"x": {}}}, "x")
    assert is_public({"properties": {"x": {"x-visibility": "public"}}}, "x")


def test_the_context_property_accepts_text_and_lists():
    assert parse_context(None) is None
    assert parse_context("submission.title, Task_draft\nTask_meeting") == [
        "submission.title",
        "Task_draft",
        "Task_meeting",
    ]
    assert parse_context("['submission', 'Task_head_review.head_reason']") == [
        "submission",
        "Task_head_review.head_reason",
    ]


def test_named_context_shows_the_latest_round_and_only_the_named_fields():
    steps = [
        step("submission", "submission", title="用地", description="说明", mobile="139"),
        step("Task_draft", handling_result="初稿"),
        step("Task_head_review", head_reason="补充时间"),
        step("Task_draft", handling_result="二稿"),
    ]
    chosen = context_for(steps, ["submission.description", "Task_draft"])
    assert [(s.step_id, [a.value for a in s.answers]) for s in chosen] == [
        ("submission", ["说明"]),
        ("Task_draft", ["二稿"]),
    ]
    default = context_for(steps, None)
    assert [s.step_id for s in default] == ["submission", "Task_draft", "Task_head_review"]


def test_each_instance_of_a_multi_instance_step_stays_in_the_context():
    steps = [
        step("Task_item", groups=["unit:zrzyj"], item_report="甲"),
        step("Task_item", groups=["unit:fgw"], item_report="乙"),
    ]
    assert [s.answers[0].value for s in context_for(steps, ["Task_item"])] == ["甲", "乙"]


def test_files_in_answers_are_the_visible_ones():
    steps = [
        step("a", attachments=["7", 8]),
        step("b", material_files=[{"id": 9, "name": "x.pdf"}]),
        step("c", count=10),
    ]
    assert visible_attachment_ids(steps) == {7, 8, 9}


def test_a_step_running_again_sees_its_own_last_answer_even_when_its_context_names_other_steps():
    steps = [
        step("submission", "submission", title="用地"),
        step("Task_coop", groups=["unit:fgw"], coop_opinion_text="同意"),
        step("Task_coop", groups=["unit:zjj"], coop_opinion_text="另议"),
        step("Task_draft", handling_result="初稿"),
    ]
    chosen = context_for(steps, ["submission.title", "Task_draft"], own="Task_coop", own_groups=["unit:fgw"])
    assert [(s.step_id, s.answers[0].value) for s in chosen] == [
        ("submission", "用地"),
        ("Task_draft", "初稿"),
        ("Task_coop", "同意"),
    ]  # its own group's answer only
    assert context_for(steps[:1], ["submission.title"], own="Task_coop") == context_for(steps[:1], ["submission.title"])


def test_white_space_alone_is_no_answer():
    from engine.dossier import _answers

    schema = {"properties": {"a": {}, "b": {}, "c": {}}}
    assert [a.key for a in _answers(schema, {}, {"a": " \n\u3000\t", "b": "\n意见\n", "c": []})] == ["b"]
