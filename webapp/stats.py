"""Statistics pages: the dashboard, the unit assessment, 专报 bulletins, work records and the
Excel exports. Working groups, leaders and admins only; a county's people see their county."""

from __future__ import annotations

import datetime as _dt
import io

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import access, bulletin_document, casefiles, exports, stats
from engine import bulletins as bulletins_mod
from engine.errors import InvalidRequest
from engine.models import CaseRecord, WorkRecord
from engine.workdays import to_china_date

from .context import get_db, get_directory, get_engine
from .security import require
from .views_auth import official_required

bp = Blueprint("stats", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.app_context_processor
def _inject():
    principal = g.get("principal")
    return {
        "stats_args": stats.CaseFilter.ARGS,
        "can_see_stats": access.can_see_statistics(principal),
        "can_export": access.can_see_statistics(principal),
    }


def _require_stats():
    access.check_statistics(g.principal)  # NotAllowed: the 403 page


def _scope():
    """(period, county) from the URL, limited to what the person may see."""
    _require_stats()
    period = stats.parse_period(request.args.get("from"), request.args.get("to"))
    return period, stats.scoped_county(g.principal, request.args.get("county") or None)


def _directory():
    return get_directory()


def _now():
    return get_engine().clock.now()


def _xlsx(data: bytes, name: str):
    from .downloads import set_filename

    return set_filename(
        send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name, max_age=0), name, "export"
    )


# -- dashboard -----------------------------------------------------------------------------
@bp.get("/stats")
@official_required
def dashboard():
    period, county = _scope()
    board = stats.dashboard(get_db(), period, county, now=_now())
    scope = stats.stats_scope(g.principal)
    counties = {c: n for c, n in _directory().counties.items() if scope is None or c in scope}
    return render_template(
        "stats/dashboard.html",
        board=board,
        data=board.as_dict(),
        links=board.links,
        counties=counties,
        args=request.args,
        today=to_china_date(_now()),
    )


@bp.get("/stats/data.json")
@official_required
def dashboard_json():
    period, county = _scope()
    board = stats.dashboard(get_db(), period, county, now=_now())
    return jsonify({**board.as_dict(), "links": {k: v for k, v in board.links.items() if not k.startswith("_")}})


@bp.get("/stats/export/dashboard.xlsx")
@official_required
def export_dashboard():
    period, county = _scope()
    board = stats.dashboard(get_db(), period, county, now=_now())
    return _xlsx(exports.dashboard_workbook(board, _directory()), "直通车统计.xlsx")


@bp.get("/stats/enterprises")
@official_required
def enterprises():
    """沟通企业: the distinct enterprises behind the received cases of the period."""
    from engine.stats.enterprises import enterprises as enterprise_rows

    from .limits import int_arg

    period, county = _scope()
    page = int_arg("page") or 1
    rows, total = enterprise_rows(get_db(), period, county, now=_now(), offset=(page - 1) * 50, limit=50)
    links = stats.figure_links(period, county)
    return render_template(
        "stats/enterprises.html",
        rows=rows,
        total=total,
        page=page,
        per_page=50,
        recv=links["_received"],
        period=period,
        county=county,
        args=request.args,
    )


# -- unit assessment -----------------------------------------------------------------------
@bp.get("/stats/assessment")
@official_required
def assessment():
    period, county = _scope()
    scores = stats.assessment(get_db(), period, county, now=_now())
    scope = stats.stats_scope(g.principal)
    counties = {c: n for c, n in _directory().counties.items() if scope is None or c in scope}
    return render_template(
        "stats/assessment.html", scores=scores, period=period, county=county, counties=counties, args=request.args
    )


@bp.get("/stats/export/assessment.xlsx")
@official_required
def export_assessment():
    period, county = _scope()
    scores = stats.assessment(get_db(), period, county, now=_now())
    return _xlsx(exports.assessment_workbook(scores, _directory()), "单位考核.xlsx")


# -- case list export ----------------------------------------------------------------------
@bp.get("/stats/export/cases.xlsx")
@official_required
def export_cases():
    _require_stats()
    query = casefiles.CaseQuery(
        q=request.args.get("q") or None,
        category=request.args.get("category") or None,
        county=request.args.get("county") or None,
        status=request.args.get("status") or None,
        overdue=request.args.get("overdue") == "1",
        sort=request.args.get("sort", "updated"),
        page=1,
        per_page=20000,
        stats=stats.CaseFilter.from_args(request.args),
    )
    result = casefiles.search_cases(get_db(), g.principal, query, now=_now())
    rows = stats.export_rows(get_db(), result.items, _directory())
    return _xlsx(exports.cases_workbook(rows), "案件清单.xlsx")


# -- work records (调研, 重点产业园档案) ---------------------------------------------------------
@bp.route("/stats/records", methods=["GET", "POST"])
@official_required
def records():
    period, county = _scope()
    kind = request.args.get("kind") if request.args.get("kind") in stats.RECORD_KINDS else "research_visit"
    db = get_db()
    if request.method == "POST":
        require(access.is_working_group_member, "only working groups record their work")
        title = (request.form.get("title") or "").strip()
        try:
            day = _dt.date.fromisoformat(request.form.get("occurred_on", ""))
        except ValueError:
            day = None
        record_county = stats.scoped_county(g.principal, request.form.get("county") or None) or "city"
        if not title or day is None or len(title) > 300:
            flash(_("请填写标题和日期"), "error")
        else:
            db.add(
                WorkRecord(
                    kind=kind,
                    title=title,
                    county=record_county,
                    occurred_on=day,
                    data={"notes": (request.form.get("notes") or "")[:2000]},
                    created_by=g.user.username,
                    created_at=_now(),
                )
            )
            flash(_("已登记"), "ok")
        return redirect(url_for("stats.records", kind=kind))
    from sqlalchemy import select

    stmt = select(WorkRecord).where(WorkRecord.kind == kind, stats.day_between(WorkRecord.occurred_on, period))
    if county:
        stmt = stmt.where(WorkRecord.county == county)
    items = list(db.scalars(stmt.order_by(WorkRecord.occurred_on.desc(), WorkRecord.id.desc()).limit(500)))
    return render_template(
        "stats/records.html",
        items=items,
        kind=kind,
        kinds=stats.RECORD_KINDS,
        args=request.args,
        can_add=access.is_working_group_member(g.principal),
        today=to_china_date(_now()),
    )


# -- bulletins -----------------------------------------------------------------------------
@bp.get("/bulletins")
@official_required
def bulletins():
    _require_stats()
    db = get_db()
    series = bulletins_mod.ensure_series(db)
    items = bulletins_mod.list_bulletins(
        db, g.principal, request.args.get("series") or None, request.args.get("status") or None
    )
    return render_template(
        "stats/bulletins.html",
        items=items,
        series=series,
        args=request.args,
        can_compose=access.composes_bulletins(g.principal),
        labels=bulletins_mod.STATUS_LABELS,
    )


@bp.route("/bulletins/new", methods=["GET", "POST"])
@official_required
def new_bulletin():
    _require_stats()
    require(access.composes_bulletins, "only the city working group composes bulletins")
    db = get_db()
    series = bulletins_mod.ensure_series(db)
    today = to_china_date(_now())
    start = request.values.get("from") or (today.replace(day=1) - _dt.timedelta(days=1)).replace(day=1).isoformat()
    end = request.values.get("to") or (today.replace(day=1) - _dt.timedelta(days=1)).isoformat()
    period = stats.parse_period(start, end)
    if request.method == "POST":
        try:
            ids = [int(v) for v in request.form.getlist("case_ids") if v.isdigit() and len(v) <= 18]  # bounded ids
            bulletin = bulletins_mod.compose(
                db,
                get_engine(),
                series=request.form.get("series", ""),
                title=request.form.get("title", ""),
                period=period,
                case_ids=ids,
                actor=g.user.username,
                body=request.form.get("body", ""),
            )
        except InvalidRequest as exc:
            flash(str(exc), "error")
        else:
            flash(_("已编号为第%(n)s期，请在待办中编写按语并送领导审签", n=bulletin.number), "ok")
            return redirect(url_for("stats.bulletin", bulletin_id=bulletin.id))
    from sqlalchemy import or_, select

    lo, hi = period.bounds()
    candidates = list(
        db.scalars(
            select(CaseRecord)
            .where(
                or_(
                    CaseRecord.escalated == True,  # noqa: E712 - SQL
                    CaseRecord.ever_overdue == True,  # noqa: E712
                    CaseRecord.is_open == True,  # noqa: E712 - SQL
                )
            )
            .where(  # noqa: E712
                stats.between(CaseRecord.received_at, stats.Period(None, period.end)),
                or_(CaseRecord.closed_at.is_(None), CaseRecord.closed_at >= lo) if lo else CaseRecord.instance_id > 0,
            )
            .order_by(CaseRecord.escalated.desc(), CaseRecord.received_at.desc())
            .limit(200)
        )
    )
    return render_template(
        "stats/bulletin_new.html", series=series, period=period, candidates=candidates, form=request.form
    )


@bp.get("/bulletins/<int:bulletin_id>")
@official_required
def bulletin(bulletin_id: int):
    _require_stats()
    db = get_db()
    item = bulletins_mod.get(db, g.principal, bulletin_id)
    doc = bulletin_document.document(db, item, _directory())
    return render_template("stats/bulletin.html", item=item, doc=doc, labels=bulletins_mod.STATUS_LABELS)


def _download(bulletin_id: int, ext: str):
    _require_stats()
    db = get_db()
    item = bulletins_mod.get(db, g.principal, bulletin_id)
    doc = bulletin_document.document(db, item, _directory())
    if ext == "docx":
        data, mimetype = bulletin_document.render_docx(doc), DOCX
    else:
        data, mimetype = bulletin_document.render_pdf(doc), "application/pdf"
    response = send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{doc.series_name}{doc.number_line}.{ext}",
        max_age=0,
    )
    from .downloads import set_filename

    set_filename(response, f"{doc.series_name}{doc.number_line}.{ext}", f"bulletin-{bulletin_id}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/bulletins/<int:bulletin_id>.docx")
@official_required
def bulletin_docx(bulletin_id: int):
    return _download(bulletin_id, "docx")


@bp.get("/bulletins/<int:bulletin_id>.pdf")
@official_required
def bulletin_pdf(bulletin_id: int):
    return _download(bulletin_id, "pdf")
