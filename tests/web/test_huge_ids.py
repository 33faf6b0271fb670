"""Ids in URLs beyond BIGINT do not match (webapp.converters replaces Flask's ``int``): a 404,
never a database overflow (a 500 on PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.api.conftest import api, assert_error  # noqa: F401

HUGE = str(2**63)  # one more than the biggest BIGINT
HUGER = "9" * 40


@pytest.mark.parametrize("huge", [HUGE, HUGER])
def test_pages_answer_404(huge, as_user):
    wg = as_user("wg.city")
    for url in (f"/cases/{huge}", f"/tasks/{huge}", f"/files/{huge}", f"/cases/{huge}/diagram.json"):
        assert wg.get(url).status_code == 404, url
    assert wg.post(f"/cases/{huge}/comments", {"body": "x"}).status_code == 404
    ent = as_user("ent.demo1")
    assert ent.get(f"/portal/cases/{huge}").status_code == 404
    assert ent.post(f"/portal/cases/{huge}/withdraw").status_code == 404
    assert as_user("admin").get(f"/admin/incidents/{huge}").status_code == 404


def test_the_biggest_bigint_still_matches(as_user):
    assert as_user("wg.city").get(f"/cases/{2**63 - 1}").status_code == 404  # matched, not found
    assert as_user("wg.city").get("/cases/1x").status_code == 404


@pytest.mark.parametrize("huge", [HUGE, HUGER])
def test_the_api_answers_404_in_its_error_shape(huge, api):  # noqa: F811
    client = api("admin")
    for url in (
        f"/api/v1/instances/{huge}",
        f"/api/v1/tasks/{huge}",
        f"/api/v1/incidents/{huge}",
        f"/api/v1/cases/{huge}",
    ):
        assert_error(client.get(url), 404, "not_found")
    assert_error(client.post(f"/api/v1/instances/{huge}/suspend"), 404, "not_found")


def test_a_normal_id_still_works(as_user, start_case):
    case = start_case()
    assert as_user("wg.city").get(f"/cases/{case}").status_code == 200
