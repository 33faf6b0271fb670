"""Template helpers: Beijing times, county and unit names, labels of audit actions."""

from __future__ import annotations

import datetime as _dt

from flask_babel import gettext as _

from engine.workdays import CHINA

from .context import get_directory
from .i18n import current_lang


def beijing(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(CHINA).strftime(fmt)
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def filesize(n: int) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def action_label(action: str) -> str:
    return {
        "start": _("提交"),
        "complete": _("完成"),
        "claim": _("认领"),
        "unclaim": _("退回组待办"),
        "assign": _("指派"),
        "delegate": _("委派"),
        "take_back": _("收回"),
        "message": _("消息"),
        "timer": _("定时"),
        "incident": _("异常"),
        "retry": _("重试"),
        "comment": _("评论"),
        "upload": _("上传附件"),
        "draft": _("保存草稿"),
        "update_data": _("更正数据"),
        "suspend": _("挂起"),
        "resume": _("恢复"),
        "terminate": _("终止"),
        "calendar": _("修改工作日历"),
        "timer_start": _("定时启动"),
        "send_back": _("退回"),
        "recall": _("撤回"),
        "migrate": _("版本迁移"),
    }.get(action, action)


def _group_names(groups) -> str:
    from .directory import group_names  # unit:zrzyj → 市自然资源局

    return group_names(groups)


def step_name(name: str | None) -> str:
    """A step's (task's) name in the reader's language: the catalogue's English for the
    shipped processes' names (受理审查 → Intake review); a name the catalogue does not know
    stays as written."""
    return _(name) if name else (name or "")


def term(value):
    """A word of the case's vocabulary kept in its data (类别, 紧急程度, 办理方式, 状态, 满意度 …) in
    the reader's language: the catalogue's English where it has the word (webapp/translations,
    "case vocabulary"); anything else as stored."""
    return _(value) if isinstance(value, str) and value else (value or "")


def register(app) -> None:
    directory = get_directory
    app.jinja_env.filters["beijing"] = beijing
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["action_label"] = action_label
    app.jinja_env.filters["county_name"] = lambda c: directory().county_name(c)
    app.jinja_env.filters["unit_name"] = lambda u: directory().unit_name(u)
    app.jinja_env.filters["unit_names"] = lambda us: "、".join(directory().unit_name(u) for u in (us or []))
    app.jinja_env.filters["group_names"] = _group_names
    app.jinja_env.filters["step_name"] = step_name
    app.jinja_env.filters["term"] = term
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["directory"] = directory
