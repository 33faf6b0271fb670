"""Simplified Chinese first, English second (Flask-Babel).

Message ids are the Chinese texts; ``translations/en/LC_MESSAGES/messages.po`` gives the
English. The ``.mo`` file is not committed: ``scripts/build-assets`` compiles it, and the
app compiles it at start when it is missing or older than the ``.po``.
"""

from __future__ import annotations

from pathlib import Path

from flask import request, session

TRANSLATIONS = Path(__file__).parent / "translations"
LANGS = ("zh", "en")


def select_locale() -> str:
    lang = session.get("lang")
    if lang in LANGS:
        return lang
    return "zh"


def current_lang() -> str:
    try:
        return select_locale()
    except RuntimeError:
        return "zh"


def compile_catalogues() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as src:
            catalog = read_po(src, locale=po.parent.parent.name)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as out:
            write_mo(out, catalog)
        tmp.replace(mo)


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"
