"""Words the engine stores or reports in English, shown on the designer pages in the page's
language. A version diff (engine/versions.py, engine/valuediff.py, as ``zhitongche diff`` prints
it): attribute labels such as ``properties`` and the ``what`` of a value row such as ``property
dueDate``, ``field risk.title``, ``condition → Task_x`` or ``ztc_deadline rule 4 (r4) [办理时限]``. A
deployment's source (``web edit of v3: deadline.dmn``). The words of the DMN editor (dmn-js).
Names and ids stay as they are."""

from __future__ import annotations

import re

from flask_babel import gettext as _


def _attributes() -> dict[str, str]:
    return {
        "name": _("名称"),
        "incoming flows": _("流入连线"),
        "outgoing flows": _("流出连线"),
        "properties": _("属性"),
        "conditions": _("条件"),
        "default flow": _("默认连线"),
        "lane": _("泳道"),
        "event": _("事件"),
        "script": _("脚本"),
        "pre-script": _("前置脚本"),
        "post-script": _("后置脚本"),
        "element type": _("元素类型"),
        "documentation": _("说明文档"),
        "data inputs": _("数据输入"),
        "data outputs": _("数据输出"),
        "inputs/outputs": _("输入/输出"),
        "called process": _("调用的流程"),
        "interrupting": _("是否中断"),
        "decision table": _("决策表"),
        "content": _("内容"),
        "prescript": _("前置脚本"),
        "postscript": _("后置脚本"),
        "default_task_spec": _("默认连线"),
    }


def attribute(label: str) -> str:
    """``properties`` → 属性 (an unknown label is shown as it is)."""
    return _attributes().get(label, label)


_PREFIXED = re.compile(r"^(property|field|condition →) (.+)$")
_RULE = re.compile(r"^(\S+) rule (\d+) \((\S+)\) \[(.*)\]$")
_HIT = re.compile(r"^(\S+) hit policy$")


def what(text: str) -> str:
    """The ``what`` of a value row, its English words translated."""
    found = _PREFIXED.match(text)
    if found:
        name = found.group(2)
        if found.group(1) == "property":
            return _("属性 %(name)s", name=name)
        if found.group(1) == "field":
            return _("字段 %(name)s", name=name)
        return _("条件 → %(target)s", target=name)
    found = _RULE.match(text)
    if found:
        table, n, rule, column = found.groups()
        return _("%(table)s 第 %(n)s 条规则（%(rule)s）「%(column)s」", table=table, n=n, rule=rule, column=column)
    found = _HIT.match(text)
    if found:
        return _("%(table)s 命中策略", table=found.group(1))
    return attribute(text)


_SOURCES = (
    (re.compile(r"^web edit of v\d+: (.+)$"), lambda m: _("网页修改：%(files)s", files=m.group(1))),
    (re.compile(r"^web upload: (.+)$"), lambda m: _("网页上传：%(files)s", files=m.group(1))),
    (re.compile(r"^web: repository files$"), lambda m: _("网页部署代码仓库中的文件")),
    (re.compile(r"^files: (.+)$"), lambda m: _("目录 %(path)s", path=m.group(1))),
)


def source(text: str | None) -> str:
    """Where a deployment came from, as the version list shows it (the base version is shown
    beside it, so a web edit names only its files)."""
    for pattern, words in _SOURCES:
        found = pattern.match(text or "")
        if found:
            return words(found)
    return text or ""


def dmn_words() -> dict[str, str]:
    """dmn-js's own English words (its ``translate`` service) in the page's language: the table's
    header, hit policies (those the engine does not run marked 不支持 / not supported, as deploy
    refuses them) and the right-click menu of the decision table editor."""
    return {
        "View DRD": _("查看决策关系图"),
        "Hit policy:": _("命中策略："),
        "Hit policy": _("命中策略"),
        "When": _("当"),
        "And": _("且"),
        "Then": _("则"),
        "Annotations": _("备注"),
        "Annotation": _("备注"),
        "Add rule": _("添加规则"),
        "Add rule above": _("在上方添加规则"),
        "Add rule below": _("在下方添加规则"),
        "Remove rule": _("删除规则"),
        "Copy rule": _("复制规则"),
        "Cut rule": _("剪切规则"),
        "Paste rule above": _("粘贴规则到上方"),
        "Paste rule below": _("粘贴规则到下方"),
        "Move rule": _("移动规则"),
        "Add input": _("添加输入列"),
        "Add output": _("添加输出列"),
        "Add input column left": _("在左侧添加输入列"),
        "Add input column right": _("在右侧添加输入列"),
        "Remove input column": _("删除输入列"),
        "Copy input column": _("复制输入列"),
        "Cut input column": _("剪切输入列"),
        "Paste input column left": _("粘贴输入列到左侧"),
        "Paste input column right": _("粘贴输入列到右侧"),
        "Add output column left": _("在左侧添加输出列"),
        "Add output column right": _("在右侧添加输出列"),
        "Remove output column": _("删除输出列"),
        "Copy output column": _("复制输出列"),
        "Cut output column": _("剪切输出列"),
        "Paste output column left": _("粘贴输出列到左侧"),
        "Paste output column right": _("粘贴输出列到右侧"),
        "Add cell description": _("添加单元格说明"),
        "Remove cell description": _("删除单元格说明"),
        "Strings must be in double quotes": _("字符串须加英文双引号"),
        "Input": _("输入"),
        "Output": _("输出"),
        "Input label": _("输入列标题"),
        "Input expression": _("输入表达式"),
        "Output label": _("输出列标题"),
        "Output name": _("输出变量名"),
        "Expression language": _("表达式语言"),
        "Type": _("类型"),
        "Edit string": _("编辑文本"),
        "Edit number": _("编辑数字"),
        "Edit boolean": _("编辑是/否"),
        "Match one": _("匹配其中之一"),
        "Match none": _("不匹配任何一个"),
        "Unique": _("唯一（Unique）"),
        "First": _("首个（First）"),
        "Priority": _("优先级（Priority，不支持）"),
        "Any": _("任意（Any，不支持）"),
        "Collect": _("汇总（Collect）"),
        "Collect (Sum)": _("汇总求和（Collect Sum，不支持）"),
        "Collect (Min)": _("汇总最小值（Collect Min，不支持）"),
        "Collect (Max)": _("汇总最大值（Collect Max，不支持）"),
        "Collect (Count)": _("汇总计数（Collect Count，不支持）"),
        "Rule order": _("规则顺序（Rule order，不支持）"),
        "Output order": _("输出顺序（Output order，不支持）"),
        "Yes": _("是"),
        "No": _("否"),
    }
