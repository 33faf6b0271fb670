"""Case numbers are taken in a short transaction of their own (issue 18): on PostgreSQL a
submission still being started does not hold up the next one's number; a start that fails
leaves a gap, never a number given twice. On SQLite the request's write lock orders them."""

from __future__ import annotations

from sqlalchemy import text

from engine import cases


def test_an_open_submission_does_not_hold_up_the_next_case_number(Session, db_engine):
    postgres = db_engine.dialect.name == "postgresql"
    with Session() as first:
        a = cases.next_case_no(first, 2026)
        if postgres:  # the first submission is still being started (its transaction open)
            with Session() as second:
                second.execute(text("SET LOCAL lock_timeout = '5s'"))  # waiting would fail, not hang
                b = cases.next_case_no(second, 2026)
                second.commit()
            first.rollback()  # the first start fails after all: its number is not handed out again
        else:
            first.commit()
            with Session.begin() as second:
                b = cases.next_case_no(second, 2026)
    with Session.begin() as third:
        c = cases.next_case_no(third, 2026)
        other_year = cases.next_case_no(third, 2027)
    assert (a, b, c) == ("ZTC-2026-0001", "ZTC-2026-0002", "ZTC-2026-0003")
    assert other_year == "ZTC-2027-0001"
