"""Fixtures of the designer pages: the web fixtures (tests/web/conftest.py) on the
project's own processes/ and forms/, and screenshots into test-artifacts/designer_web/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import (  # noqa: F401
    CHROMIUM_ARGS,
    Browser,
    Shots,
    app,
    as_user,
    browser_type_launch_args,
    csrf_of,
    live_server,
    login_page,
    real_app,
    real_server,
    web_settings,
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "designer_web"
DATA = Path(__file__).parent / "data"


@pytest.fixture
def shots(request):
    return Shots(request.node.name, ARTIFACTS)


@pytest.fixture
def real_as_user(real_app):
    def make(username: str) -> Browser:
        return Browser(real_app.test_client()).login(username)

    return make
