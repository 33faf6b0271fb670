"""Names of counties and units for display and choice lists.

``processes/directory.json`` is the source of truth (docs/CONVENTIONS.md); until it exists,
or for codes it does not list, the built-in names of the conventions are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COUNTIES = {
    "city": "朝阳市",
    "shuangta": "双塔区",
    "longcheng": "龙城区",
    "beipiao": "北票市",
    "lingyuan": "凌源市",
    "chaoyangxian": "朝阳县",
    "jianping": "建平县",
    "kazuo": "喀左县",
}
CITY_UNITS = {
    "zrzyj": "市自然资源局",
    "sthjj": "市生态环境局",
    "zjj": "市住建局",
    "fgw": "市发改委",
    "yshj": "市营商局",
    "jrfzj": "市金融发展局",
    "gdgs": "供电公司",
}
CATEGORIES = ["土地批复", "门牌备案", "要素保障", "环评手续", "设计变更", "融资贷款", "项目推进", "其他"]
MODES = ["马上办", "快速办", "监督办"]


@dataclass
class Directory:
    counties: dict[str, str] = field(default_factory=lambda: dict(COUNTIES))
    units: dict[str, str] = field(default_factory=lambda: dict(CITY_UNITS))
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))
    # English names (``name_en`` in directory.json) for pages read in English
    counties_en: dict[str, str] = field(default_factory=dict)
    units_en: dict[str, str] = field(default_factory=dict)
    _english: Directory | None = field(default=None, init=False, repr=False, compare=False)

    def in_language(self, lang: str | None) -> Directory:
        """The directory with English names where it has them (``lang`` "en…"), else itself.
        Codes, order and categories stay the same; official documents keep the Chinese names."""
        if not str(lang or "").startswith("en") or not (self.counties_en or self.units_en):
            return self
        if self._english is None:
            self._english = Directory(
                counties={c: self.counties_en.get(c, n) for c, n in self.counties.items()},
                units={u: self.units_en.get(u, n) for u, n in self.units.items()},
                categories=list(self.categories),
            )
        return self._english

    def county_name(self, code: str | None) -> str:
        return self.counties.get(code or "", code or "")

    def unit_name(self, code: str | None) -> str:
        return self.units.get(code or "", code or "")


def _pairs(
    value: Any, key_names: tuple[str, ...] = ("code", "id"), name_names: tuple[str, ...] = ("name", "title", "label")
) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                out[str(k)] = v
            elif isinstance(v, dict):
                out[str(k)] = next((v[n] for n in name_names if isinstance(v.get(n), str)), str(k))
                # nested units of a county: {"jianping": {"name": .., "units": {...}}}
                for sub_key in ("units",):
                    if sub_key in v:
                        out.update({kk: vv for kk, vv in _pairs(v[sub_key]).items()})
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                code = next((item[k] for k in key_names if k in item), None)
                if code is not None:
                    out[str(code)] = next((item[n] for n in name_names if isinstance(item.get(n), str)), str(code))
    return out


def _english(value: Any) -> dict[str, str]:
    """``code → name_en`` of the entries that give one (a list of objects or a code-keyed object)."""
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value or [])
    out: dict[str, str] = {}
    for key, item in items:
        if isinstance(item, dict) and isinstance(item.get("name_en"), str):
            code = key if key is not None else item.get("code", item.get("id"))
            if code is not None:
                out[str(code)] = item["name_en"]
    return out


def load_directory(path: str | Path | None) -> Directory:
    directory = Directory()
    if path is None or not Path(path).is_file():
        return directory
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return directory
    counties = _pairs(data.get("counties"))
    units = _pairs(data.get("units"))
    directory.counties_en = _english(data.get("counties"))
    directory.units_en = _english(data.get("units"))
    # county entries may carry their own units
    if isinstance(data.get("counties"), (list, dict)):
        items = data["counties"].values() if isinstance(data["counties"], dict) else data["counties"]
        for item in items:
            if isinstance(item, dict) and "units" in item:
                units.update(_pairs(item["units"]))
                directory.units_en.update(_english(item["units"]))
    if counties:
        directory.counties = {**COUNTIES, **counties}
    if units:
        directory.units = units
    if isinstance(data.get("categories"), list):
        cats = [c if isinstance(c, str) else (c.get("name") or c.get("code")) for c in data["categories"]]
        directory.categories = [c for c in cats if c]
    return directory
