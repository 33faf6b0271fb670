"""The form renderer escapes every attribute and text (issue 16 item 9): a designer's property
name, title, placeholder, option or accept list carrying ``"><script>`` renders as text, never
as an element — checked by parsing the rendered HTML (the standard library's HTMLParser)."""

from __future__ import annotations

from html.parser import HTMLParser

from webapp.formrender import Renderer

EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


SCHEMA = {
    "type": "object",
    "required": [EVIL],
    "properties": {
        EVIL: {"type": "string", "title": EVIL, "description": EVIL},
        "choice" + EVIL: {"type": "string", "enum": [EVIL], "enumNames": [EVIL]},
        "many": {"type": "array", "items": {"type": "string", "enum": [EVIL]}},
        "rows" + EVIL: {"type": "array", "items": {"type": "object", "properties": {EVIL: {"type": "string"}}}},
        "group": {"type": "object", "properties": {EVIL: {"type": "boolean", "title": EVIL}}},
        "attachments": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string", "maxLength": 2000},
    },
}
UI = {
    EVIL: {"ui:placeholder": EVIL},
    "attachments": {"ui:options": {"accept": EVIL}},
    "note": {"ui:options": {"rows": EVIL}},
}


def test_hostile_names_and_labels_never_become_elements():
    html = str(
        Renderer(SCHEMA, UI, attachment_url=lambda i: f"/files/{i}", attachment_name=lambda i: EVIL).render(
            {EVIL: EVIL, "attachments": ["7"], "many": [EVIL]}, {EVIL: EVIL, "": EVIL}
        )
    )
    found = _parse(html)
    assert "script" not in found.tags and "img" not in found.tags, found.tags
    assert not [name for name, _value in found.attrs if name.startswith("on")]
    # the hostile text is all there, as text and as whole attribute values
    assert (
        ("name", EVIL) in found.attrs
        and ("id", "f-" + EVIL) in found.attrs
        and ("placeholder", EVIL) in found.attrs
        and ("accept", EVIL) in found.attrs
    )
    assert ("data-field", "rows" + EVIL + ".0." + EVIL) in found.attrs
    assert ("rows", "4") in found.attrs  # a non-number rows option falls back


def test_the_designer_preview_escapes_a_hostile_property_name(as_user):
    import json

    designer = as_user("designer")
    designer.get("/designer/")
    response = designer.client.post(
        "/designer/forms/preview.json",
        headers={"X-CSRFToken": designer.token},
        json={"schema": json.dumps({"type": "object", "properties": {EVIL: {"type": "string"}}})},
    )
    body = response.get_json()
    assert body["ok"] is True
    found = _parse(body["html"])
    assert "script" not in found.tags and "img" not in found.tags and ("name", EVIL) in found.attrs
