"""Admin page 工作日历 (issue 13): the holidays and adjusted working days (调休) per year,
stored in the database (engine.calendarstore) and picked up by every web and worker process
at its next request or step. A wrong line is refused with its line number, the typed text
kept; every change is audited. Years without official data are estimates: their deadlines
are marked 临时时限, and the page (and /healthz) warns while this year or the next is one."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import calendarstore
from engine.errors import Conflict, InvalidRequest
from engine.workdays import KINDS, PACKAGE_YEARS, to_china_date

from .admin import admin_required, bp
from .context import get_db, get_engine


def source_label(source: str) -> str:
    return {
        "database": _("管理员录入"),
        "file": _("数据文件"),
        "package": _("官方数据（软件包）"),
        "estimate": _("估算（临时时限）"),
    }.get(source, source)


def _lines(text: str) -> tuple[list[str], list[int]]:
    """The dates of a textarea (one per line; blank lines, ``#`` comments and any words after
    the date are ignored) and the line number of each."""
    dates, numbers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            dates.append(line.split()[0])
            numbers.append(number)
    return dates, numbers


def problem_message(code: str, value: str, year: int) -> str:
    return {
        "not_a_date": _("“%(value)s” 不是有效日期（格式 YYYY-MM-DD）", value=value),
        "wrong_year": _("“%(value)s” 不在 %(year)s 年", value=value, year=year),
        "not_weekend": _("“%(value)s” 是周一至周五，本来就是工作日；调休上班日只能是周末", value=value),
        "in_both": _("“%(value)s” 同时被列为放假日和调休上班日", value=value),
    }.get(code, value)


def _year_or_404(year: int) -> int:
    if not 2000 <= year <= 2100:
        abort(404)
    return year


@bp.get("/calendar")
@admin_required
def calendar_index():
    if request.args.get("year", "").isdigit():
        return redirect(url_for("admin.calendar_year", year=_year_or_404(int(request.args["year"]))))
    engine = get_engine()
    this_year = to_china_date(engine.clock.now()).year
    years = sorted(set(range(this_year - 1, this_year + 3)) | set(calendarstore.stored_years(get_db())))
    rows = [
        {
            "year": y,
            "source": engine.calendar.source(y),
            "label": source_label(engine.calendar.source(y)),
            **{k: len(v) for k, v in engine.calendar.year_lists(y).items()},
        }
        for y in years
    ]
    return render_template(
        "admin/calendar.html",
        rows=rows,
        missing=engine.calendar.missing_years(engine.clock.now()),
        package_last=PACKAGE_YEARS[-1],
    )


def _render_year(
    year: int, texts: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None, status: int = 200
):
    calendar = get_engine().calendar
    source = calendar.source(year)
    lists = calendar.year_lists(year)
    if texts is None:
        texts = {k: "\n".join(lists[k]) if source != "estimate" else "" for k in KINDS}
    estimate = lists["holidays"] if source == "estimate" else []
    return render_template(
        "admin/calendar_year.html",
        year=year,
        source=source,
        label=source_label(source),
        texts=texts,
        errors=errors or {},
        estimate=estimate,
        stored=year in calendarstore.stored_years(get_db()),
    ), status


@bp.get("/calendar/<int:year>")
@admin_required
def calendar_year(year: int):
    return _render_year(_year_or_404(year))


@bp.post("/calendar/<int:year>")
@admin_required
def calendar_save(year: int):
    _year_or_404(year)
    texts = {k: request.form.get(k, "")[:20000] for k in KINDS}
    parsed = {k: _lines(texts[k]) for k in KINDS}
    try:
        calendarstore.save_year(get_db(), year, parsed["holidays"][0], parsed["workdays"][0], g.user.username)
    except InvalidRequest as exc:
        errors: dict[str, list[str]] = {}
        for kind, found in (exc.details.get("problems") or {}).items():
            dates, numbers = parsed[kind]
            for p in found:
                errors.setdefault(kind, []).append(
                    _("第 %(line)s 行：", line=numbers[dates.index(p["value"])] if p["value"] in dates else "?")
                    + problem_message(p["code"], p["value"], year)
                )
        return _render_year(year, texts, errors, 422)
    except Conflict:
        get_db().rollback()
        flash(_("工作日历刚被其他管理员修改，请核对后重新保存"), "error")
        return _render_year(year, texts, None, 409)
    get_engine().calendar.sync(get_db())
    flash(_("已保存 %(year)s 年工作日历，所有服务进程将立即使用", year=year), "ok")
    return redirect(url_for("admin.calendar_index"))


@bp.post("/calendar/<int:year>/delete")
@admin_required
def calendar_delete(year: int):
    _year_or_404(year)
    if calendarstore.delete_year(get_db(), year, g.user.username):
        flash(_("已删除 %(year)s 年的录入数据", year=year), "ok")
    return redirect(url_for("admin.calendar_index"))
