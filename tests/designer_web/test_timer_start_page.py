"""The designer page of a process with a timer start event shows its next fire time and the
instances it started (issue 15 item 5)."""

from __future__ import annotations

import datetime as _dt

from engine import timerstart


def test_the_weekly_report_page_shows_the_next_friday_and_started_reports(real_as_user, Session, engine, clock):
    client = real_as_user("designer")
    html = client.get("/designer/processes/ztc_weekly_report").get_data(as_text=True)
    assert 'id="timer-start"' in html
    assert "2026-03-06 09:00" in html  # the first Friday after Monday 2026-03-02, Beijing time
    assert "后台任务进程接手后生效" in html  # no worker has seen this version yet
    assert timerstart.start_all_due(Session, engine) == []  # a worker sees it on Monday
    assert "后台任务进程接手后生效" not in client.get("/designer/processes/ztc_weekly_report").get_data(as_text=True)
    clock.set(clock.now() + _dt.timedelta(days=4, minutes=5))
    (started,) = timerstart.start_all_due(Session, engine)
    client = real_as_user("designer")  # (four days later: a new login)
    html = client.get("/designer/processes/ztc_weekly_report").get_data(as_text=True)
    assert "2026-03-13 09:00" in html
    assert f"#{started}" in html and "办理中" in html
    # a process without a timer start shows none
    assert 'id="timer-start"' not in client.get("/designer/processes/ztc_case").get_data(as_text=True)
