"""Dev tool: draft processes/bulletin.bpmn (the 专报 compose and sign-off process).

    .venv/bin/python scripts/draft_bulletin.py

Like scripts/draft_processes.py: this wrote the first version; the committed .bpmn file is the
source from then on (edit it in bpmn.io); re-running this script overwrites it.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bpmn_layout import Proc, pretty  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "processes"


def bulletin_process() -> Proc:
    p = Proc("ztc_bulletin", "专报编发", [
        ("Lane_wg", "直通车工作组", 1),
        ("Lane_leader", "市领导", 1),
    ], doc="工作组从案件和本期统计数据编写一期专报（第N期，按专报系列编号），领导审签后印发；退回的专报修改后再送审。")
    W, L = 0, 1
    p.node("Start_bulletin", "start", "编发专报", W, 0)
    p.node("Task_prepare", "script", "生成专报草稿", W, 1,
           script="signoff_decision = None\nleader_comment = None\n",
           props={"summary": "{'bulletin_id': bulletin_id, 'title': title, 'series': series, "
                             "'number': number, 'status': '编写中'}"})
    p.node("Gateway_compose_merge", "xgw", "", W, 2)
    p.node("Task_compose", "user", "编写专报", W, 3, props={
        "formJsonSchemaFilename": "bulletin-compose.schema.json",
        "formUiSchemaFilename": "bulletin-compose.uischema.json",
        "candidateGroups": "'wg:' + county",
        "dueDate": "add_workdays(now(), 2)",
        "summary": "{'status': '待审签', 'body': body}"})
    p.node("Task_signoff", "user", "领导审签", L, 4, props={
        "formJsonSchemaFilename": "bulletin-signoff.schema.json",
        "formUiSchemaFilename": "bulletin-signoff.uischema.json",
        "candidateGroups": "'leader:' + county",
        "dueDate": "add_workdays(now(), 2)",
        "summary": "{'status': {'approve': '已签发', 'return': '退回修改'}[signoff_decision], "
                   "'leader_comment': leader_comment}"})
    p.node("Gateway_signoff", "xgw", "审签意见？", L, 5)
    p.node("End_issued", "end", "专报已印发", L, 6)
    f = p.flow
    f("Start_bulletin", "Task_prepare")
    f("Task_prepare", "Gateway_compose_merge")
    f("Gateway_compose_merge", "Task_compose")
    f("Task_compose", "Task_signoff")
    f("Task_signoff", "Gateway_signoff")
    f("Gateway_signoff", "End_issued", "同意印发", cond="signoff_decision == 'approve'")
    f("Gateway_signoff", "Gateway_compose_merge", "退回修改", default=True)
    return p


if __name__ == "__main__":
    (OUT / "bulletin.bpmn").write_text(pretty(bulletin_process().to_xml()), encoding="utf-8")
    print("wrote", OUT / "bulletin.bpmn")
