"""Security tests run against the web app and API of tests/web and tests/api."""

from tests.api.conftest import api, app, as_user, start_case, web_settings  # noqa: F401
from tests.web.conftest import case_process  # noqa: F401
