"""Deploy proves a change is safe (issue 15): a manager's ordinary mistakes in a form or a
decision table are refused with file, line, element and a message in Chinese (English second)."""

from __future__ import annotations

import json

import pytest

from engine.config import ROOT
from engine.deploy import collect_files, plan
from engine.parsing import BundleError
from webapp.formrender import fields_of

FILES = collect_files(ROOT / "processes", ROOT / "forms")


def problems_of(files: dict[str, bytes]) -> list:
    with pytest.raises(BundleError) as caught:
        plan(files)
    return caught.value.problems


def edited(name: str, old: str, new: str, count: int = 1) -> dict[str, bytes]:
    text = FILES[name].decode()
    assert old in text
    return {**FILES, name: text.replace(old, new, count).encode()}


def edited_json(name: str, change) -> dict[str, bytes]:
    data = json.loads(FILES[name])
    change(data)
    return {**FILES, name: json.dumps(data, ensure_ascii=False, indent=2).encode()}


def test_the_shipped_processes_pass():
    assert plan(FILES).processes


def test_an_unquoted_word_in_a_rule_is_refused_with_the_suggestion():
    files = edited("deadline.dmn", '<text>"紧急"</text>', "<text>紧急</text>")
    [problem] = problems_of(files)
    assert (problem.file, problem.element_id) == ("deadline.dmn", "ztc_deadline_rule4_in0")
    assert problem.line == FILES["deadline.dmn"].decode().splitlines().index('          <text>"紧急"</text>') + 1
    assert '是否应为 "紧急"？' in problem.message and 'did you mean "紧急"?' in problem.message


@pytest.mark.parametrize(
    "value, words", [("五", '是否应为 "五"'), ('"5"', '整数列只能填整数，文本 "5"'), ("2.5", "整数列只能填整数")]
)
def test_an_integer_column_holds_integers(value, words):
    files = edited("deadline.dmn", "<text>15</text>", f"<text>{value}</text>")
    [problem] = problems_of(files)
    assert problem.element_id == "ztc_deadline_rule3_out0" and words in problem.message


def test_unique_with_overlapping_rules_names_both_rules():
    files = edited("deadline.dmn", 'hitPolicy="FIRST"', 'hitPolicy="UNIQUE"')
    [problem] = problems_of(files)
    assert "第 1 条规则（ztc_deadline_rule1）与第 10 条规则（ztc_deadline_rule10）可同时命中" in problem.message
    assert problem.element_id == "ztc_deadline_rule10" and "use FIRST" in problem.message


@pytest.mark.parametrize("policy", ["PRIORITY", "ANY", "RULE ORDER", "OUTPUT ORDER"])
def test_a_hit_policy_the_engine_does_not_run_is_refused(policy):
    files = edited("deadline.dmn", 'hitPolicy="FIRST"', f'hitPolicy="{policy}"')
    [problem] = problems_of(files)
    assert problem.element_id == "ztc_deadline" and f"命中策略 {policy} 不受支持" in problem.message


def test_collect_with_an_aggregation_is_refused_not_handed_on_as_a_list():
    """The DMN editor offers 汇总求和 (COLLECT + SUM); the engine would give the list of outputs."""
    files = edited("deadline.dmn", 'hitPolicy="FIRST"', 'hitPolicy="COLLECT" aggregation="SUM"')
    [problem] = problems_of(files)
    assert problem.element_id == "ztc_deadline" and "汇总方式 SUM 不受支持" in problem.message
    assert "aggregation SUM is not supported" in problem.message


def test_unique_rules_on_different_values_pass():
    files = edited("deadline.dmn", 'hitPolicy="FIRST"', 'hitPolicy="UNIQUE"')
    text = files["deadline.dmn"].decode()
    start = text.index('<rule id="ztc_deadline_rule10">')
    text = text[:start] + text[text.index("</rule>", start) + len("</rule>") :]
    plan({**files, "deadline.dmn": text.encode()})


def test_a_required_field_that_does_not_exist_is_refused():
    files = edited_json("intake-review.schema.json", lambda s: s["required"].append("reviewer_note"))
    [problem] = problems_of(files)
    assert problem.file == "intake-review.schema.json" and "必填项 reviewer_note 不是表单中的字段" in problem.message
    assert "required field 'reviewer_note'" in problem.message


def test_invalid_defaults_options_and_ui_entries_are_refused():
    def schema(s):
        s["properties"]["intake_reason"]["default"] = 5
        s["properties"]["priority"] = {"type": "integer", "enum": [1, "高"]}

    def ui(u):
        u["ui:order"].append("intake_reasn")
        u["material_request"]["ui:widget"] = "richtext"
        u["intake_decision"]["ui:options"] = {"source": "departments"}

    files = {**edited_json("intake-review.schema.json", schema)}
    files = {
        **files,
        **{
            k: v
            for k, v in edited_json("intake-review.uischema.json", ui).items()
            if k == "intake-review.uischema.json"
        },
    }
    messages = [p.message for p in problems_of(files)]
    assert any("intake_reason 的默认值 5 无效" in m for m in messages)
    assert any('priority 的选项 "高" 与字段类型不符' in m for m in messages)
    assert any("ui:order 中的 intake_reasn 不是 intake-review.schema.json 的字段" in m for m in messages)
    assert any("控件 richtext 不存在" in m for m in messages)
    assert any("选项来源 departments 不存在" in m for m in messages)


def test_a_field_left_out_of_the_ui_order_is_still_drawn():
    schema = json.loads(FILES["intake-review.schema.json"])
    ui = json.loads(FILES["intake-review.uischema.json"])
    schema["properties"]["risk_note"] = {"type": "string", "title": "风险提示"}
    schema["required"].append("risk_note")
    names = [f.name for f in fields_of(schema, ui)]
    assert names[-1] == "risk_note" and names[:3] == ui["ui:order"]
    assert next(f for f in fields_of(schema, ui) if f.name == "risk_note").required


def test_each_table_is_tried_on_one_input_per_rule():
    # a number comparison in a text column: fails on every real input, found on rule 2's input
    files = edited("deadline.dmn", '<text>"特急"</text>', "<text>&gt; 5</text>")
    [problem] = problems_of(files)
    assert problem.element_id == "ztc_deadline_rule1_in0" and problem.line == 19
    assert "按第 2 条规则的输入试算时，条目 > 5 出错：TypeError" in problem.message
