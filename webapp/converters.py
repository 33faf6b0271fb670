"""URL converters shared by every blueprint.

``int`` is replaced by a bounded one: an id larger than the biggest BIGINT (2**63-1) does
not match the rule, so the page or API answers 404 instead of the database overflowing
into a 500. ``int(max=…)`` still narrows it further.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

BIGINT_MAX = 2**63 - 1


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 (werkzeug's names)
        bounded = BIGINT_MAX if max is None or max > BIGINT_MAX else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bounded, signed=signed)


def register(app) -> None:
    """Before any route is added: Flask compiles each rule with the converters it finds then."""
    app.url_map.converters["int"] = BoundedIntConverter
