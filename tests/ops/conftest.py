"""Fixtures for the operations tests: the web app fixtures of tests/web, reused."""

from tests.web.conftest import app, as_user, case_process, start_case, web_settings  # noqa: F401 - fixtures
