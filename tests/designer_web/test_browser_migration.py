"""Migration with a mapping in a real browser (issue #15, item 6): a designer deploys a version
that removes the activity a running case waits on, sees the migration refused with the hint,
maps the removed activity to a task of the new version, confirms, and the case's task is in the
inbox of the new task's group under its new name (and no longer in the old group's)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import ROOT

pytestmark = pytest.mark.browser
DATA = ROOT / "tests" / "designer" / "data"


def test_designer_maps_a_removed_activity_and_the_case_moves_on(
    real_server, real_app, login_page, shots, Session, clock, deploy, tmp_path
):
    engine = real_app.config["ENGINE"]
    deploy({"demo.bpmn": (DATA / "demo_v1.bpmn").read_bytes()})
    with Session.begin() as s:
        instance = engine.start(s, "demo", {"title": "厂房接电迟迟未办", "lead_unit": "zjj"}, actor="wg.city")
        engine.complete_task(s, engine.ready_tasks(s, instance.id)[0].id, {}, "wg.city")
        instance_id = instance.id
    clock.advance(days=7)  # past the deadline: the case escalates to 领导督办 (leader:city)
    with Session.begin() as s:
        engine.fire_timers(s, engine.get_instance(s, instance_id))
        [waiting] = engine.ready_tasks(s, instance_id)
        assert waiting.name == "领导督办"

    leader = login_page("leader.mayor")
    leader.goto(real_server + "/inbox")
    expect(leader.locator(f"tr.task-row[data-task='{waiting.id}']")).to_contain_text("领导督办")
    shots(leader, "leader-inbox-before")

    # the designer deploys version 2, which removes 领导督办
    page = login_page("designer")
    page.goto(real_server + "/designer/deploy")
    upload = tmp_path / "demo.bpmn"
    upload.write_bytes((DATA / "demo_v2.bpmn").read_bytes())
    page.set_input_files("#files", str(upload))
    page.click("#deploy")
    expect(page.locator("#report-title")).to_have_text("部署完成")
    expect(page.locator("#deployed li.created", has_text="demo v2")).to_have_count(1)

    # refused, with the hint; the removed activity gets a choice of the new version's tasks
    page.goto(real_server + "/designer/processes/demo/migrate")
    row = page.locator(f"tr.migration-row[data-instance='{instance_id}']")
    expect(row.locator(".verdict")).to_contain_text("无法迁移")
    expect(row.locator(".reason")).to_contain_text("leader_review (READY) is not in version 2")
    expect(row.locator(".hint")).to_contain_text("需要映射：leader_review 领导督办")
    expect(page.locator("#migrate-all")).to_have_count(0)
    select = page.locator("#map-leader_review")
    expect(select.locator("option:checked")).to_have_text("不迁移")
    shots(page, "refused-with-hint")

    select.select_option("review")
    page.click("#apply-mapping")
    expect(row.locator(".verdict")).to_contain_text("可以迁移")
    expect(row.locator(".fate-mapped")).to_contain_text("映射到 → review 复核")
    shots(page, "mapped-preview")

    page.click("#migrate-all")
    expect(page.locator("#confirm-question")).to_be_visible()
    expect(page.locator("#confirm-mapping")).to_contain_text("leader_review → review")
    shots(page, "confirm")
    page.click("#confirm-migrate-all")
    expect(page.locator(".flash-ok")).to_contain_text("已迁移 1 个实例，0 个无法迁移")
    expect(row.locator(".verdict")).to_contain_text("已迁移")
    shots(page, "migrated")

    # the task is the head of the lead unit's now, under its new name; the leaders' inbox is empty
    head = login_page("head.zjj")
    head.goto(real_server + "/inbox")
    task_row = head.locator(f"tr.task-row[data-task='{waiting.id}']")
    expect(task_row.locator("a.task-link")).to_have_text("复核")
    shots(head, "head-inbox-after")
    task_row.locator("a.task-link").click()
    expect(head.locator("h1")).to_contain_text("复核")
    shots(head, "head-task")
    leader.goto(real_server + "/inbox")
    expect(leader.locator(f"tr.task-row[data-task='{waiting.id}']")).to_have_count(0)
    shots(leader, "leader-inbox-after")
    assert page.js_errors == [] and head.js_errors == []
