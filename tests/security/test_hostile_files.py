"""Hostile process files and oversized bodies, through the API deploy endpoint."""

from __future__ import annotations

import io

from tests.api.conftest import assert_error

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="p" isExecutable="true"><startEvent id="s" name="&xxe;"/></process>
</definitions>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="&lol9;" namespace="x"/>"""

# an entity declared without a DOCTYPE at the start (after a long comment)
LATE = b"<?xml version='1.0'?>\n<!--" + b"x" * 5000 + b"-->\n<!DOCTYPE d [<!ENTITY e 'boom'>]><d>&e;</d>"

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x"/>"""


def _deploy(client, name: str, content: bytes):
    return client.post(
        "/api/v1/definitions",
        json=None,
        data={"files": [(io.BytesIO(content), name)]},
        content_type="multipart/form-data",
    )


def test_external_entities_are_refused(api):
    for name, content in (("xxe.bpmn", XXE), ("bomb.dmn", BOMB), ("late.bpmn", LATE), ("pe.bpmn", PARAMETER_ENTITY)):
        error = assert_error(_deploy(api("designer"), name, content), 422, "invalid_process_files")
        problem = error["details"]["problems"][0]
        assert problem["file"] == name
        assert "DOCTYPE" in problem["message"] or "entity" in problem["message"].lower()
        assert "root:" not in str(error)  # nothing of /etc/passwd came back


def test_an_oversized_deploy_is_413_in_the_error_shape(app, api):
    app.config["API_MAX_DEPLOY_BYTES"] = 64 * 1024
    response = _deploy(api("designer"), "big.bpmn", b"<a>" + b" " * 100_000 + b"</a>")
    assert_error(response, 413, "too_large")


def test_an_oversized_body_anywhere_under_the_api_is_413(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = api("wg.city").post("/api/v1/tokens", json={"name": "x" * 20_000})
    assert_error(response, 413, "too_large")


def test_an_oversized_page_upload_is_refused(app, as_user, start_case):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    case = start_case()
    browser = as_user("wg.jianping")
    response = browser.post(
        f"/cases/{case}/attachments",
        {"file": (io.BytesIO(b"%PDF" + b"x" * 20_000), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
