"""Proving that no step depends on what one process holds in memory.

``FreshEngine`` behaves as if every call ran in another process; ``fingerprint`` describes the
structure of parsed specs, so a test can show that running cases never changed them;
``lose_the_merge`` gives an engine the library's old in-memory-only multi-instance merge.
"""

from __future__ import annotations

from engine.runtime import Engine

EVENTS = ("ready_event", "update_event", "run_event", "completed_event", "cancelled_event", "error_event")


class FreshEngine:
    """An engine as if every call ran in another process (another web worker, after a
    restart or a deploy): each attribute access builds a new ``Engine`` with an empty spec
    cache, on the same clock."""

    def __init__(self, clock) -> None:
        self.clock = clock

    def __getattr__(self, name):
        return getattr(Engine(clock=self.clock), name)


def fingerprint(loaded) -> dict:
    """Inputs, outputs and event subscribers of every task spec, per process spec."""
    out = {}
    for spec in (loaded.spec, *loaded.subprocess_specs.values()):
        if spec is None:
            continue
        out[spec.name] = {
            name: (
                tuple(ts._inputs),
                tuple(ts._outputs),
                tuple(getattr(ts, e).n_subscribers() for e in EVENTS if hasattr(ts, e)),
            )
            for name, ts in spec.task_specs.items()
        }
        out[spec.name]["trigger_specs"] = tuple(getattr(spec.start, "trigger_specs", ()))
    return out


def lose_the_merge(engine: Engine, Session, case) -> None:
    """The old library behaviour: this engine's spec does not connect children to their parent."""
    with Session() as s:
        loaded = engine.load(s.merge(case.instance()))[1]  # the spec its steps will use
    for spec in loaded.subprocess_specs.values():
        for ts in spec.task_specs.values():
            if hasattr(ts, "merge_child"):
                spec.task_specs[ts.task_spec].completed_event.disconnect(ts.merge_child)
