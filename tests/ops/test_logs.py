"""Issue 20: a request id on every response, on error pages and in every log line; optional
JSON logs."""

from __future__ import annotations

import io
import json
import logging

from webapp.logs import configure


def test_request_id_on_responses_and_error_pages(app):
    client = app.test_client()
    fresh = client.get("/login").headers["X-Request-ID"]
    assert len(fresh) == 32 and fresh != client.get("/login").headers["X-Request-ID"]
    given = client.get("/login", headers={"X-Request-ID": "nginx-4f2a9c01"})
    assert given.headers["X-Request-ID"] == "nginx-4f2a9c01"
    forged = client.get("/login", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert len(forged.headers["X-Request-ID"]) == 32  # not an id we repeat: replaced by a fresh one
    missing = client.get("/no/such/page", headers={"X-Request-ID": "trace-0000abcd"})
    assert missing.status_code == 404
    assert "请求编号" in missing.get_data(as_text=True) and "trace-0000abcd" in missing.get_data(as_text=True)
    api = client.get("/api/v1/tasks", headers={"X-Request-ID": "trace-api-0001"})
    assert api.status_code == 401 and api.headers["X-Request-ID"] == "trace-api-0001"
    assert "error" in api.get_json()


def test_json_logs_carry_the_request_id(app):
    buffer = io.StringIO()
    level = logging.getLogger().level
    handler = configure("json", stream=buffer)
    try:

        @app.get("/_log_something")
        def _log_something():
            logging.getLogger("zhitongche.test").warning("测试日志 %s", 42)
            return "ok"

        assert app.test_client().get("/_log_something", headers={"X-Request-ID": "trace-json-0001"}).status_code == 200
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    mine = [line for line in lines if line["logger"] == "zhitongche.test"]
    assert mine == [
        {
            "time": mine[0]["time"],
            "level": "WARNING",
            "logger": "zhitongche.test",
            "message": "测试日志 42",
            "request_id": "trace-json-0001",
            "method": "GET",
            "path": "/_log_something",
        }
    ]
