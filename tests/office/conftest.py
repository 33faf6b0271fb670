"""Fixtures for the office conventions (issue 19): the real processes, cases driven through them."""

from tests.scenarios.conftest import deployed, new_case  # noqa: F401
from tests.scenarios.driver import beijing, make_uscc  # noqa: F401
