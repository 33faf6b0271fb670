"""File names of downloads (RFC 6266 / RFC 5987): the UTF-8 name for current clients and an
ASCII fallback that still says what the file is (``附件-12.pdf`` becomes ``attachment-12.pdf``
for old clients, never a bare ``.pdf``)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from flask import Response


def ascii_fallback(name: str, fallback_stem: str) -> str:
    path = PurePosixPath(name or "")
    ext = re.sub(r"[^A-Za-z0-9.]", "", path.suffix)[:12]
    stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._ -]", "", stem).strip(" .-_")
    return f"{stem or fallback_stem}{ext}"


def set_filename(response: Response, name: str, fallback_stem: str) -> Response:
    """``Content-Disposition: attachment; filename="<ascii>"; filename*=UTF-8''<name>``."""
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_fallback(name, fallback_stem)}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    return response
