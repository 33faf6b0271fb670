"""Fixtures for the operations tests: the web app fixtures of tests/web, reused."""
from tests.web.conftest import app, as_user, web_settings  # noqa: F401 - fixtures
