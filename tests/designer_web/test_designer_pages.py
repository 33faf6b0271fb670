"""Designer pages without a browser: who may see them, upload → report with file, line and
element (nothing stored), deploy, diff, migration, web edits deployed as new versions."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from engine.models import AuditEntry, Deployment, Instance, ProcessVersion
from engine.users import demo_uscc

from .conftest import ROOT

BROKEN_GROUPS = "['wg:' + org, 'enterprise:' +]"


def broken_return_visit() -> bytes:
    text = (ROOT / "processes" / "return_visit.bpmn").read_text("utf-8")
    good = "['wg:' + org, 'enterprise:' + uscc]"
    assert good in text
    return text.replace(good, BROKEN_GROUPS).encode()


def upload(client, files: dict[str, bytes], action="deploy", fill=True):
    data = {"action": action, "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    if fill:
        data["fill"] = "1"
    return client.post("/designer/deploy", data=data, content_type="multipart/form-data")


def versions(Session, process_id=None) -> int:
    with Session() as s:
        query = select(func.count(ProcessVersion.id))
        if process_id:
            query = query.where(ProcessVersion.process_id == process_id)
        return s.scalar(query)


def post_json(client, url, body):
    return client.client.post(url, json=body, headers={"X-CSRFToken": client.token, "Accept": "application/json"})


@pytest.mark.parametrize("username", ["wg.city", "unit.zrzyj", "leader.mayor", "ent.demo1"])
def test_only_designers_and_admins_see_the_pages(real_as_user, username):
    client = real_as_user(username)
    for url in (
        "/designer/",
        "/designer/deploy",
        "/designer/processes/ztc_case",
        "/designer/processes/ztc_case/1",
        "/designer/processes/ztc_case/1/files/case.bpmn",
        "/designer/processes/ztc_case/migrate",
        "/designer/processes/ztc_case/1/edit/deadline.dmn",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Traceback" not in response.get_data(as_text=True)
    assert client.post("/designer/deploy", {"action": "validate"}).status_code == 403
    assert (
        post_json(client, "/designer/processes/ztc_case/1/deploy.json", {"files": {"a.json": "{}"}}).status_code == 403
    )
    assert "nav-designer" not in client.get("/inbox").get_data(as_text=True)


def test_anonymous_is_sent_to_log_in(real_app):
    response = real_app.test_client().get("/designer/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["designer", "admin"])
def test_designers_see_processes_with_versions_and_deployer(real_as_user, username):
    client = real_as_user(username)
    html = client.get("/designer/").get_data(as_text=True)
    assert "ztc_case" in html and "tester" in html and "ztc_return_visit" in html
    html = client.get("/designer/processes/ztc_case").get_data(as_text=True)
    assert "v1" in html and "tester" in html
    page = client.get("/designer/processes/ztc_case/1").get_data(as_text=True)
    assert "deadline.dmn" in page and "dispatch.schema.json" in page
    raw = client.get("/designer/processes/ztc_case/1/files/case.bpmn")
    assert raw.mimetype == "text/plain" and raw.headers["X-Content-Type-Options"] == "nosniff"
    assert b"ztc_case" in raw.data
    archive = zipfile.ZipFile(io.BytesIO(client.client.get("/designer/processes/ztc_case/1/files.zip").data))
    assert "processes/case.bpmn" in archive.namelist() and "forms/dispatch.schema.json" in archive.namelist()
    assert client.get("/designer/processes/nope").status_code == 404
    assert client.get("/designer/processes/ztc_case/9/files/case.bpmn").status_code == 404


def test_a_broken_upload_is_reported_with_file_line_element_and_nothing_is_stored(real_as_user, Session):
    client = real_as_user("designer")
    before = versions(Session)
    with Session() as s:
        deployments = s.scalar(select(func.count(Deployment.id)))
    response = upload(client, {"return_visit.bpmn": broken_return_visit()})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="problem" data-file="return_visit.bpmn" data-element="Task_visit"' in html
    assert '<td data-label="行" class="p-line">41</td>' in html
    assert 'data-markers=\'{"Task_visit": "problem"}\'' in html  # marked on the diagram
    assert versions(Session) == before
    with Session() as s:
        assert s.scalar(select(func.count(Deployment.id))) == deployments


def test_not_a_process_file_is_refused(real_as_user, Session):
    client = real_as_user("designer")
    response = upload(client, {"notes.txt": b"hello", "../evil.bpmn": b"<x/>"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "notes.txt" in html
    assert versions(Session) == versions(Session, None)


def test_upload_only_the_changed_file_deploys_a_new_version(real_as_user, Session):
    client = real_as_user("designer")
    dmn = (ROOT / "processes" / "deadline.dmn").read_text("utf-8").replace("<text>3</text>", "<text>2</text>").encode()
    response = upload(client, {"deadline.dmn": dmn}, action="validate")
    assert response.status_code == 200 and versions(Session, "ztc_case") == 1
    response = upload(client, {"deadline.dmn": dmn})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "ztc_case v2" in response.get_data(as_text=True)
    assert versions(Session, "ztc_case") == 2
    with Session() as s:
        v2 = s.scalars(
            select(ProcessVersion).where(ProcessVersion.process_id == "ztc_case", ProcessVersion.version == 2)
        ).one()
        assert v2.deployment.deployed_by == "designer" and "<text>2</text>" in v2.files["deadline.dmn"]
    # the same upload again changes nothing
    upload(client, {"deadline.dmn": dmn})
    assert versions(Session, "ztc_case") == 2


def test_deploy_the_repository_files(real_as_user, Session):
    client = real_as_user("admin")
    response = client.post("/designer/deploy/repository", {"action": "deploy"})
    assert response.status_code == 200 and versions(Session, "ztc_case") == 1  # unchanged


def test_web_edit_deploys_a_new_version_and_diff_lists_it(real_as_user, Session):
    client = real_as_user("designer")
    for name in ("case.bpmn", "deadline.dmn", "dispatch.schema.json", "dispatch.uischema.json"):
        assert client.get(f"/designer/processes/ztc_case/1/edit/{name}").status_code == 200, name
    assert client.get("/designer/processes/ztc_case/1/edit/nope.bpmn").status_code == 404
    xml = (ROOT / "processes" / "case.bpmn").read_text("utf-8").replace('name="分级交办"', 'name="分级交办（新）"', 1)
    refused = post_json(
        client,
        "/designer/processes/ztc_case/1/deploy.json",
        {"files": {"case.bpmn": xml.replace('isExecutable="true"', 'isExecutable="maybe"', 1)}},
    )
    assert refused.status_code == 422 and refused.get_json()["problems"]
    assert versions(Session, "ztc_case") == 1
    response = post_json(client, "/designer/processes/ztc_case/1/deploy.json", {"files": {"case.bpmn": xml}})
    body = response.get_json()
    assert response.status_code == 200, body
    assert ["ztc_case", 2] in body["created"]
    html = client.get("/designer/processes/ztc_case/diff?from=1&to=2").get_data(as_text=True)
    assert 'data-element="Task_dispatch"' in html and "分级交办（新）" in html
    assert '"Task_dispatch": "diff-changed"' in html


def test_form_preview_renders_the_schema(real_as_user):
    client = real_as_user("designer")
    client.get("/designer/")
    schema = {"type": "object", "properties": {"x": {"type": "string", "title": "新的标签"}}}
    body = post_json(client, "/designer/forms/preview.json", {"schema": json.dumps(schema)}).get_json()
    assert body["ok"] and "新的标签" in body["html"]
    body = post_json(client, "/designer/forms/preview.json", {"schema": "{"}).get_json()
    assert not body["ok"] and "line 1" in body["error"]
    body = post_json(client, "/designer/forms/preview.json", {"schema": '{"type": 3}'}).get_json()
    assert not body["ok"]


def test_csrf_is_required_for_json(real_as_user):
    client = real_as_user("designer")
    response = client.client.post(
        "/designer/processes/ztc_case/1/validate.json",
        json={"files": {"a.json": "{}"}},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400


def test_migration_preview_and_migrate_with_audit(real_as_user, real_app, Session):
    engine = real_app.config["ENGINE"]
    from engine.cases import start_case

    with Session.begin() as s:
        instance = start_case(
            s,
            engine,
            {
                "contact": "王经理",
                "mobile": "13900001111",
                "county": "city",
                "category": "土地批复",
                "title": "用地预审",
                "description": "说明" * 10,
                "help_wanted": "协调",
                "urgency": "紧急",
                "enterprise_name": "朝阳示范新材料有限公司",
                "uscc": demo_uscc("CY0001"),
            },
            actor="ent.demo1",
        )
        instance_id = instance.id
    client = real_as_user("designer")
    xml = (ROOT / "processes" / "case.bpmn").read_text("utf-8").replace('name="分级交办"', 'name="分级交办（新）"', 1)
    assert (
        post_json(client, "/designer/processes/ztc_case/1/deploy.json", {"files": {"case.bpmn": xml}}).status_code
        == 200
    )
    html = client.get("/designer/processes/ztc_case/migrate").get_data(as_text=True)
    assert f'data-instance="{instance_id}"' in html and "v1 → v2" in html
    asked = client.post("/designer/processes/ztc_case/migrate", {"to": "2", "scope": "all"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'id="confirm-question"' in html and f'value="{instance_id}"' in html
    with Session() as s:  # 迁移全部 asks first: nothing moved yet
        assert s.get(Instance, instance_id).process_version.version == 1
    response = client.post(
        "/designer/processes/ztc_case/migrate",
        {"to": "2", "scope": "all", "confirm": "yes", "instance": [str(instance_id)]},
    )
    assert response.status_code == 200
    with Session() as s:
        assert s.get(Instance, instance_id).process_version.version == 2
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.instance_id == instance_id, AuditEntry.action == "migrate")
        ).one()
        assert entry.actor == "designer" and entry.data["to_version"] == 2


def test_pages_in_english(real_as_user):
    client = real_as_user("designer")
    client.post("/lang/en", {"next": "/designer/"})
    html = client.get("/designer/").get_data(as_text=True)
    assert "Upload and deploy" in html and "Deployed by" in html
    html = client.get("/designer/processes/ztc_case/1/edit/deadline.dmn").get_data(as_text=True)
    assert "Deploy as a new version" in html and "Refused ({n} problems)" in html


def _overdue_demo_case(engine, Session, clock, deploy) -> int:
    """The demo process (tests/designer/data) v1 beside the real ones; a case whose deadline
    passed waits on 领导督办 (leader_review), which v2 removes."""
    data = ROOT / "tests" / "designer" / "data"
    deploy({"demo.bpmn": (data / "demo_v1.bpmn").read_bytes()})
    with Session.begin() as s:
        instance = engine.start(s, "demo", {"title": "厂房接电", "lead_unit": "zjj"}, actor="wg.city")
        engine.complete_task(s, engine.ready_tasks(s, instance.id)[0].id, {}, "wg.city")
        instance_id = instance.id
    clock.advance(days=7)
    with Session.begin() as s:
        engine.fire_timers(s, engine.get_instance(s, instance_id))
    deploy({"demo.bpmn": (data / "demo_v2.bpmn").read_bytes()})
    return instance_id


def test_migration_page_maps_a_removed_activity_and_confirms(real_as_user, real_app, Session, clock, deploy):
    engine = real_app.config["ENGINE"]
    instance_id = _overdue_demo_case(engine, Session, clock, deploy)
    client = real_as_user("designer")
    html = client.get("/designer/processes/demo/migrate").get_data(as_text=True)
    assert "无法迁移" in html and "leader_review (READY) is not in version 2" in html and "需要映射" in html
    assert 'name="map:leader_review"' in html and '<option value="">不迁移</option>' in html
    assert '<option value="review">复核 (review)</option>' in html and 'value="material"' not in html  # tasks only
    assert f'name="instance" value="{instance_id}"' not in html  # nothing to tick yet

    html = client.get("/designer/processes/demo/migrate?map:leader_review=nope").get_data(as_text=True)
    assert "映射有误，未采用" in html and "no element &#39;nope&#39; in version 2" in html

    html = client.get("/designer/processes/demo/migrate?map:leader_review=review").get_data(as_text=True)
    assert "可以迁移" in html and "映射到 → <code>review</code> 复核" in html
    assert (
        '<option value="review" selected>' in html
        and '<input type="hidden" name="map:leader_review" value="review">' in html
    )
    asked = client.post("/designer/processes/demo/migrate", {"to": "2", "scope": "all", "map:leader_review": "review"})
    html = asked.get_data(as_text=True)
    assert 'id="confirm-question"' in html and f'value="{instance_id}"' in html and 'id="confirm-mapping"' in html
    assert '<input type="hidden" name="map:leader_review" value="review">' in html
    with Session() as s:
        assert s.get(Instance, instance_id).process_version.version == 1  # asked first, nothing moved
    done = client.post(
        "/designer/processes/demo/migrate",
        {"to": "2", "scope": "all", "confirm": "yes", "instance": [str(instance_id)], "map:leader_review": "review"},
    )
    assert done.status_code == 200 and "已迁移 1 个实例，0 个无法迁移" in done.get_data(as_text=True)
    with Session() as s:
        assert s.get(Instance, instance_id).process_version.version == 2
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.instance_id == instance_id, AuditEntry.action == "migrate")
        ).one()
        assert entry.actor == "designer" and entry.data["mapping"] == {"leader_review": "review"}


def test_migrating_with_a_wrong_mapping_moves_nothing_and_says_why(real_as_user, real_app, Session, clock, deploy):
    engine = real_app.config["ENGINE"]
    instance_id = _overdue_demo_case(engine, Session, clock, deploy)
    client = real_as_user("designer")
    client.get("/designer/processes/demo/migrate")
    response = client.post(
        "/designer/processes/demo/migrate",
        {"to": "2", "scope": "selected", "instance": [str(instance_id)], "map:leader_review": "material"},
    )
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未迁移：mapping leader_review=material: &#39;material&#39; (ExclusiveGateway) is not a task" in html
    assert '<option value="">不迁移</option>' in html  # back on the page, the choice to make again
    for query in ("map:=x", "map:%2F=%2F", "map:a/b/leader_review=review", "map:leader_review=" + "x" * 5000):
        page = client.get("/designer/processes/demo/migrate?" + query)
        assert page.status_code == 200 and "Traceback" not in page.get_data(as_text=True), query
    with Session() as s:
        assert s.get(Instance, instance_id).process_version.version == 1


def test_the_diff_and_version_list_name_what_changed_in_the_page_language(real_as_user):
    client = real_as_user("designer")
    xml = (ROOT / "processes" / "case.bpmn").read_text("utf-8")
    xml = xml.replace(
        'name="dueDate" value="add_workdays(now(), 1)"', 'name="dueDate" value="add_workdays(now(), 2)"', 1
    )
    schema = json.loads((ROOT / "forms" / "intake-review.schema.json").read_text("utf-8"))
    schema["properties"]["intake_reason"]["title"] = "不予受理的理由"
    dmn = (ROOT / "processes" / "deadline.dmn").read_text("utf-8")
    edits = {"case.bpmn": xml, "intake-review.schema.json": json.dumps(schema, ensure_ascii=False), "deadline.dmn": dmn}
    edits["deadline.dmn"] = dmn.replace("<text>15</text>", "<text>16</text>", 1)
    assert edits["deadline.dmn"] != dmn
    response = post_json(client, "/designer/processes/ztc_case/1/deploy.json", {"files": edits})
    assert response.status_code == 200, response.get_json()

    html = client.get("/designer/processes/ztc_case/diff?from=1&to=2").get_data(as_text=True)
    assert "属性 dueDate" in html and "property dueDate" not in html
    assert "字段 intake_reason.title" in html
    assert "ztc_deadline 第 " in html and " 条规则（ztc_deadline_rule" in html and " rule " not in html
    assert ">properties<" not in html and "decision table" not in html

    versions_page = client.get("/designer/processes/ztc_case").get_data(as_text=True)
    assert "基于 v1 网页修改：case.bpmn, deadline.dmn, intake-review.schema.json" in versions_page
    assert "web edit of" not in versions_page

    client.post("/lang/en")
    html = client.get("/designer/processes/ztc_case/diff?from=1&to=2").get_data(as_text=True)
    assert "property dueDate" in html and "field intake_reason.title" in html and "ztc_deadline rule " in html


def test_the_version_page_groups_files_and_names_each_form(real_as_user):
    html = real_as_user("designer").get("/designer/processes/ztc_case/1").get_data(as_text=True)
    # diagrams, decision tables, then forms; a form by its own title
    assert html.index(">case.bpmn<") < html.index(">deadline.dmn<") < html.index(">case-submit.schema.json<")
    assert '<td>intake-review.schema.json</td><td class="muted small">表单</td><td>受理审查</td>' in html
    assert '<td>intake-review.uischema.json</td><td class="muted small">表单界面设置</td>' in html
