"""Parsed specs per deployed version. A version is immutable, so any process may cache it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
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
    called_ids: dict = field(default_factory=dict)  # called process -> version id it runs from (engine/binding.py)


class SpecCache:
    """Parsed specs per deployed version (immutable, so safe to cache in any process)."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[tuple, LoadedVersion] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, version: ProcessVersion, called: dict[str, ProcessVersion] | None = None) -> LoadedVersion:
        """The version's specs; ``called`` (engine/binding.py) runs those called processes from
        their own versions instead of the copies deployed with the caller."""
        if called:
            return self._with_called(version, called)
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

    def _with_called(self, version: ProcessVersion, called: dict[str, ProcessVersion]) -> LoadedVersion:
        key = (version.id, version.content_hash, tuple(sorted((k, v.id) for k, v in called.items())))
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        base = self.get(version)
        # the caller's own specs are shared (never changed while cases run), its map of called
        # specs is this key's own: no parse and no read of ``files`` when the caller is cached
        spec, subprocess_specs = base.spec, dict(base.subprocess_specs)
        forms = dict(base.forms)
        for name, callee in called.items():
            own = self.get(callee)
            subprocess_specs[name] = own.spec
            for nested, nested_spec in own.subprocess_specs.items():
                if nested not in called:
                    subprocess_specs[nested] = nested_spec
            forms.update(own.forms)
        loaded = LoadedVersion(
            version.id,
            version.flavor,
            spec,
            subprocess_specs,
            forms,
            {name: callee.id for name, callee in called.items()},
        )
        with self._lock:
            self._items[key] = loaded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return loaded
