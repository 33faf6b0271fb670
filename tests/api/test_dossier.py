"""Issue 14: the dossier from the API — the same record and access rules as the case page,
the one error shape for a case the caller may not see."""

from __future__ import annotations

from tests.api.conftest import assert_error
from tests.web.conftest import ENT2


def test_the_dossier_starts_with_the_submission(api, start_case):
    case = start_case(title="厂房用地手续办理")
    for who in ("wg.city", "ent.demo1"):
        body = api(who).get(f"/api/v1/cases/{case}/dossier").get_json()
        assert body["case_id"] == case
        first = body["steps"][0]
        assert first["kind"] == "submission" and first["actor"] == "ent.demo1"
        assert {"key": "title", "display": "厂房用地手续办理"}.items() <= next(
            a for a in first["answers"] if a["key"] == "title"
        ).items()


def test_another_enterprises_dossier_is_not_found(api, start_case):
    case = start_case(uscc=ENT2, county="shuangta", by="ent.demo2", title="电力增容")
    assert_error(api("ent.demo1").get(f"/api/v1/cases/{case}/dossier"), 404)
    assert_error(api("ent.demo1").get("/api/v1/cases/999999/dossier"), 404)


def test_the_dossier_is_paged(api, start_case):
    case = start_case(title="厂房用地手续办理")
    body = api("wg.city").get(f"/api/v1/cases/{case}/dossier?per_page=1&order=newest").get_json()
    assert body["page"] == {"page": 1, "per_page": 1, "total": 1} and body["steps"][0]["kind"] == "submission"
    assert api("wg.city").get(f"/api/v1/cases/{case}/dossier?page=2").get_json()["steps"] == []
    assert_error(api("wg.city").get(f"/api/v1/cases/{case}/dossier?order=sideways"), 422)
    assert_error(api("wg.city").get(f"/api/v1/cases/{case}/dossier?per_page=101"), 422)
