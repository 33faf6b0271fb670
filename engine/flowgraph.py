"""Which names can be in a task's data when it runs: the graph half of the data-flow check
(engine/dataflow.py, issue 15).

The graph is SpiffWorkflow's own, as deploy built it: a task spec's ``inputs`` are the
elements a token can come from. That already holds what BPMN adds to plain sequence flows:

* a boundary event hangs off its activity's ``BoundaryEventSplit``, beside the activity, not
  after it: it sees what was there when the activity began, not what the activity produced;
* a multi-instance or loop activity's child (``X [child]``) comes after its parent; the parent
  gives what its children give (their outputs are merged into it);
* an event sub-process is tied to its process's ``Start`` (engine/parsing.py ``wire_at_parse``),
  which is what SpiffWorkflow copies its data from when it is triggered, however late: it sees
  the data its process *started* with (and its event's payload), nothing the process produced
  since (measured on 3.2.0: a message-started event sub-process reading a field a task filled
  in before the message came fails with NameError);
* a loop back makes an element its own ancestor: what it and what follows it produce count on
  the next round;
* in an ad-hoc sub-process every element may run before every other.

A sub-process or call activity gives everything its process (and what that calls) produces; the
data a (sub-)process starts with, its *entry*, is what its callers have before they call it
(callers of a called process in every process of the bundle; a fixpoint, as calls may recurse),
plus its start data when it is started on its own (``start``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import AdHocSubprocessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

# task spec -> (names it sets before it runs (pre-script, input item), names it sets by completing)
Producer = Callable[[Any], tuple[set[str], set[str]]]
Key = tuple[str, str]  # (process spec name, task spec name)


class Flow:
    """Names available at each element of the bundle's process specs (keyed by spec name)."""

    def __init__(self, specs: dict[str, Any], producer: Producer, start: dict[str, set[str]]) -> None:
        self.specs = specs
        self.pre: dict[Key, set[str]] = {}
        self.own: dict[Key, set[str]] = {}
        for sname, spec in specs.items():
            for tname, task_spec in spec.task_specs.items():
                pre, done = producer(task_spec)
                self.pre[sname, tname], self.own[sname, tname] = set(pre), set(pre) | set(done)
        # an event sub-process hangs off its process's Start (the spiff parser makes it a plain
        # SubWorkflowTask): no other element comes straight from Start but start events
        self.event_subprocesses = {
            ts.spec
            for spec in specs.values()
            for ts in spec.task_specs.values()
            if isinstance(ts, SubWorkflowTask) and any(i is spec.start for i in ts.inputs)
        }
        self._ancestors: dict[Key, set[str]] = {}
        self.deep = self._deep()
        self.entry: dict[str, set[str]] = {name: set(start.get(name, ())) for name in specs}
        self._entries()

    # -- the graph of one spec ------------------------------------------------------------
    def ancestors(self, sname: str, tname: str) -> set[str]:
        """The elements a token can pass before reaching ``tname`` (itself too, on a loop)."""
        key = (sname, tname)
        if key not in self._ancestors:
            spec = self.specs[sname]
            if isinstance(spec, AdHocSubprocessSpec):
                self._ancestors[key] = set(spec.task_specs)
                return self._ancestors[key]
            seen: set[str] = set()
            stack = [tname]
            while stack:
                task_spec = spec.task_specs.get(stack.pop())
                for came_from in getattr(task_spec, "inputs", None) or []:
                    if came_from.name not in seen:
                        seen.add(came_from.name)
                        stack.append(came_from.name)
            self._ancestors[key] = seen
        return self._ancestors[key]

    def inner(self, task_spec: Any) -> str | None:
        """The (sub-)process a sub-process or call activity runs, when the bundle has it."""
        name = getattr(task_spec, "spec", None) if isinstance(task_spec, SubWorkflowTask) else None
        return name if isinstance(name, str) and name in self.specs else None

    def gives(self, sname: str, tname: str, child: bool = True) -> set[str]:
        """What the element has produced once it completed (with its children / sub-process)."""
        task_spec = self.specs[sname].task_specs[tname]
        names = set(self.own[sname, tname])
        if (inner := self.inner(task_spec)) is not None:
            names |= self.deep[inner]
        if child and isinstance(task_spec, LoopTask) and (sname, task_spec.task_spec) in self.own:
            names |= self.gives(sname, task_spec.task_spec)
        return names

    def available(self, sname: str, tname: str, after: bool) -> set[str]:
        """The names some path can have put in the data at ``tname``: before it runs, or
        (``after``) once it completed (its own outgoing conditions, summary, notify)."""
        names = self.entry[sname] | self.pre[sname, tname]
        for earlier in self.ancestors(sname, tname):
            parent = self.specs[sname].task_specs[earlier]
            # a multi-instance child does not see its siblings' data, only its parent's
            names |= self.gives(sname, earlier, child=getattr(parent, "task_spec", None) != tname)
        if after:
            names |= self.gives(sname, tname)
        return names

    def producers(self, sname: str, name: str) -> list[str]:
        """The elements of a spec that produce ``name`` themselves (task spec names)."""
        return [tname for tname in self.specs[sname].task_specs if name in self.own[sname, tname]]

    # -- across specs ---------------------------------------------------------------------
    def _deep(self) -> dict[str, set[str]]:
        """Spec name -> everything it and the (sub-)processes it runs produce."""
        deep = {s: set().union(*(self.own[s, t] for t in spec.task_specs)) for s, spec in self.specs.items()}
        runs = {s: {i for ts in spec.task_specs.values() if (i := self.inner(ts))} for s, spec in self.specs.items()}
        changed = True
        while changed:
            changed = False
            for s, inners in runs.items():
                more = set().union(*(deep[i] for i in inners)) - deep[s]
                if more:
                    deep[s] |= more
                    changed = True
        return deep

    def _entries(self) -> None:
        calls = [
            (s, t, inner)
            for s, spec in self.specs.items()
            for t, ts in spec.task_specs.items()
            if (inner := self.inner(ts)) is not None
        ]
        changed = True
        while changed:
            changed = False
            for s, t, inner in calls:
                more = self.available(s, t, after=False) - self.entry[inner]
                if more:
                    self.entry[inner] |= more
                    changed = True
