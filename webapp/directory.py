"""Choice lists from the directory (processes/directory.json) that forms on many pages offer:
counties, units, categories. The form renderer takes them as ``choices=`` (webapp/formrender.py)."""
from __future__ import annotations

from .context import get_directory


def choices() -> dict[str, list[tuple[str, str]]]:
    """``{"counties": [(code, name)…], "units": […], "categories": [(name, name)…]}``."""
    directory = get_directory()
    return {
        "counties": list(directory.counties.items()),
        "units": list(directory.units.items()),
        "categories": [(c, c) for c in directory.categories],
    }
