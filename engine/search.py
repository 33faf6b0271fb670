"""Free-text search over cases: the searchable text kept per case and the query clause.

``case_record.search_text`` holds, one fragment per line, what a person may type to find a
case: case number, enterprise, credit code, title, the description, contact, and the units'
results and opinions. The projection (engine/stats/projection.py) refreshes it in every step
from the summary and the data of the workflow's live tasks; fragments only accumulate (a
compacted task's data stays findable), capped at ``MAX_CHARS``.

Matching is a case-insensitive substring match (``q`` may be a two-character Chinese word):
- PostgreSQL: ``ILIKE`` served by a ``pg_trgm`` GIN index (migration 0006);
- SQLite: ``LIKE`` (case-insensitive for ASCII) over the same column. FTS5 was not used: its
  ``unicode61`` tokenizer makes a whole run of Chinese characters one token (no match for a
  word inside a sentence) and its ``trigram`` tokenizer cannot match words under three
  characters, which most Chinese queries are; a virtual table also sits outside the ORM and
  the migrations' model comparison. SQLite is the small default database; a scan is fine there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_

SUMMARY_KEYS = ("case_no", "enterprise_name", "uscc", "title")
DATA_KEYS = (
    "description",
    "contact",
    "mobile",
    "project",
    "help_wanted",
    "handling_result",
    "coop_opinion_text",
    "head_reason",
    "review_reason",
)
MAX_CHARS = 20000
MAX_TERMS = 5


def _fragments(values: Iterable[Any]) -> list[str]:
    out = []
    for value in values:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            text = " ".join(str(value).split())
            if text:
                out.append(text[:4000])
    return out


def workflow_values(workflow: Any) -> list[Any]:
    """The searchable values in the data of the workflow's tasks (and its subprocesses')."""
    if workflow is None:
        return []
    values = []
    for wf in [workflow, *getattr(workflow, "subprocesses", {}).values()]:
        for data in [getattr(wf, "data", None) or {}, *(t.data for t in wf.get_tasks())]:
            values += [data[k] for k in DATA_KEYS if k in data]
    return values


def merged_text(old: str | None, summary: dict[str, Any], workflow: Any = None) -> str:
    """The case's search text: the old fragments, then any new ones, without repeats."""
    seen = dict.fromkeys((old or "").split("\n"))
    seen.pop("", None)
    for fragment in _fragments([summary.get(k) for k in SUMMARY_KEYS] + workflow_values(workflow)):
        seen.setdefault(fragment)
    text = "\n".join(seen)
    return text[:MAX_CHARS]


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def terms(q: str | None) -> list[str]:
    """The words of a query (blank-separated, at most ``MAX_TERMS``, each at most 100 chars)."""
    return [t[:100] for t in (q or "").split()][:MAX_TERMS]


def matches(column: SQLColumnExpression[str | None], q: str | None) -> ColumnElement[bool] | None:
    """Every word of ``q`` occurs in ``column`` (None for an empty query)."""
    words = terms(q)
    if not words:
        return None
    return and_(*[column.ilike(f"%{_escape(w)}%", escape="\\") for w in words])


__all__ = ["merged_text", "matches", "terms", "workflow_values"]
