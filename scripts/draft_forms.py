"""Dev tool: draft processes/directory.json and the forms in forms/.

    .venv/bin/python scripts/draft_forms.py

Wrote the first version of the committed JSON files; from then on edit those files.
tests/test_forms.py checks that the unit and county lists of the forms agree with
processes/directory.json, so after adding a unit to the directory, add it to the forms too
(or re-run this script).
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
S = "https://json-schema.org/draft/2020-12/schema"

COUNTIES = [("city", "朝阳市"), ("shuangta", "双塔区"), ("longcheng", "龙城区"), ("beipiao", "北票市"),
            ("lingyuan", "凌源市"), ("chaoyangxian", "朝阳县"), ("jianping", "建平县"), ("kazuo", "喀左县")]
BASE_UNITS = [("zrzyj", "自然资源局"), ("sthjj", "生态环境局"), ("zjj", "住房和城乡建设局"), ("fgw", "发展和改革委员会"),
              ("yshj", "营商环境建设局"), ("jrfzj", "金融发展局"), ("gdgs", "供电公司"), ("gaj", "公安局"),
              ("gxj", "工业和信息化局"), ("rsj", "人力资源和社会保障局")]
CATEGORIES = ["土地批复", "门牌备案", "要素保障", "环评手续", "设计变更", "融资贷款", "项目推进", "其他"]
MODES = ["马上办", "快速办", "监督办"]
URGENCIES = ["一般", "紧急", "特急"]


def directory() -> dict:
    units = []
    for code, name in BASE_UNITS:
        units.append({"code": code, "name": ("朝阳" if code == "gdgs" else "市") + name, "county": "city"})
    for county, cname in COUNTIES[1:]:
        for code, name in BASE_UNITS:
            units.append({"code": f"{county}.{code}", "name": cname + name, "county": county})
    return {
        "_comment": "县（市）区与责任单位名录：代码、中文名称、所属县区。演示用户、界面和表单的单一数据来源。"
                    "市直单位代码不带前缀，县区单位代码为“县区代码.单位代码”。",
        "counties": [{"code": c, "name": n, "level": "city" if c == "city" else "county"} for c, n in COUNTIES],
        "units": units,
    }


def one_of(pairs):
    return [{"const": c, "title": t} for c, t in pairs]


def units_schema(d):
    return {"type": "string", "oneOf": one_of((u["code"], u["name"]) for u in d["units"])}


def text(title, description=None, max_length=2000, min_length=None):
    s = {"type": "string", "title": title, "maxLength": max_length}
    if description:
        s["description"] = description
    if min_length:
        s["minLength"] = min_length
    return s


def form(name, title, description, properties, required, extra=None, order=None, widgets=None):
    schema = {"$schema": S, "$id": f"{name}.schema.json", "title": title, "description": description,
              "type": "object", "properties": properties, "required": required, "additionalProperties": False}
    schema.update(extra or {})
    ui = {"ui:order": order or list(properties)}
    for field, widget in (widgets or {}).items():
        ui[field] = widget
    return schema, ui


def decision_items(d):
    return {
        "type": "array", "title": "议定事项", "description": "每个议定事项由一个责任单位在期限内落实，可添加多项。",
        "minItems": 1, "maxItems": 50,
        "items": {"type": "object", "title": "议定事项", "required": ["content", "unit", "deadline"],
                  "additionalProperties": False,
                  "properties": {
                      "content": text("事项内容", "需落实的具体事项", 1000, 1),
                      "unit": dict(units_schema(d), title="责任单位", description="负责落实该事项的单位"),
                      "deadline": {"type": "string", "format": "date", "title": "完成期限",
                                   "description": "须在该日下班前落实（YYYY-MM-DD）"}}},
    }


def forms(d):
    counties = {"type": "string", "oneOf": one_of((c["code"], c["name"]) for c in d["counties"])}
    out = {}
    out["case-submit"] = form("case-submit", "企业诉求登记", "企业在线提交，或由工作组代为登记（电话、来访、调研、县区上报）。", {
        "enterprise_name": text("企业名称", "营业执照上的企业全称", 200, 2),
        "uscc": {"type": "string", "format": "uscc", "title": "统一社会信用代码", "description": "18位，末位为校验码"},
        "contact": text("联系人", None, 50, 1),
        "mobile": {"type": "string", "format": "cn-mobile", "title": "手机号码", "description": "11位手机号码"},
        "county": dict(counties, title="所在县（市）区", description="选择“朝阳市”表示直接由市直通车工作组办理"),
        "project": text("项目名称", "涉及的项目（可不填）", 200),
        "category": {"type": "string", "title": "问题类别", "enum": CATEGORIES},
        "title": text("诉求标题", "一句话概括遇到的问题", 100, 4),
        "description": text("问题描述", "问题的来龙去脉、已做过的工作", 5000, 10),
        "help_wanted": text("希望解决的事项", "希望政府帮助解决什么", 2000, 2),
        "urgency": {"type": "string", "title": "紧急程度", "enum": URGENCIES, "default": "一般"},
        "source": {"type": "string", "title": "诉求来源", "oneOf": one_of([
            ("online", "企业网上提交"), ("phone", "电话"), ("visit", "来访"), ("research", "调研走访"),
            ("county", "县区上报")]), "default": "online"},
        "attachments": {"type": "array", "title": "附件", "description": "上传的材料文件编号", "items": {"type": "string"},
                        "maxItems": 20},
    }, ["enterprise_name", "uscc", "contact", "mobile", "county", "category", "title", "description", "help_wanted",
        "urgency"], widgets={"description": {"ui:widget": "textarea"}, "help_wanted": {"ui:widget": "textarea"}})
    out["intake-review"] = form("intake-review", "受理审查", "判断诉求是否属于直通车受理范围、材料是否齐全。", {
        "intake_decision": {"type": "string", "title": "审查结论", "oneOf": one_of([
            ("accept", "受理"), ("reject", "不予受理"), ("need_material", "请企业补充材料")])},
        "intake_reason": text("理由", "不予受理时必须说明理由（将告知企业）", 1000),
        "material_request": text("需补充的材料", "请企业补充哪些材料", 1000),
    }, ["intake_decision"], extra={"allOf": [
        {"if": {"properties": {"intake_decision": {"const": "reject"}}},
         "then": {"required": ["intake_reason"]}},
        {"if": {"properties": {"intake_decision": {"const": "need_material"}}},
         "then": {"required": ["material_request"]}}]},
        widgets={"intake_decision": {"ui:widget": "radio"}})
    out["dispatch"] = form("dispatch", "分级交办（交办单）", "确认层级、类别、牵头单位、配合单位、办理方式和时限；系统已按规则给出建议。", {
        "dispatch_action": {"type": "string", "title": "处理方式", "default": "dispatch", "oneOf": one_of([
            ("dispatch", "交办责任单位"), ("to_city", "上报市直通车工作组（县区无法解决）"),
            ("to_leaders", "提请市领导督办")])},
        "category": {"type": "string", "title": "问题类别", "enum": CATEGORIES},
        "lead_unit": dict(units_schema(d), title="牵头单位", description="默认值来自“问题类别→牵头单位”规则"),
        "coop_units": {"type": "array", "title": "配合单位", "description": "可多选，各配合单位并行出具意见",
                       "items": units_schema(d), "uniqueItems": True, "maxItems": 10},
        "mode": {"type": "string", "title": "办理方式", "enum": MODES,
                 "description": "马上办、快速办、监督办，时限按规则表计算"},
        "deadline_days_override": {"type": "integer", "title": "办理时限（工作日）", "minimum": 1, "maximum": 90,
                                   "description": "留空则按规则表计算（马上办3、快速办7、监督办15个工作日）"},
        "dispatch_note": text("交办意见", None, 2000),
    }, ["dispatch_action", "lead_unit", "mode"], widgets={"dispatch_action": {"ui:widget": "radio"}})
    out["unit-draft"] = form("unit-draft", "拟办办理结果", "牵头单位经办人填写办理情况，报单位负责人审核。", {
        "handling_result": text("办理情况", "已采取的措施和结果", 5000, 2),
        "solved": {"type": "boolean", "title": "问题是否已解决", "default": True},
        "attachments": {"type": "array", "title": "附件", "items": {"type": "string"}, "maxItems": 20},
    }, ["handling_result", "solved"], widgets={"handling_result": {"ui:widget": "textarea"}})
    out["coop-opinion"] = form("coop-opinion", "配合单位意见", "配合单位就本案出具意见。", {
        "coop_agree": {"type": "boolean", "title": "是否同意牵头单位处理意见", "default": True},
        "coop_opinion_text": text("意见", "本单位的意见和可提供的支持", 3000, 1),
    }, ["coop_agree", "coop_opinion_text"], widgets={"coop_opinion_text": {"ui:widget": "textarea"}})
    out["unit-head-review"] = form("unit-head-review", "单位负责人审核", "审核办理结果后提交，或退回重拟、申请延期、申请提级。", {
        "head_decision": {"type": "string", "title": "审核意见", "oneOf": one_of([
            ("submit", "同意，提交工作组"), ("redo", "退回经办人重拟"), ("extension", "申请延期"),
            ("escalation", "申请提级督办")])},
        "head_reason": text("说明", "退回、延期或提级的理由", 2000),
        "extension_days": {"type": "integer", "title": "申请延期（工作日）", "minimum": 1, "maximum": 60},
    }, ["head_decision"], extra={"allOf": [
        {"if": {"properties": {"head_decision": {"const": "extension"}}},
         "then": {"required": ["extension_days", "head_reason"]}},
        {"if": {"properties": {"head_decision": {"const": "escalation"}}}, "then": {"required": ["head_reason"]}}]},
        widgets={"head_decision": {"ui:widget": "radio"}})
    out["supervision-notice"] = form("supervision-notice", "督办单", "案件已超过办理时限（红牌督办），向责任单位签发督办单。", {
        "supervision_notice_no": text("督办单编号", "如：督字〔2026〕12号", 50, 1),
        "supervision_content": text("督办要求", "督办事项和要求", 3000, 2),
        "reply_days": {"type": "integer", "title": "限期回复（工作日）", "minimum": 1, "maximum": 30, "default": 2},
    }, ["supervision_notice_no", "supervision_content"])
    out["extension-review"] = form("extension-review", "延期审批", "工作组审批责任单位的延期申请；同意后办理时限顺延，预警重新计时。", {
        "extension_approved": {"type": "boolean", "title": "是否同意延期"},
        "extension_days_granted": {"type": "integer", "title": "同意延期（工作日）", "minimum": 1, "maximum": 60},
        "extension_comment": text("审批意见", None, 2000),
    }, ["extension_approved"], extra={"allOf": [
        {"if": {"properties": {"extension_approved": {"const": True}}},
         "then": {"required": ["extension_days_granted"]}}]})
    out["result-review"] = form("result-review", "办理结果审核", "工作组审核责任单位上报的办理结果。", {
        "review_decision": {"type": "string", "title": "审核结论", "oneOf": one_of([
            ("accept", "审核通过，转回访"), ("send_back", "退回重办"), ("escalate", "提请市领导督办")])},
        "review_reason": text("审核意见", "退回或提级时必须说明理由", 2000),
    }, ["review_decision"], extra={"allOf": [
        {"if": {"properties": {"review_decision": {"enum": ["send_back", "escalate"]}}},
         "then": {"required": ["review_reason"]}}]}, widgets={"review_decision": {"ui:widget": "radio"}})
    out["return-visit"] = form("return-visit", "回访评价", "工作组回访企业，或企业在线评价办理结果。", {
        "satisfaction": {"type": "string", "title": "满意度", "oneOf": one_of([
            ("满意", "满意"), ("基本满意", "基本满意"), ("不满意", "不满意")])},
        "visit_method": {"type": "string", "title": "回访方式", "oneOf": one_of([
            ("online", "企业在线评价"), ("phone", "电话回访"), ("onsite", "上门回访")]), "default": "phone"},
        "visit_comment": text("企业意见", "企业对办理结果的意见和建议", 3000),
    }, ["satisfaction"], extra={"allOf": [
        {"if": {"properties": {"satisfaction": {"const": "不满意"}}}, "then": {"required": ["visit_comment"]}}]},
        widgets={"satisfaction": {"ui:widget": "radio"}})
    out["dissatisfied"] = form("dissatisfied", "不满意处置", "企业对办理结果不满意：重新交办（第二次起提请领导督办），或书面说明情况后办结。", {
        "dissatisfied_decision": {"type": "string", "title": "处置方式", "oneOf": one_of([
            ("reopen", "重新交办"), ("explain", "书面说明情况后办结")])},
        "explanation": text("情况说明", "如诉求不符合政策规定等，须书面说明", 3000),
    }, ["dissatisfied_decision"], extra={"allOf": [
        {"if": {"properties": {"dissatisfied_decision": {"const": "explain"}}}, "then": {"required": ["explanation"]}}]},
        widgets={"dissatisfied_decision": {"ui:widget": "radio"}})
    out["leader-decision"] = form("leader-decision", "领导批示", "市领导阅示专报中的案件，选择督办方式。", {
        "leader_mode": {"type": "string", "title": "督办方式", "enum": ["签批督办", "专题会议", "现场办公"]},
        "instruction": text("批示内容", None, 3000, 1),
        "leader_deadline_days": {"type": "integer", "title": "签批督办时限（工作日）", "minimum": 1, "maximum": 60,
                                 "description": "签批督办时必填：责任单位须在此期限内办结"},
    }, ["leader_mode", "instruction"], extra={"allOf": [
        {"if": {"properties": {"leader_mode": {"const": "签批督办"}}}, "then": {"required": ["leader_deadline_days"]}}]},
        widgets={"leader_mode": {"ui:widget": "radio"}, "instruction": {"ui:widget": "textarea"}})
    attendees = {"type": "array", "title": "参会人员", "items": {"type": "string", "maxLength": 100}, "minItems": 1,
                 "maxItems": 100, "description": "姓名及职务"}
    out["meeting-minutes"] = form("meeting-minutes", "专题会议纪要", "记录专题会议的参会人员、会议纪要和议定事项。", {
        "meeting_date": {"type": "string", "format": "date", "title": "会议日期"},
        "attendees": attendees,
        "minutes": text("会议纪要", None, 10000, 1),
        "decision_items": decision_items(d),
    }, ["meeting_date", "attendees", "minutes", "decision_items"], widgets={"minutes": {"ui:widget": "textarea"}})
    out["onsite-record"] = form("onsite-record", "现场办公记录", "记录现场办公的地点、参加人员、现场记录和议定事项。", {
        "visit_date": {"type": "string", "format": "date", "title": "现场办公日期"},
        "location": text("地点", "项目现场地址", 200, 1),
        "attendees": attendees,
        "onsite_record": text("现场记录", None, 10000, 1),
        "decision_items": decision_items(d),
    }, ["visit_date", "location", "attendees", "onsite_record", "decision_items"],
        widgets={"onsite_record": {"ui:widget": "textarea"}})
    out["decision-item-report"] = form("decision-item-report", "议定事项落实情况", "责任单位报告议定事项的落实情况。", {
        "item_report": text("落实情况", None, 3000, 1),
        "attachments": {"type": "array", "title": "附件", "items": {"type": "string"}, "maxItems": 20},
    }, ["item_report"], widgets={"item_report": {"ui:widget": "textarea"}})
    num = lambda t, desc=None: dict({"type": "integer", "title": t, "minimum": 0}, **({"description": desc} if desc else {}))
    out["weekly-figures"] = form("weekly-figures", "“1+7”周报填报", "本工作组本周的招商和服务企业数据。", {
        "enterprises_contacted": num("沟通企业（家）"),
        "coordinations": num("协调部门（次）"),
        "problems_solved": num("解决难题（个）"),
        "projects_signed": num("签约项目（个）"),
        "investment_wan_yuan": {"type": "number", "title": "签约金额（万元）", "minimum": 0},
        "weekly_notes": text("本周工作情况", None, 3000),
    }, ["enterprises_contacted", "coordinations", "problems_solved", "projects_signed", "investment_wan_yuan"])
    out["weekly-compile"] = form("weekly-compile", "审定发布周报", "市工作组审定汇总数据，编号后发布《“1+7”招商机制周报》。", {
        "issue_no": {"type": "integer", "title": "期号（第N期）", "minimum": 1},
        "compile_summary": text("本期综述", None, 5000, 1),
    }, ["issue_no", "compile_summary"], widgets={"compile_summary": {"ui:widget": "textarea"}})
    return out


def main():
    d = directory()
    (ROOT / "processes" / "directory.json").write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, (schema, ui) in forms(d).items():
        (ROOT / "forms" / f"{name}.schema.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (ROOT / "forms" / f"{name}.uischema.json").write_text(json.dumps(ui, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("wrote", len(forms(d)), "forms")


if __name__ == "__main__":
    main()
