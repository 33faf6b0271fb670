"""Words the engine stores or reports in English, shown on the designer pages in the page's
language. A version diff (engine/versions.py, engine/valuediff.py, as ``zhitongche diff`` prints
it): attribute labels such as ``properties`` and the ``what`` of a value row such as ``property
dueDate``, ``field risk.title``, ``condition → Task_x`` or ``ztc_deadline rule r4 [办理时限]``. A
deployment's source (``web edit of v3: deadline.dmn``). Names and ids stay as they are."""

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
_RULE = re.compile(r"^(\S+) rule (\S+) \[(.*)\]$")
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
        return _("%(table)s 规则 %(rule)s「%(column)s」", table=found.group(1), rule=found.group(2), column=found.group(3))
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
