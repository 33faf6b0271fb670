"""The worker folds the statistics (issue 18): a step only writes case_record (and case_unit)
and marks the record due (``rollup_due``, engine/stats/projection.py); ``fold_due`` brings the
rollups (``stats_*``) up to date with the due records, so a completion writes no rollup row.

State-based and idempotent: ``rollup_applied`` holds what the rollups count of the case (its
``Facts`` as last folded; NULL: nothing). One transaction per batch takes due records with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite: the worker's write lock), applies
contributions(record now) − contributions(snapshot) and the units not yet ``counted``, moves the
enterprise's day, stores the new snapshot and clears the flag. A step never writes the snapshot:
one that races the fold waits for the row (or is skipped by it) and sets the flag again, so no
count is lost or doubled; a worker killed mid-batch loses its transaction, the rows stay due.

Figures lag the cases by one worker pass (``Worker.poll_seconds``, 2 s); the case lists and
search read case_record, written in the step itself. ``rebuild_rollups`` recomputes every
rollup from case_record/case_unit and stores every snapshot (``mark_applied``): the same result.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..models import CaseRecord, CaseUnit
from .rollups import (
    NONE,
    apply_rollups,
    china_day,
    contributions,
    delta,
    enterprise_key,
    facts_of,
    from_json,
    move_enterprise,
    to_json,
)

BATCH = 200


def fold_batch(session: Session, limit: int = BATCH) -> int:
    """Fold up to ``limit`` due records in the caller's transaction; returns how many."""
    records = list(
        session.scalars(
            select(CaseRecord)
            .where(CaseRecord.rollup_due == True)  # noqa: E712 (ix_case_record_rollup_due's condition)
            .order_by(CaseRecord.instance_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not records:
        return 0
    ids = [r.instance_id for r in records]
    uncounted = (CaseUnit.instance_id.in_(ids), CaseUnit.counted == False)  # noqa: E712
    units = list(
        session.scalars(
            select(CaseUnit)
            .where(*uncounted)
            .order_by(CaseUnit.instance_id, CaseUnit.unit)
            # a unit row a step holds (it upserts them before it updates the record) is left for a
            # later pass: the fold never waits for a step, so the two cannot deadlock (the step
            # waits for the record the fold holds); its record stays due (below)
            .with_for_update(skip_locked=True)
        )
    )
    taken = {(u.instance_id, u.unit) for u in units}
    left = {
        i
        for i, unit in session.execute(select(CaseUnit.instance_id, CaseUnit.unit).where(*uncounted))
        if (i, unit) not in taken
    }
    change: dict[tuple, dict[str, int]] = {}
    moves = []
    for record in records:
        before = from_json(record.rollup_applied) if record.rollup_applied else None
        after = facts_of(record) if record.received_at is not None else None
        for key, counters in delta(contributions(before), contributions(after)).items():
            acc = change.setdefault(key, {})
            for name, n in counters.items():
                acc[name] = acc.get(name, 0) + n
        if enterprise_key(before) != enterprise_key(after):
            moves.append((enterprise_key(before), enterprise_key(after)))
        record.rollup_applied = to_json(after) if after is not None else None
        record.rollup_due = record.instance_id in left
    for unit in units:
        key = ("unit", (china_day(unit.assigned_at), unit.county or NONE, unit.unit))
        change.setdefault(key, {})["assigned"] = change.get(key, {}).get("assigned", 0) + 1
        unit.counted = True
    apply_rollups(session, {key: acc for key, acc in change.items() if any(acc.values())})
    # in key order, so two workers folding cases of the same enterprises lock them alike
    for before_key, after_key in sorted(moves, key=lambda m: (str(m[0]), str(m[1]))):
        move_enterprise(session, before_key, after_key)
    session.flush()
    return len(records)


def fold_due(Session: sessionmaker, batch: int = BATCH, max_batches: int | None = None) -> int:
    """Fold every due record, one transaction per batch (the worker's pass; tests call it to
    read statistics right after steps). Returns the records folded."""
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        with Session.begin() as session:
            n = fold_batch(session, batch)
        total, batches = total + n, batches + 1
        if n < batch:
            break
    return total


def unfolded(session: Session) -> int:
    """Cases whose last change the rollups do not count yet (/healthz ``statistics.unfolded``)."""
    return session.scalar(select(func.count()).select_from(CaseRecord).where(CaseRecord.rollup_due == True)) or 0  # noqa: E712


__all__ = ["BATCH", "fold_batch", "fold_due", "unfolded"]
