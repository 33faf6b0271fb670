"""Fixtures for the statistics tests: the real processes deployed, cases driven through them
(tests/scenarios/driver.py), the web app on the real processes, the browser set-up."""

from __future__ import annotations

import pytest

from tests.scenarios.conftest import deployed, new_case  # noqa: F401
from tests.scenarios.driver import Case, beijing, make_uscc, project_files, submit  # noqa: F401
from tests.web.conftest import Browser, as_user, browser_type_launch_args, login_page, real_app, real_server, shots  # noqa: F401

CITY_WG = "wg:city"


@pytest.fixture
def app(real_app):
    """``as_user`` logs in to the app on the real processes."""
    return real_app


def dispatch(case, group=CITY_WG, lead="zrzyj", coop=(), mode="快速办"):
    case.complete("受理审查", group, {"intake_decision": "accept"})
    case.complete(
        "分级交办", group, {"dispatch_action": "dispatch", "lead_unit": lead, "coop_units": list(coop), "mode": mode}
    )


def solve(case, lead="zrzyj", group=CITY_WG, satisfaction="满意", coop=()):
    case.complete("拟办办理结果", f"unit:{lead}", {"handling_result": "已办理完毕", "solved": True})
    for unit in coop:
        case.complete("配合单位意见", f"unit:{unit}", {"coop_agree": True, "coop_opinion_text": "同意"})
    case.complete("负责人审核", f"head:{lead}", {"head_decision": "submit"})
    case.complete("结果审核", group, {"review_decision": "accept"})
    data = {"satisfaction": satisfaction, "visit_comment": "意见"}
    case.complete("回访评价", group, data)
