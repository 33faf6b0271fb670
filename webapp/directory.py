"""Names and choice lists from the directory (processes/directory.json) that many pages use:
``choices()`` — counties, units, categories — for the form renderer (``choices=``,
webapp/formrender.py); ``group_names`` shows candidate groups by name (``unit:zrzyj`` → 市自然资源局)."""

from __future__ import annotations

from flask_babel import gettext as _

from .context import get_directory


def choices() -> dict[str, list[tuple[str, str]]]:
    """``{"counties": [(code, name)…], "units": […], "categories": [(name, name)…]}``."""
    directory = get_directory()
    return {
        "counties": list(directory.counties.items()),
        "units": list(directory.units.items()),
        "categories": [(c, c) for c in directory.categories],
    }


def _group_name(group: str) -> str:
    """``unit:zrzyj`` → 市自然资源局, ``wg:city`` → 朝阳市工作组, ``enterprise:…`` → 企业."""
    directory = get_directory()
    kind, _sep, code = str(group).partition(":")
    if kind in ("unit", "head"):
        name = directory.unit_name(code)
        return name if kind == "unit" else _("%(unit)s负责人", unit=name)
    if kind == "wg":
        return _("%(county)s工作组", county=directory.county_name(code))
    if kind == "enterprise":
        return _("企业")
    if kind == "leader":
        return _("市领导")
    return str(group)


def group_names(groups) -> str:
    return "、".join(_group_name(x) for x in (groups or []))
