"""Dev tool: draft the 直通车 process files in processes/ (semantics + laid-out diagrams).

    .venv/bin/python scripts/draft_processes.py

This wrote the first version of the committed .bpmn files. From then on the .bpmn files are
the source (edit them in bpmn.io); re-running this script overwrites them.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bpmn_layout import Proc, pretty  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "processes"


def props(form=None, groups=None, due=None, summary=None, ui=True):
    p = {}
    if form:
        p["formJsonSchemaFilename"] = f"{form}.schema.json"
        if ui:
            p["formUiSchemaFilename"] = f"{form}.uischema.json"
    if groups:
        p["candidateGroups"] = groups
    if due:
        p["dueDate"] = due
    if summary:
        p["summary"] = summary
    return p


WG = "'wg:' + org"
ENDED = "'stage': '已结束'"
# the handling is left at or after the deadline: its 督办单 has been issued (see Task_red)
RED_ISSUED = ("if datetime.fromisoformat(now()) >= datetime.fromisoformat(deadline):\n"
              "    red_issued_for = deadline\n")


def case_process() -> Proc:
    p = Proc("ztc_case", "书记市长直通车案件办理", [
        ("Lane_enterprise", "企业", 1),
        ("Lane_unit", "责任单位经办人", 1),
        ("Lane_coop", "配合单位", 1),
        ("Lane_head", "责任单位负责人", 1),
        ("Lane_wg", "直通车工作组", 3),
        ("Lane_leader", "市领导", 1),
    ], doc="企业诉求从提交、受理、分级交办、限时办理、审核、提级督办到回访办结的全过程。")
    E, U, C, H, W1, W2, W3, L = 0, 1, 2, 3, 4, 5, 6, 7

    p.node("Start_submitted", "start", "企业提交诉求", E, 0, props=props("case-submit"))
    p.node("Task_register", "script", "登记案件", W1, 1, script=(
        "level = 'city' if county == 'city' else 'county'\n"
        "org = county\n"
        "reopen_count = 0\n"
        "escalated = False\n"
        "warning = None\n"
        "leader_mode = None\n"
        "satisfaction = None\n"
        "registered_at = now()\n"
        "red_issued_for = None\n"),
        props=props(summary="{'case_no': case_no, 'title': title, 'enterprise_name': enterprise_name, "
                            "'uscc': uscc, 'county': county, 'level': level, 'category': category, "
                            "'urgency': urgency, 'status': '待受理', 'stage': '受理', 'reopen_count': 0, "
                            "'escalated': False, 'warning': None, 'registered_at': registered_at}"))
    p.node("Task_rules", "brule", "读取督办规则", W1, 2, decision="ztc_supervision_rules")
    p.node("Gateway_intake_merge", "xgw", "", W1, 3)
    p.node("Task_intake", "user", "受理审查", W1, 4, props=props(
        "intake-review", WG, due="add_workdays(now(), 1)",
        summary="{'status': {'accept': '待交办', 'reject': '不予受理', 'need_material': '待补充材料'}[intake_decision]}"))
    p.node("Gateway_intake", "xgw", "受理结论？", W1, 5)
    p.node("End_rejected", "tend", "不予受理", E, 5,
           props=props(summary="{'status': '不予受理', 'outcome': 'rejected', " + ENDED + "}"))
    p.node("Gateway_material", "ebg", "等待补充材料", E, 6)
    p.node("Event_material", "msgcatch", "收到补充材料", E, 7, message="material_supplied", message_var="material",
           props=props(summary="{'status': '待受理'}"))
    p.node("Event_material_timeout", "timercatch", "补充材料逾期", E, 8,
           timer="add_workdays(now(), material_wait_days)")
    p.node("End_no_material", "tend", "逾期未补充，视为撤回", E, 9,
           props=props(summary="{'status': '已撤回', 'outcome': 'withdrawn', " + ENDED + "}"))

    # dispatch
    p.node("Gateway_dispatch_merge", "xgw", "", W1, 6)
    p.node("Task_suggest_units", "brule", "建议责任单位", W1, 7, decision="ztc_unit_assignment")
    p.node("Task_suggest_mode", "brule", "建议办理方式", W1, 8, decision="ztc_handling_mode")
    p.node("Task_prepare_dispatch", "script", "生成交办建议", W1, 9, script=(
        "prefix = '' if org == 'city' else org + '.'\n"
        "lead_unit = prefix + suggested_lead_unit\n"
        "coop_units = [prefix + u for u in suggested_coop_units]\n"
        "mode = suggested_mode\n"
        "deadline_days_override = None\n"
        "dispatch_note = None\n"),
        props=props(summary="{'status': '待交办', 'stage': '交办', 'level': level}"))
    p.node("Task_dispatch", "user", "分级交办", W1, 10, props=props("dispatch", WG, due="add_workdays(now(), 1)"))
    p.node("Gateway_dispatch", "xgw", "交办方式？", W1, 11)
    p.node("Task_deadline_rule", "brule", "计算办理时限", W1, 12, decision="ztc_deadline")
    p.node("Task_issue_order", "script", "下达交办单", W1, 13, script=(
        "deadline_days = deadline_days_override if deadline_days_override else rule_deadline_days\n"
        "dispatched_at = now()\n"
        "deadline = add_workdays(dispatched_at, deadline_days)\n"
        "warning = None\n"),
        props=props(summary="{'status': '办理中', 'stage': '办理', 'mode': mode, 'lead_unit': lead_unit, "
                            "'coop_units': coop_units, 'deadline': deadline, 'deadline_days': deadline_days, "
                            "'warning': None, 'overdue': False, 'level': level, 'category': category, "
                            "'dispatched_at': dispatched_at}"))
    p.node("Gateway_handling_merge", "xgw", "", W1, 14)

    # handling, under deadline supervision
    p.container("Sub_handling", "sub", "责任单位限时办理", (U, 15, H, 23))
    S = "Sub_handling"
    p.node("Start_handling", "start", "开始办理", U, 15, parent=S)
    p.node("Task_prepare_handling", "script", "准备办理", U, 16, parent=S,
           script="coop_opinions = []\nhead_decision = None\n")
    p.node("Gateway_split", "pgw", "", U, 17, parent=S)
    p.node("Task_draft", "user", "拟办办理结果", U, 18, parent=S,
           props=props("unit-draft", "'unit:' + lead_unit", due="deadline"))
    p.node("Task_coop", "user", "配合单位意见", C, 18, parent=S,
           props=props("coop-opinion", "'unit:' + coop_unit", due="workday_before(deadline, 1)"),
           mi={"input": "coop_units", "output": "coop_opinions", "item": "coop_unit", "output_item": "coop_opinion"},
           postscript="coop_opinion = {'unit': coop_unit, 'agree': coop_agree, 'opinion': coop_opinion_text}\n")
    p.node("Gateway_join", "pgw", "", C, 19, parent=S)
    p.node("Gateway_head_merge", "xgw", "", H, 20, parent=S)
    p.node("Task_head_review", "user", "负责人审核", H, 21, parent=S, props=props(
        "unit-head-review", "'head:' + lead_unit", due="deadline",
        summary="{'status': {'submit': '待审核', 'redo': '办理中', 'extension': '申请延期', "
                "'escalation': '申请提级'}[head_decision]}"),
        postscript=RED_ISSUED)
    p.node("Gateway_head", "xgw", "审核意见？", H, 22, parent=S)
    p.node("Task_revise", "user", "修改办理结果", U, 22, parent=S,
           props=props("unit-draft", "'unit:' + lead_unit", due="deadline"))
    p.node("End_handling", "end", "办理环节结束", H, 23, parent=S)
    p.flow("Start_handling", "Task_prepare_handling")
    p.flow("Task_prepare_handling", "Gateway_split")
    p.flow("Gateway_split", "Task_draft")
    p.flow("Gateway_split", "Task_coop")
    p.flow("Task_draft", "Gateway_join")
    p.flow("Task_coop", "Gateway_join")
    p.flow("Gateway_join", "Gateway_head_merge")
    p.flow("Gateway_head_merge", "Task_head_review")
    p.flow("Task_head_review", "Gateway_head")
    p.flow("Gateway_head", "Task_revise", "退回重拟", cond="head_decision == 'redo'")
    p.flow("Gateway_head", "End_handling", "提交/延期/提级", default=True)
    p.flow("Task_revise", "Gateway_head_merge")

    # deadline supervision on the handling
    p.boundary("Event_yellow", "黄牌预警", S, 17, interrupting=False, timer="workday_before(deadline, 1)")
    p.boundary("Event_red", "红牌督办", S, 19, interrupting=False, timer="deadline")
    p.boundary("Event_overdue", "超期自动提级", S, 23, interrupting=True,
               timer="add_workdays(deadline, overdue_escalation_days)")
    p.node("Task_yellow", "script", "黄牌预警", W1, 17, script=(
        "still_before_deadline = datetime.fromisoformat(now()) < datetime.fromisoformat(deadline)\n"),
        props=props(summary="{'warning': 'yellow'} if still_before_deadline else {}"))
    p.node("End_yellow", "end", "预警已发送", W1, 18)
    # one 督办单 per deadline: re-entering the handling after the deadline fires the red timer
    # again at once. The red path's data never flows back to the main path, so the main path
    # records it: handling left at or after the deadline (head review, overdue escalation) means
    # the 督办单 for that deadline was issued. A new deadline (extension, leader's instruction,
    # new dispatch) re-arms it.
    p.node("Task_red", "script", "红牌督办", W1, 19, script=(
        "red_already_issued = vars().get('red_issued_for') == deadline\n"
        "warning = 'red'\n"),
           props=props(summary="{'warning': 'red', 'overdue': True}"))
    p.node("Gateway_red", "xgw", "本期限已督办？", W1, 20)
    p.node("End_red_repeat", "end", "不重复督办", W2, 20)
    p.node("Task_notice", "user", "签发督办单", W1, 21, props=props(
        "supervision-notice", WG, due="add_workdays(now(), 1)",
        summary="{'supervision_notices': supervision_notice_no}"))
    p.node("End_notice", "end", "督办单已签发", W1, 22)
    p.node("Task_overdue", "script", "超期自动提级", W2, 23,
           script="escalation_reason = '超期' + str(overdue_escalation_days) + '个工作日未办结，自动提级'\n"
                  + RED_ISSUED)

    # after handling
    p.node("Gateway_unit_outcome", "xgw", "单位办理结论？", W1, 24)
    p.node("Gateway_review_merge", "xgw", "", W1, 25)
    p.node("Task_result_review", "user", "结果审核", W1, 26, props=props(
        "result-review", WG, due="add_workdays(now(), 2)",
        summary="{'status': {'accept': '待回访', 'send_back': '退回重办', 'escalate': '提级督办'}[review_decision]}"))
    p.node("Gateway_review", "xgw", "审核结论？", W1, 27)
    p.node("Call_return_visit", "call", "回访", W1, 28, called="ztc_return_visit")
    p.node("Gateway_visit", "xgw", "企业评价？", W1, 29)
    p.node("End_closed", "tend", "办结归档", W1, 30,
           props=props(summary="{'status': '已办结', 'outcome': 'solved', " + ENDED + "}"))
    p.node("End_no_answer", "tend", "未回访成功，办结", W1, 31,
           props=props(summary="{'status': '已办结', 'outcome': 'no_answer', " + ENDED + "}"))

    p.node("Task_extension_review", "user", "延期审批", W3, 24, props=props(
        "extension-review", WG, due="add_workdays(now(), 1)"))
    p.node("Gateway_extension", "xgw", "是否同意延期？", W3, 25)
    p.node("Task_extend", "script", "顺延办理时限", W3, 26, script=(
        "deadline = add_workdays(deadline, extension_days_granted)\n"
        "warning = None\n"),
        props=props(summary="{'deadline': deadline, 'warning': None, 'overdue': False, 'extended': True, "
                            "'status': '办理中'}"))

    p.node("Gateway_escalate_merge", "xgw", "提级", W2, 24)
    p.node("Gateway_level", "xgw", "案件层级？", W2, 25)
    p.node("Task_to_city", "script", "上报市工作组", W2, 11, script=(
        "escalated_from = org\n"
        "org = 'city'\n"
        "level = 'city'\n"),
        props=props(summary="{'level': 'city', 'status': '上报市级', 'escalated_from': escalated_from}"))
    p.node("Call_leader", "call", "领导督办", L, 26, called="ztc_leader")
    p.node("Gateway_leader", "xgw", "督办方式？", L, 27)
    p.node("Task_leader_deadline", "script", "按批示设定时限", W3, 28, script=(
        "deadline = add_workdays(now(), leader_deadline_days)\n"
        "warning = None\n"),
        props=props(summary="{'deadline': deadline, 'warning': None, 'overdue': False, 'status': '签批督办'}"))

    p.node("Task_dissatisfied", "user", "不满意处置", W2, 29, props=props(
        "dissatisfied", WG, due="add_workdays(now(), 2)"))
    p.node("Gateway_dissatisfied", "xgw", "处置方式？", W2, 30)
    p.node("End_explained", "tend", "说明情况后办结", W2, 31,
           props=props(summary="{'status': '已办结', 'outcome': 'explained', " + ENDED + "}"))
    p.node("Task_reopen", "script", "重新交办", W3, 30, script="reopen_count = reopen_count + 1\n",
           props=props(summary="{'reopen_count': reopen_count, 'status': '重新交办', 'satisfaction': None}"))
    p.node("Gateway_reopen_limit", "xgw", "达到提级次数？", W3, 31)

    # withdrawal at any time
    p.container("Sub_withdraw", "evsub", "企业撤回", (E, 11, E, 13))
    p.node("Start_withdraw", "start", "企业申请撤回", E, 11, parent="Sub_withdraw", message="enterprise_withdraws",
           message_var="withdrawal")
    p.node("Task_withdraw", "script", "撤回案件", E, 12, parent="Sub_withdraw",
           script="withdraw_reason = withdrawal.get('reason', '') if withdrawal else ''\n",
           props=props(summary="{'status': '已撤回', 'outcome': 'withdrawn', 'withdraw_reason': withdraw_reason, "
                               + ENDED + "}"))
    p.node("End_withdrawn", "end", "已撤回", E, 13, parent="Sub_withdraw")
    p.flow("Start_withdraw", "Task_withdraw")
    p.flow("Task_withdraw", "End_withdrawn")

    # flows
    f = p.flow
    f("Start_submitted", "Task_register")
    f("Task_register", "Task_rules")
    f("Task_rules", "Gateway_intake_merge")
    f("Gateway_intake_merge", "Task_intake")
    f("Task_intake", "Gateway_intake")
    f("Gateway_intake", "End_rejected", "不予受理", cond="intake_decision == 'reject'")
    f("Gateway_intake", "Gateway_material", "补充材料", cond="intake_decision == 'need_material'")
    f("Gateway_intake", "Gateway_dispatch_merge", "受理", default=True)
    f("Gateway_material", "Event_material")
    f("Gateway_material", "Event_material_timeout")
    f("Event_material", "Gateway_intake_merge")
    f("Event_material_timeout", "End_no_material")
    f("Gateway_dispatch_merge", "Task_suggest_units")
    f("Task_suggest_units", "Task_suggest_mode")
    f("Task_suggest_mode", "Task_prepare_dispatch")
    f("Task_prepare_dispatch", "Task_dispatch")
    f("Task_dispatch", "Gateway_dispatch")
    f("Gateway_dispatch", "Task_deadline_rule", "交办", default=True)
    f("Gateway_dispatch", "Task_to_city", "上报市工作组", cond="dispatch_action == 'to_city' and level == 'county'")
    f("Gateway_dispatch", "Gateway_escalate_merge", "提请领导督办", cond="dispatch_action == 'to_leaders'")
    f("Task_deadline_rule", "Task_issue_order")
    f("Task_issue_order", "Gateway_handling_merge")
    f("Gateway_handling_merge", "Sub_handling")
    f("Event_yellow", "Task_yellow")
    f("Task_yellow", "End_yellow")
    f("Event_red", "Task_red")
    f("Task_red", "Gateway_red")
    f("Gateway_red", "End_red_repeat", "已督办", cond="red_already_issued")
    f("Gateway_red", "Task_notice", "未督办", default=True)
    f("Task_notice", "End_notice")
    f("Event_overdue", "Task_overdue")
    f("Task_overdue", "Gateway_escalate_merge")
    f("Sub_handling", "Gateway_unit_outcome")
    f("Gateway_unit_outcome", "Gateway_review_merge", "提交结果", default=True)
    f("Gateway_unit_outcome", "Task_extension_review", "申请延期", cond="head_decision == 'extension'")
    f("Gateway_unit_outcome", "Gateway_escalate_merge", "申请提级", cond="head_decision == 'escalation'")
    f("Gateway_review_merge", "Task_result_review")
    f("Task_result_review", "Gateway_review")
    f("Gateway_review", "Call_return_visit", "审核通过", default=True)
    f("Gateway_review", "Gateway_handling_merge", "退回重办", cond="review_decision == 'send_back'")
    f("Gateway_review", "Gateway_escalate_merge", "提请领导督办", cond="review_decision == 'escalate'")
    f("Call_return_visit", "Gateway_visit")
    f("Gateway_visit", "End_closed", "满意/基本满意", cond="satisfaction in ('满意', '基本满意')")
    f("Gateway_visit", "End_no_answer", "未回访成功", cond="satisfaction == '未回访成功'")
    f("Gateway_visit", "Task_dissatisfied", "不满意", default=True)
    f("Task_extension_review", "Gateway_extension")
    f("Gateway_extension", "Task_extend", "同意", cond="extension_approved")
    f("Gateway_extension", "Gateway_handling_merge", "不同意", default=True)
    f("Task_extend", "Gateway_handling_merge")
    f("Gateway_escalate_merge", "Gateway_level")
    f("Gateway_level", "Task_to_city", "县级案件", cond="level == 'county'")
    f("Gateway_level", "Call_leader", "市级案件", default=True)
    f("Task_to_city", "Gateway_dispatch_merge")
    f("Call_leader", "Gateway_leader")
    f("Gateway_leader", "Task_leader_deadline", "签批督办", default=True)
    f("Gateway_leader", "Gateway_review_merge", "专题会议/现场办公", cond="leader_mode in ('专题会议', '现场办公')")
    f("Task_leader_deadline", "Gateway_handling_merge")
    f("Task_dissatisfied", "Gateway_dissatisfied")
    f("Gateway_dissatisfied", "End_explained", "说明情况", cond="dissatisfied_decision == 'explain'")
    f("Gateway_dissatisfied", "Task_reopen", "重新交办", default=True)
    f("Task_reopen", "Gateway_reopen_limit")
    f("Gateway_reopen_limit", "Gateway_escalate_merge", "提级", cond="reopen_count >= reopen_leader_threshold")
    f("Gateway_reopen_limit", "Gateway_dispatch_merge", "再次交办", default=True)
    return p


def leader_process() -> Proc:
    p = Proc("ztc_leader", "领导督办（签批督办/专题会议/现场办公）", [
        ("Lane_wg", "直通车工作组", 2),
        ("Lane_leader", "市领导", 1),
    ], doc="提级案件编入专报，由市领导选择签批督办、专题会议或现场办公；会议和现场办公的议定事项逐项跟踪落实。")
    W1, W2, L = 0, 1, 2
    p.node("Start_leader", "start", "提级督办", W1, 0)
    p.node("Task_bulletin", "script", "编入专报", W1, 1, script=(
        "escalated = True\n"
        "decision_items = []\n"
        "leader_deadline_days = None\n"),
        props=props(summary="{'escalated': True, 'in_bulletin': True, 'status': '领导督办', 'stage': '提级督办'}"))
    p.node("Task_leader_decision", "user", "领导批示", L, 2, props=props(
        "leader-decision", "'leader:city'", due="add_workdays(now(), 2)",
        summary="{'leader_mode': leader_mode, 'leader_instruction': instruction}"))
    p.node("Gateway_mode", "xgw", "督办方式？", L, 3)
    p.node("Task_meeting", "user", "专题会议纪要", W1, 4, props=props(
        "meeting-minutes", "'wg:city'", due="add_workdays(now(), 5)",
        summary="{'status': '议定事项落实中', 'decision_items_total': len(decision_items)}"))
    p.node("Task_onsite", "user", "现场办公记录", W2, 4, props=props(
        "onsite-record", "'wg:city'", due="add_workdays(now(), 5)",
        summary="{'status': '议定事项落实中', 'decision_items_total': len(decision_items)}"))
    p.node("Gateway_items_merge", "xgw", "", W1, 5)
    p.node("Call_items", "call", "议定事项跟踪", W1, 6, called="ztc_decision_items")
    p.node("Gateway_end_merge", "xgw", "", W1, 7)
    p.node("End_leader", "end", "督办完成", W1, 8)
    f = p.flow
    f("Start_leader", "Task_bulletin")
    f("Task_bulletin", "Task_leader_decision")
    f("Task_leader_decision", "Gateway_mode")
    f("Gateway_mode", "Task_meeting", "专题会议", cond="leader_mode == '专题会议'")
    f("Gateway_mode", "Task_onsite", "现场办公", cond="leader_mode == '现场办公'")
    f("Gateway_mode", "Gateway_end_merge", "签批督办", default=True)
    f("Task_meeting", "Gateway_items_merge")
    f("Task_onsite", "Gateway_items_merge")
    f("Gateway_items_merge", "Call_items")
    f("Call_items", "Gateway_end_merge")
    f("Gateway_end_merge", "End_leader")
    return p


def decision_items_process() -> Proc:
    p = Proc("ztc_decision_items", "议定事项跟踪", [
        ("Lane_unit", "责任单位", 1),
        ("Lane_wg", "直通车工作组", 1),
    ], doc="会议纪要或现场办公记录中的每个议定事项由其责任单位在期限内落实；全部落实后案件继续。")
    U, W = 0, 1
    p.node("Start_items", "start", "议定事项下达", W, 0)
    p.node("Task_split_items", "script", "分解议定事项", W, 1, script="item_results = []\n")
    p.node("Task_item", "user", "落实议定事项", U, 2, props=props(
        "decision-item-report", "'unit:' + item['unit']", due="add_workdays(item['deadline'], 0)"),
        mi={"input": "decision_items", "output": "item_results", "item": "item", "output_item": "item_result"},
        postscript="item_result = {'content': item['content'], 'unit': item['unit'], 'deadline': item['deadline'], "
                   "'result': item_report, 'completed_at': now()}\n")
    p.node("Task_items_done", "script", "汇总落实情况", W, 3, script="items_done = len(item_results)\n",
           props=props(summary="{'decision_items_done': items_done, 'status': '议定事项已落实'}"))
    p.node("End_items", "end", "议定事项全部落实", W, 4)
    f = p.flow
    f("Start_items", "Task_split_items")
    f("Task_split_items", "Task_item")
    f("Task_item", "Task_items_done")
    f("Task_items_done", "End_items")
    return p


def return_visit_process() -> Proc:
    p = Proc("ztc_return_visit", "回访", [
        ("Lane_enterprise", "企业", 1),
        ("Lane_wg", "直通车工作组", 1),
    ], doc="工作组回访企业（或企业在线评价）：满意、基本满意或不满意；规定工作日内无应答记为未回访成功。")
    E, W = 0, 1
    p.node("Start_visit", "start", "开始回访", W, 0)
    p.node("Task_start_visit", "script", "发起回访", W, 1, script="satisfaction = None\nvisit_comment = None\n",
           props=props(summary="{'status': '待回访', 'stage': '回访'}"))
    p.node("Task_visit", "user", "回访评价", E, 2, props=props(
        "return-visit", "['wg:' + org, 'enterprise:' + uscc]", due="add_workdays(now(), visit_wait_days)",
        summary="{'satisfaction': satisfaction}"))
    p.boundary("Event_visit_timeout", "回访无应答", "Task_visit", 2, interrupting=True,
               timer="add_workdays(now(), visit_wait_days)")
    p.node("Task_no_answer", "script", "记为未回访成功", W, 3, script="satisfaction = '未回访成功'\n",
           props=props(summary="{'satisfaction': '未回访成功'}"))
    p.node("Gateway_visit_merge", "xgw", "", E, 4)
    p.node("End_visit", "end", "回访结束", E, 5)
    f = p.flow
    f("Start_visit", "Task_start_visit")
    f("Task_start_visit", "Task_visit")
    f("Task_visit", "Gateway_visit_merge")
    f("Event_visit_timeout", "Task_no_answer")
    f("Task_no_answer", "Gateway_visit_merge")
    f("Gateway_visit_merge", "End_visit")
    return p


WGS = ["city", "shuangta", "longcheng", "beipiao", "lingyuan", "chaoyangxian", "jianping", "kazuo"]


def weekly_report_process() -> Proc:
    p = Proc("ztc_weekly_report", "“1+7”招商机制周报", [
        ("Lane_city", "市直通车工作组", 1),
        ("Lane_all", "各工作组（1+7）", 1),
    ], doc="每周五定时启动：市及七县（市）区工作组并行填报本周数据，市工作组汇总后发布周报。")
    C, A = 0, 1
    p.node("Start_weekly", "start", "每周五 9:00", C, 0, timer_kind="timeCycle", timer=(
        "'R/' + (date.fromisoformat(today()) + timedelta(days=(4 - date.fromisoformat(today()).weekday()) % 7 or 7))"
        ".isoformat() + 'T09:00:00+08:00/P7D'"))
    p.node("Task_open_week", "script", "生成本期周报", C, 1, script=(
        f"working_groups = {WGS!r}\n"
        "week_of = today()\n"
        "figures = []\n"),
        props=props(summary="{'title': '“1+7”招商机制周报', 'status': '填报中', 'week_of': week_of}"))
    p.node("Task_fill", "user", "填报本周数据", A, 2, props=props(
        "weekly-figures", "'wg:' + wg", due="add_workdays(now(), 1)"),
        mi={"input": "working_groups", "output": "figures", "item": "wg", "output_item": "figure"},
        postscript=("figure = {'wg': wg, 'enterprises_contacted': enterprises_contacted, "
                    "'coordinations': coordinations, 'problems_solved': problems_solved, "
                    "'projects_signed': projects_signed, 'investment_wan_yuan': investment_wan_yuan}\n"))
    p.node("Task_totals", "script", "汇总数据", C, 3, script=(
        "totals = {k: sum(f[k] for f in figures) for k in "
        "['enterprises_contacted', 'coordinations', 'problems_solved', 'projects_signed', 'investment_wan_yuan']}\n"))
    p.node("Task_publish", "user", "审定发布周报", C, 4, props=props(
        "weekly-compile", "'wg:city'", due="add_workdays(now(), 1)",
        summary="{'status': '已发布', 'issue_no': issue_no, 'totals': totals, 'week_of': week_of}"))
    p.node("End_weekly", "end", "周报已发布", C, 5)
    f = p.flow
    f("Start_weekly", "Task_open_week")
    f("Task_open_week", "Task_fill")
    f("Task_fill", "Task_totals")
    f("Task_totals", "Task_publish")
    f("Task_publish", "End_weekly")
    return p


def main() -> None:
    for name, proc in [("case.bpmn", case_process()), ("leader.bpmn", leader_process()),
                       ("decision_items.bpmn", decision_items_process()),
                       ("return_visit.bpmn", return_visit_process()),
                       ("weekly_report.bpmn", weekly_report_process())]:
        (OUT / name).write_text(pretty(proc.to_xml()), encoding="utf-8")
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
