"""Admin pages for accounts (/admin/users): create officials and designers, reset a password,
deactivate, list; bad input keeps what was typed and says what is wrong at the field."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.models import AuditEntry, User
from tests.web.conftest import Browser

GOOD = "tall pines by the river"


def _user_id(Session, username: str) -> int:
    with Session() as s:
        return s.scalars(select(User.id).where(User.username == username)).one()


def _can_log_in(app, username: str, password: str) -> bool:
    browser = Browser(app.test_client())
    browser.get("/login")
    return browser.post("/login", {"username": username, "password": password}).status_code == 302


def test_only_administrators_see_the_account_pages(as_user, Session):
    for name in ("wg.city", "designer", "leader.mayor"):
        browser = as_user(name)
        assert browser.get("/admin/users").status_code == 403
        assert browser.get("/admin/users/new").status_code == 403
        assert browser.post("/admin/users/new", {"username": "x.y.z", "kind": "admin"}).status_code == 403
    ent = as_user("ent.demo1")
    assert ent.get("/admin/users").status_code == 403
    with Session() as s:
        assert s.scalars(select(User).where(User.username == "x.y.z")).first() is None


def test_an_admin_creates_an_official_with_groups_and_county_who_then_logs_in(app, as_user, Session):
    admin = as_user("admin")
    page = admin.get("/admin/users/new").get_data(as_text=True)
    assert 'value="unit:zrzyj"' in page and 'value="wg:jianping"' in page
    response = admin.post(
        "/admin/users/new",
        {
            "username": "unit.zrzyj.li",
            "display_name": "李经办",
            "kind": "official",
            "groups": ["unit:zrzyj", "head:zrzyj"],
            "county": "city",
            "email": "li@example.cn",
            "password": GOOD,
            "password2": GOOD,
        },
    )
    assert response.status_code == 200 and "已创建账号 unit.zrzyj.li" in response.get_data(as_text=True)
    with Session() as s:
        user = s.scalars(select(User).where(User.username == "unit.zrzyj.li")).one()
        assert (user.kind, user.groups, user.county, user.email) == (
            "official",
            ["unit:zrzyj", "head:zrzyj"],
            "city",
            "li@example.cn",
        )
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "user_created")).one()
        assert audit.actor == "admin" and audit.data["user"] == "unit.zrzyj.li"
    official = Browser(app.test_client()).login("unit.zrzyj.li", GOOD)
    assert official.get("/inbox").status_code == 200
    listed = admin.get("/admin/users?q=zrzyj.li").get_data(as_text=True)
    assert 'data-username="unit.zrzyj.li"' in listed and 'data-username="wg.city"' not in listed


def test_an_admin_creates_a_designer_with_a_generated_password_shown_once(app, as_user, Session):
    admin = as_user("admin")
    response = admin.post(
        "/admin/users/new",
        {"username": "designer.wang", "kind": "official", "groups": ["designer", "wg:city"], "generate": "1"},
    )
    html = response.get_data(as_text=True)
    password = re.search(r'id="new-password">.*?<code>([^<]+)</code>', html, re.S).group(1)
    designer = Browser(app.test_client()).login("designer.wang", password)
    assert designer.get("/designer/").status_code == 200
    user_id = _user_id(Session, "designer.wang")
    assert password not in admin.get(f"/admin/users/{user_id}").get_data(as_text=True)  # shown once only


def test_bad_input_is_shown_at_the_field_with_the_typed_values_kept(as_user, Session):
    admin = as_user("admin")
    form = {
        "username": "wg.kazuo.zhao",
        "display_name": "赵工作组",
        "kind": "official",
        "groups": ["wg:kazuo"],
        "county": "kazuo",
        "email": "zhao@example.cn",
        "password": "zhitongche",
        "password2": "zhitongche",
    }
    cases = [
        ({}, "f-password-error", "密码至少12位"),
        ({"password": "wg.kazuo.zhao-2026!", "password2": "wg.kazuo.zhao-2026!"}, "f-password-error", "不能包含用户名"),
        ({"password": "password1234", "password2": "password1234"}, "f-password-error", "过于常见"),
        ({"password": GOOD, "password2": GOOD + "x"}, "f-password2-error", "两次输入的密码不一致"),
        ({"password": GOOD, "password2": GOOD, "groups": []}, "f-groups-error", "至少需要一个角色"),
        ({"password": GOOD, "password2": GOOD, "groups": ["wg:atlantis"]}, "f-groups-error", "请选择列表中的角色"),
        ({"password": GOOD, "password2": GOOD, "username": "wg.city"}, "f-username-error", "该用户名已被使用"),
        ({"password": GOOD, "password2": GOOD, "username": "a b"}, "f-username-error", "用户名为3至100位"),
        ({"password": GOOD, "password2": GOOD, "email": "not an address"}, "f-email-error", "电子邮箱地址无效"),
    ]
    for change, error_id, message in cases:
        response = admin.post("/admin/users/new", {**form, **change})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, change
        assert f'id="{error_id}">{message}' in html or (f'id="{error_id}"' in html and message in html), change
        assert 'value="赵工作组"' in html and 'value="kazuo" selected' in html, change  # typed input kept
        assert f'value="{change.get("password", form["password"])}"' not in html  # passwords are never echoed
    with Session() as s:
        assert s.scalars(select(User).where(User.username == "wg.kazuo.zhao")).first() is None


def test_an_admin_resets_a_password_and_deactivates_and_reactivates(app, as_user, Session):
    admin = as_user("admin")
    user_id = _user_id(Session, "leader.vice")
    admin.get(f"/admin/users/{user_id}")
    weak = admin.post(f"/admin/users/{user_id}/password", {"password": "123456789012", "password2": "123456789012"})
    assert weak.status_code == 422 and "过于常见" in weak.get_data(as_text=True)
    assert admin.post(f"/admin/users/{user_id}/password", {"password": GOOD, "password2": GOOD}).status_code == 200
    assert not _can_log_in(app, "leader.vice", "zhitongche") and _can_log_in(app, "leader.vice", GOOD)
    assert admin.post(f"/admin/users/{user_id}/active", {"active": "0"}).status_code == 302
    assert not _can_log_in(app, "leader.vice", GOOD)
    assert "已停用" in admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert 'data-username="leader.vice"' in admin.get("/admin/users?state=inactive").get_data(as_text=True)
    assert admin.post(f"/admin/users/{user_id}/active", {"active": "1"}).status_code == 302
    assert _can_log_in(app, "leader.vice", GOOD)
    with Session() as s:
        actions = [
            e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.actor == "admin").order_by(AuditEntry.id))
        ]
    assert actions[-3:] == ["password_reset", "user_deactivated", "user_activated"]


def test_an_admin_cannot_deactivate_themselves(as_user, Session):
    admin = as_user("admin")
    user_id = _user_id(Session, "admin")
    admin.get(f"/admin/users/{user_id}")
    response = admin.post(f"/admin/users/{user_id}/active", {"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert admin.get("/admin/users").status_code == 200


def test_a_user_changes_their_own_password_under_the_policy(app, as_user):
    browser = as_user("unit.zrzyj")
    assert browser.get("/account/password").status_code == 200
    wrong = browser.post("/account/password", {"current": "nope", "new": GOOD, "new2": GOOD})
    assert wrong.status_code == 422 and 'id="f-current-error"' in wrong.get_data(as_text=True)
    short = browser.post("/account/password", {"current": "zhitongche", "new": "short", "new2": "short"})
    assert short.status_code == 422 and 'id="f-new-error"' in short.get_data(as_text=True)
    named = browser.post(
        "/account/password",
        {"current": "zhitongche", "new": "unit.zrzyj forever and ever", "new2": "unit.zrzyj forever and ever"},
    )
    assert named.status_code == 422 and "不能包含用户名" in named.get_data(as_text=True)
    ok = browser.post("/account/password", {"current": "zhitongche", "new": GOOD, "new2": GOOD}, follow_redirects=True)
    assert ok.status_code == 200 and "密码已修改" in ok.get_data(as_text=True)
    assert _can_log_in(app, "unit.zrzyj", GOOD) and not _can_log_in(app, "unit.zrzyj", "zhitongche")


def test_the_password_page_needs_a_log_in(app):
    response = app.test_client().get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_reset_password_must_be_changed_by_its_user(app, as_user, Session):
    """The administrator knows the password they set: the user's next log-in leads to the password
    page, nothing else opens (the API answers 403 in the one error shape) until it is changed."""
    from tests.web.conftest import Browser

    admin = as_user("admin")
    user_id = _user_id(Session, "leader.vice")
    admin.get(f"/admin/users/{user_id}")
    assert admin.post(f"/admin/users/{user_id}/password", {"password": GOOD, "password2": GOOD}).status_code == 200
    browser = Browser(app.test_client())
    browser.get("/login")
    assert browser.post("/login", {"username": "leader.vice", "password": GOOD}).status_code == 302
    assert browser.get("/").headers["Location"].endswith("/account/password")
    api = browser.get("/api/v1/tasks")
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "forbidden"
    own = "Wq7-lantern-Harbor-93"
    assert "请先修改密码" in browser.get("/account/password").get_data(as_text=True)
    assert browser.post("/account/password", {"current": GOOD, "new": own, "new2": own}).status_code == 302
    home = browser.get("/")
    assert home.status_code == 200 or not home.headers["Location"].endswith("/account/password")
    assert browser.get("/cases").status_code == 200
