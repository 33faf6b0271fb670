"""Statistics of the 直通车: the typed projection of each case, the dashboard figures, the unit
assessment (考核) and the case filters every figure links to.

- ``projection`` — ``project`` (case_record and case_unit, per step; marks the record due);
- ``fold`` — ``fold_due`` (the worker folds due records into the rollups), ``unfolded``;
- ``rollups`` — a case's contributions to the rollups, their upserts and the figure constants
  (``LEADER_MODES``, ``GOOD_SATISFACTION`` …); ``rebuild`` — ``rebuild_rollups``;
- ``queries`` — ``Period``/``parse_period``, ``CaseFilter``, who sees statistics
  (``can_see_stats``, ``stats_scope``, ``scoped_county``), ``dashboard`` and ``figure_links``;
- ``assessment`` — ``UnitScore``, ``assessment`` and ``export_rows`` (the case-list workbook).

Everything other code uses is re-exported here: ``from engine import stats; stats.dashboard(…)``.

The projection (``project``) runs as a listener of every saved step (engine/domain.py), so
``case_record`` and ``case_unit`` always change in the same transaction as the instance (the
case lists and search read them). The rollups (``stats_*`` tables, engine/models.py) are
folded by the worker (``fold_due``, one pass behind, ≈ 2 s; issue 18): it applies the
difference between what the rollups count of a due case and its record now as
concurrency-safe upserts, per day and per month. The dashboard and the assessment read the
rollups (a period = its whole months + the days at either end), never scanning the cases; only
"overdue now" counts case_record rows (the open cases not yet due). SQLAlchemy Core only, on
SQLite and PostgreSQL. ``rebuild_rollups`` (``zhitongche stats-rebuild``) recomputes them
from scratch.

Figure definitions (a period is a range of Beijing calendar dates, both ends included):

- *received* — cases registered in the period (``received_at``); *accepted* — of those, the
  ones accepted at intake; *rejected*, *withdrawn* — of those, closed with that outcome;
  *in progress* — of those, still open now; *overdue* — of those, turned red (past the
  deadline) at least once; *overdue now* — of those, open with the deadline passed now;
- by category / county — cases received; by handling mode / lead unit — cases received and
  dispatched; 签批督办 / 专题会议 / 现场办公 — cases received whose leaders chose that mode;
- *solved* (解决难题) — cases closed in the period with outcome ``solved``;
- *on-time rate* — of the cases closed in the period after handling by a unit (outcome
  solved, explained or no answer), the share that never turned red;
- *working days to close* — mean working days from registration to closing, cases solved in
  the period; *satisfaction rate* — of the return visits answered (满意/基本满意/不满意) on
  cases closed in the period, the share 满意 or 基本满意; *reopen rate* — of the handled cases
  closed in the period, the share reopened at least once;
- *enterprises contacted* (沟通企业) — distinct unified social credit codes among the cases
  received in the period;
- *department coordinations* (协调部门) — unit assignments (one per unit per case, lead or
  cooperating) made in the period (``case_unit.assigned_at``);
- *research visits* (调研), *park files* (重点产业园档案) — work records of that kind dated in
  the period; *bulletins* — issues signed off in the period, per series; *weekly reports*
  (“1+7”周报) — publications of the ``ztc_weekly_report`` process in the period.
"""

from ..models import CaseRecord
from .assessment import UnitScore, assessment, export_rows
from .fold import fold_batch, fold_due, unfolded
from .periods import (
    BULLETIN_SERIES,
    RECORD_KINDS,
    CaseFilter,
    Period,
    between,
    case_list_args,
    day_between,
    parse_period,
)
from .projection import HANDLED_OUTCOMES, PRE_ACCEPT, parse_dt, project
from .queries import (
    WEEKLY_PROCESS,
    WEEKLY_PUBLISH_TASK,
    Dashboard,
    bulletin_counts,
    can_see_stats,
    coordinations,
    dashboard,
    distinct_enterprises,
    figure_links,
    open_not_overdue,
    ratio,
    record_counts,
    scoped_county,
    stats_scope,
    weekly_reports,
)
from .rebuild import rebuild_rollups
from .rollups import (
    ALL_COUNTIES,
    ANSWERED_SATISFACTION,
    CLOSED_COUNTERS,
    COUNTERS,
    FIRST_DAY,
    GOOD_SATISFACTION,
    LEADER_MODES,
    LM_COLUMNS,
    NONE,
    RECEIVED_COUNTERS,
    ROLLUP_TABLES,
    ROLLUPS,
    UTC,
)

# every public name of the former engine/stats.py, the private helpers used elsewhere
# (between, day_between, parse_dt, ratio) and CaseRecord (tooling/demo_history.py: stats.CaseRecord)
__all__ = [
    "ALL_COUNTIES",
    "ANSWERED_SATISFACTION",
    "BULLETIN_SERIES",
    "CLOSED_COUNTERS",
    "COUNTERS",
    "FIRST_DAY",
    "GOOD_SATISFACTION",
    "HANDLED_OUTCOMES",
    "LEADER_MODES",
    "LM_COLUMNS",
    "NONE",
    "PRE_ACCEPT",
    "RECEIVED_COUNTERS",
    "RECORD_KINDS",
    "ROLLUPS",
    "ROLLUP_TABLES",
    "UTC",
    "WEEKLY_PROCESS",
    "WEEKLY_PUBLISH_TASK",
    "CaseFilter",
    "CaseRecord",
    "Dashboard",
    "Period",
    "UnitScore",
    "between",
    "day_between",
    "parse_dt",
    "ratio",
    "assessment",
    "bulletin_counts",
    "can_see_stats",
    "case_list_args",
    "coordinations",
    "dashboard",
    "distinct_enterprises",
    "export_rows",
    "fold_batch",
    "fold_due",
    "figure_links",
    "open_not_overdue",
    "parse_period",
    "project",
    "rebuild_rollups",
    "record_counts",
    "scoped_county",
    "stats_scope",
    "unfolded",
    "weekly_reports",
]
