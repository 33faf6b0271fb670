"""/api/v1/docs: the OpenAPI document rendered on the server (no script, no CDN), so it
works offline and under the strict Content-Security-Policy."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .common import PREFIX

bp = Blueprint("apidocs", __name__, template_folder="templates")


def _ref_name(schema: dict | None) -> str | None:
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        inner = _ref_name(schema.get("items"))
        return f"[{inner}]" if inner else "array"
    return schema.get("type")


@bp.get(f"{PREFIX}/docs")
def docs():
    spec = current_app.extensions["zhitongche-api"].spec.to_dict()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = (op.get("requestBody") or {}).get("content", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or [""])[0],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "type": _ref_name(p.get("schema")) or "",
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": [(ctype, _ref_name(c.get("schema"))) for ctype, c in body.items()],
                    "responses": [
                        (
                            code,
                            r.get("description", "") if isinstance(r, dict) else "",
                            _ref_name(((r.get("content") or {}).get("application/json") or {}).get("schema"))
                            if isinstance(r, dict)
                            else None,
                        )
                        for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    schemas = {
        name: {
            "required": set(s.get("required", [])),
            "properties": [
                (pname, _ref_name(p) or "", (p.get("description") or ""), p.get("nullable", False))
                for pname, p in (s.get("properties") or {}).items()
            ],
        }
        for name, s in sorted(spec.get("components", {}).get("schemas", {}).items())
    }
    return render_template(
        "api/docs.html", spec=spec, operations=operations, schemas=schemas, openapi_url=f"{PREFIX}/openapi.json"
    )
