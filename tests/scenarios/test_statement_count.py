"""How many SQL statements one user-task completion costs (issue 18), counted with a
``before_cursor_execute`` listener on SQLite and PostgreSQL, along the happy path of the real
case process. The issue's goal is at most 8; today's steps cost up to CEILING (see
docs/PERFORMANCE.md, "Statements per completion"): this test keeps them from growing."""
from __future__ import annotations

from sqlalchemy import event

from engine import cases

# the most statements any happy-path completion issues today (goal: 8). It was 18 when issue 18's
# work was measured; merging the in-app notices, search text, calendar reload and call-activity
# binding lookups of the same round raised it (docs/PERFORMANCE.md). A new engine also reads the
# version's files and bindings.
CEILING = {"one-engine": 28, "fresh-engine-per-step": 32}

HAPPY_PATH = [
    ("受理审查", "wg:city", {"intake_decision": "accept"}),
    ("分级交办", "wg:city", {"dispatch_action": "dispatch", "lead_unit": "zrzyj", "coop_units": [], "mode": "马上办"}),
    ("拟办办理结果", "unit:zrzyj", {"handling_result": "已办理完毕", "solved": True}),
    ("负责人审核", "head:zrzyj", {"head_decision": "submit"}),
    ("结果审核", "wg:city", {"review_decision": "accept"}),
    ("回访评价", "wg:city", {"satisfaction": "满意", "visit_comment": "满意"}),
]


def test_a_completion_costs_a_bounded_number_of_statements(new_case, Session, engine, db_engine, request):
    case = new_case()
    counts = {}
    for name, group, data in HAPPY_PATH:
        statements: list[str] = []

        def count(conn, cursor, statement, params, context, executemany):
            statements.append(statement)

        with Session.begin() as s:
            instance = cases.find_case(s, case.case_no)
            task = next(t for t in engine.ready_tasks(s, instance.id) if t.name == name)
            event.listen(db_engine, "before_cursor_execute", count)
            try:
                engine.complete_task(s, task.id, data, group)
            finally:
                event.remove(db_engine, "before_cursor_execute", count)
        counts[name] = len(statements)
    assert case.status == "completed"
    mode = "one-engine" if "one-engine" in request.node.name else "fresh-engine-per-step"
    assert max(counts.values()) <= CEILING[mode], counts
