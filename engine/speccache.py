"""Parsed specs per deployed version. A version is immutable, so any process may cache it."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from .deploy import bundle_json
from .models import ProcessVersion
from .parsing import build_specs, load_bundle


@dataclass
class LoadedVersion:
    version_id: int
    flavor: str
    spec: Any
    subprocess_specs: dict
    forms: dict


class SpecCache:
    """Parsed specs per deployed version (immutable, so safe to cache in any process)."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[tuple[int, str], LoadedVersion] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, version: ProcessVersion) -> LoadedVersion:
        key = (version.id, version.content_hash)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        bundle = load_bundle(bundle_json(version), validate=False)
        spec, subprocess_specs = build_specs(bundle, version.process_id)
        loaded = LoadedVersion(version.id, version.flavor, spec, subprocess_specs, bundle.forms)
        with self._lock:
            self._items[key] = loaded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return loaded
