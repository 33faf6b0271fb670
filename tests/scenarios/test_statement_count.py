"""How many SQL statements one user-task completion costs (issue 18): at most 8, counted with a
``before_cursor_execute`` listener on SQLite and PostgreSQL along the happy path of the real
case process (the list of each statement and why: docs/PERFORMANCE.md, "Statements per
completion").

The caller loads the task as a web request's completion does, with the loader the pages and
the API use (``access.visible_task``: the task, its case, the case's version and its
case_record in one query, not counted: it is the request's access check); a new session per
completion, as per request. "One engine" is a web process that has served a case before (its
spec cache is warm); a new engine per step also reads the files of the case's version and of
each called version it runs, once (a cold spec cache): its own ceiling."""

from __future__ import annotations

from sqlalchemy import event

from engine import access, cases, stats

# 28 (32 with a new engine per step) at the start of issue 18's work, 16 (20) after the lean
# completion; now the statistics rollups are folded by the worker, the task's inbox rows pruned by
# it, a called process looked up only when its call is reached, and the case_record loaded with
# the task. A new engine reads at most two versions' files in a step (the case's, the called one's).
CEILING = {"one-engine": 8, "fresh-engine-per-step": 10}

HAPPY_PATH = [
    ("受理审查", "wg:city", {"intake_decision": "accept"}),
    ("分级交办", "wg:city", {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "马上办"}),
    ("拟办办理结果", "unit:zrzyj", {"handling_result": "已办理完毕", "solved": True}),
    ("负责人审核", "head:zrzyj", {"head_decision": "submit"}),
    ("结果审核", "wg:city", {"review_decision": "accept"}),
    ("回访评价", "wg:city", {"satisfaction": "满意", "visit_comment": "满意"}),
]


def _run(Session, engine, case, db_engine=None) -> tuple[dict[str, int], dict[str, list[str]]]:
    counts, listed = {}, {}
    for name, group, data in HAPPY_PATH:
        statements: list[str] = []

        def count(conn, cursor, statement, params, context, executemany):
            statements.append(statement)

        with Session() as s:
            instance = cases.find_case(s, case.case_no)
            task_id = next(t.id for t in engine.ready_tasks(s, instance.id) if t.name == name)
        with Session.begin() as s:  # a request: its access check loads the task, then the completion
            task = access.visible_task(s, access.Principal(f"someone.{group}", groups=frozenset({group})), task_id)
            if db_engine is not None:
                event.listen(db_engine, "before_cursor_execute", count)
            try:
                engine.complete_task(s, task.id, data, group)
            finally:
                if db_engine is not None:
                    event.remove(db_engine, "before_cursor_execute", count)
        counts[name] = len(statements)
        listed[name] = [" ".join(text.split())[:120] for text in statements]
    return counts, listed


def test_a_completion_costs_at_most_8_statements(new_case, Session, engine, db_engine, request):
    mode = "one-engine" if "one-engine" in request.node.name else "fresh-engine-per-step"
    if mode == "one-engine":
        _run(Session, engine, new_case())  # this engine has served a case: its spec cache is warm
    case = new_case()
    counts, listed = _run(Session, engine, case, db_engine)
    assert case.status == "completed"
    worst = max(counts, key=counts.get)
    assert counts[worst] <= CEILING[mode], (counts, listed[worst])
    every = [text for texts in listed.values() for text in texts]
    # the step never looks people up (a new task's outbox row names its groups: engine/notify.py),
    # writes no statistics rollup (the worker folds them: engine/stats/fold.py) and deletes no
    # inbox row (the worker prunes them)
    assert not any("user_account" in text or "stats_" in text for text in every), every
    assert not any(text.startswith("DELETE") for text in every), every
    if mode == "one-engine":  # a warm spec cache reads no process files
        assert not any("process_version.files" in text for text in every), every
    # and the statistics catch up with the worker's fold
    assert stats.fold_due(Session) >= 1
    with Session() as s:
        assert stats.unfolded(s) == 0
