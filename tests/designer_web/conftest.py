"""Fixtures of the designer pages: the web fixtures (tests/web/conftest.py) on the
project's own processes/ and forms/, and screenshots into test-artifacts/designer_web/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.conftest import (Browser, CHROMIUM_ARGS, Shots, app, as_user, browser_type_launch_args,  # noqa: F401
                                csrf_of, live_server, login_page, real_app, real_server, web_settings)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "designer_web"
DATA = Path(__file__).parent / "data"


class DesignerShots(Shots):
    def __init__(self, name: str):
        self.dir = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        if self.dir.exists():
            for old in self.dir.glob("*.png"):
                old.unlink()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0


@pytest.fixture
def shots(request):
    return DesignerShots(request.node.name)


@pytest.fixture
def real_as_user(real_app):
    def make(username: str) -> Browser:
        return Browser(real_app.test_client()).login(username)

    return make
