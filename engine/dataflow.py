"""Deploy check of data flow (issue 15): every variable a process reads is produced before it.

A designer's commonest mistake is a condition, a DMN input or a task property reading a field
under a name nothing writes (``aproved`` for ``approved``), or one only a later task writes: the
process deploys and the first case to get there becomes an incident. This check refuses it.

*Readers*: the conditions of sequence flows, the ``summary``, ``candidateGroups``, ``dueDate``
and ``notify`` properties, the input expressions of a DMN table (through its business rule task),
the collection, cardinality and completion condition of a multi-instance or loop activity, timers.

*Producers*: the fields of a task's form (and of the start event's form: the start data), names
assigned by script tasks and pre-/post-scripts, a business rule task's table outputs, message
variables (a Camunda thrower's ``resultVariable`` where the message is caught) and correlation
properties, multi-instance items and output collections, data outputs, a sub-process or called
process (all it produces comes back); data objects and ``case_no`` (the engine numbers every
case) are there from the start.

*Before* (engine/flowgraph.py): a read at element E is satisfied by what the data can hold on
*some* path to E (may-analysis: produced on one branch only is enough), backwards over sequence
flows, boundary splits, loops (a loop back makes what follows count on the next round) and into
sub-processes; a (sub-/called) process starts with what its callers have before the call, plus
its start data; an event sub-process sees the data its process started with (what SpiffWorkflow
copies, however late it is triggered). What E produces itself counts for what is evaluated once
E completed (its outgoing conditions, ``summary``, ``notify``, a completion condition), not for
what is evaluated before (``candidateGroups``/``dueDate`` when E is offered, DMN inputs, timers,
collections; a pre-script's names do count). A refusal names the element producing the name
only later or elsewhere ("由 Task_b 产生，但 Task_b 在 Gateway_a 之后").

Conservative on purpose (a false refusal of a good process is worse than a miss): a process whose
start data is unknown (a none start event without a form, started by code or the API, and not
called by another process of the bundle) is not checked; a name the expression itself guards
(``x if 'x' in vars() else …``, ``vars().get('x')``: any name that also appears as a string in
the expression), builtins, the sandbox's helpers and names bound in the expression are never
reported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from . import forms as forms_mod
from .exprnames import assigned_names, read_names
from .flowgraph import Flow
from .parsing import ParsedBundle, Problem, element_line
from .properties import EXPRESSION_PROPERTIES, NOTIFY, SUMMARY, task_properties

# what the engine puts into the start data of every case beside the start form (engine/cases.py)
ENGINE_NAMES = frozenset({"case_no"})
AFTER_PROPERTIES = frozenset({SUMMARY, NOTIFY})  # evaluated as the task completes (engine/step.py)

_KINDS = {  # what reads -> (Chinese, English)
    "condition": ("条件", "the condition"),
    "property": ("属性 {key} ", "the property {key}"),
    "dmn": ("决策表 {key} 的输入表达式", "the input expression of decision table {key}"),
    "collection": ("多实例集合", "the multi-instance collection"),
    "cardinality": ("多实例数量", "the multi-instance cardinality"),
    "completion": ("多实例完成条件", "the multi-instance completion condition"),
    "timer": ("定时器", "the timer"),
}


@dataclass(frozen=True)
class Read:
    kind: str
    key: str
    source: str
    spec_name: str
    bpmn_id: str | None
    task_name: str = ""  # the task spec: where in the graph it is read (engine/flowgraph.py)
    target: str | None = None  # the target of a condition's flow
    dmn_input_id: str | None = None

    @property
    def after(self) -> bool:
        """Read once the element completed (its outgoing conditions, summary, notify, loop
        completion), so what it produced counts; else before (``candidateGroups`` and ``dueDate``
        when it is offered, DMN inputs, collections, cardinality, timers)."""
        return self.kind in ("condition", "completion") or self.key in AFTER_PROPERTIES


# -- producers and readers of one process spec -----------------------------------------------


def _top(name: Any) -> str | None:
    return name.split(".")[0].split("[")[0].strip() or None if isinstance(name, str) else None


def form_fields(schema: Any) -> set[str]:
    """The top-level fields a form can give (also from allOf/anyOf/oneOf and if/then/else)."""
    fields: set[str] = set()
    if not isinstance(schema, dict):
        return fields
    props = schema.get("properties")
    if isinstance(props, dict):
        fields.update(k for k in props if isinstance(k, str))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            fields |= form_fields(part)
    for key in ("if", "then", "else"):
        fields |= form_fields(schema.get(key))
    for key in ("dependentSchemas", "dependencies"):
        if isinstance(schema.get(key), dict):
            for part in schema[key].values():
                fields |= form_fields(part)
    return fields


def _event_definitions(task_spec: Any) -> Iterator[Any]:
    ed = getattr(task_spec, "event_definition", None)
    if ed is not None:
        yield ed
        yield from getattr(ed, "event_definitions", None) or []


def _named(items: Iterable[Any] | None) -> set[str]:
    out: set[str] = set()
    for item in items or []:
        name = _top(getattr(item, "bpmn_id", None) or getattr(item, "name", None))
        if name:
            out.add(name)
    return out


def produces(bundle: ParsedBundle, task_spec: Any, thrown: dict[str, set[str]]) -> tuple[set[str], set[str]]:
    """(names the element sets before it runs: pre-script, multi-instance input item and data
    inputs; names it sets by completing: form, script, post-script, table outputs, event data …).
    ``thrown``: message name -> the variables its throwers name (Camunda: set where it is caught)."""
    pre: set[str] = set()
    names: set[str] = set()
    props = task_properties(task_spec)
    names |= form_fields(bundle.forms.get(props.get(forms_mod.FORM_KEY) or ""))
    camunda_form = getattr(task_spec, "form", None)  # Camunda formData: read, not rendered
    names |= {f.id for f in getattr(camunda_form, "fields", None) or [] if isinstance(getattr(f, "id", None), str)}
    if isinstance(task_spec, ScriptTask) and task_spec.script:
        names |= assigned_names(task_spec.script)
    if getattr(task_spec, "prescript", None):
        pre |= assigned_names(task_spec.prescript)
    if getattr(task_spec, "postscript", None):
        names |= assigned_names(task_spec.postscript)
    engine = getattr(task_spec, "dmnEngine", None)
    if engine is not None:
        names |= {n for n in (_top(o.name) for o in engine.decision_table.outputs) if n}
    for ed in _event_definitions(task_spec):
        for attr in ("message_var", "result_var", "variable"):
            if top := _top(getattr(ed, attr, None)):
                names.add(top)
        if getattr(ed, "result_var", "x") is None:  # camunda: the default result variable
            names.add(f"{task_spec.name}_Response")
        names |= {n for n in (_top(p.name) for p in getattr(ed, "correlation_properties", None) or []) if n}
        if not isinstance(task_spec, ThrowingEvent):
            names |= thrown.get(getattr(ed, "name", None) or "", set())
    if isinstance(task_spec, MultiInstanceTask):
        pre |= _named([task_spec.input_item])
        names |= _named([task_spec.output_item, task_spec.data_output])
    io = getattr(task_spec, "io_specification", None)
    if io is not None:
        pre |= _named(io.data_inputs)
        names |= _named(io.data_outputs)
    names |= _named(getattr(task_spec, "data_output_associations", None))
    if top := _top(getattr(task_spec, "result_variable", None)):
        names.add(top)
    return pre, names


def reads(process_spec: Any) -> Iterator[Read]:
    for task_spec in process_spec.task_specs.values():
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        here = dict(spec_name=process_spec.name, bpmn_id=bpmn_id, task_name=task_spec.name)
        if isinstance(task_spec, MultiChoice):
            for condition, target in task_spec.cond_task_specs:
                source = condition.args[0] if hasattr(condition, "args") else condition
                if isinstance(source, str) and source:
                    yield Read("condition", "", source, target=target, **here)
        for key, value in task_properties(task_spec).items():
            if key in EXPRESSION_PROPERTIES and isinstance(value, str) and value:
                yield Read("property", key, value, **here)
        engine = getattr(task_spec, "dmnEngine", None)
        if engine is not None:
            table = engine.decision_table
            for inp in table.inputs:
                if inp.expression:
                    yield Read(
                        "dmn", getattr(table, "name", None) or table.id, inp.expression, dmn_input_id=inp.id, **here
                    )
        if isinstance(task_spec, MultiInstanceTask):
            if task_spec.data_input is not None and _top(task_spec.data_input.bpmn_id):
                yield Read("collection", "", task_spec.data_input.bpmn_id, **here)
            if isinstance(task_spec.cardinality, str) and task_spec.cardinality:
                yield Read("cardinality", "", task_spec.cardinality, **here)
            if isinstance(task_spec.condition, str) and task_spec.condition:
                yield Read("completion", "", task_spec.condition, **here)
        elif isinstance(task_spec, LoopTask) and isinstance(task_spec.condition, str) and task_spec.condition:
            yield Read("completion", "", task_spec.condition, **here)
        for ed in _event_definitions(task_spec):
            if isinstance(ed, TimerEventDefinition) and isinstance(ed.expression, str) and ed.expression:
                yield Read("timer", "", ed.expression, **here)


def _start_data(bundle: ParsedBundle, root: Any) -> set[str] | None:
    """What a root process starts with, or None when it is unknown (code or the API starts it
    with data no file describes)."""
    starts = [t for t in root.task_specs.values() if isinstance(t, StartEvent)]
    if not starts:
        return None
    names = set(ENGINE_NAMES)
    for start in starts:
        form = bundle.forms.get(task_properties(start).get(forms_mod.FORM_KEY) or "")
        definitions = list(_event_definitions(start))
        if isinstance(form, dict):
            names |= form_fields(form)
        elif any(d.__class__.__name__ not in ("NoneEventDefinition",) for d in definitions):
            pass  # a timer, message or signal starts it: its data is what the event brings (produced())
        else:
            return None
    return names


# -- the check ---------------------------------------------------------------------------------


def _locate(bundle: ParsedBundle, default_file: str, read: Read) -> tuple[str | None, int | None, str | None]:
    if read.kind == "dmn":
        file, line = element_line(bundle.trees, read.dmn_input_id)
        if file in bundle.trees:
            text = bundle.trees[file].xpath(
                "//*[@id=$id]/*[local-name()='inputExpression']/*[local-name()='text']", id=read.dmn_input_id or ""
            )
            return file, text[0].sourceline if text else line, read.dmn_input_id
    file, line = element_line(bundle.trees, read.bpmn_id, default_file)
    tree = bundle.trees.get(file or "")
    if tree is None or not read.bpmn_id:
        return file or default_file, line, read.bpmn_id
    if read.kind == "condition":
        flows = tree.xpath(
            "//*[local-name()='sequenceFlow'][@sourceRef=$s][@targetRef=$t]", s=read.bpmn_id, t=read.target or ""
        )
        if flows:
            expr = flows[0].xpath("*[local-name()='conditionExpression']")
            return file, (expr[0] if expr else flows[0]).sourceline, flows[0].get("id")
    elif read.kind == "property":
        found = tree.xpath("//*[@id=$id]//*[local-name()='property'][@name=$n]", id=read.bpmn_id, n=read.key)
        if found:
            return file, found[0].sourceline, read.bpmn_id
    elif read.kind == "timer":
        found = tree.xpath(
            "//*[@id=$id]//*[local-name()='timeDuration' or local-name()='timeDate' or local-name()='timeCycle']",
            id=read.bpmn_id,
        )
        if found:
            return file, found[0].sourceline, read.bpmn_id
    return file, line, read.bpmn_id


def _elsewhere(read: Read, name: str, flow: Flow, related: Iterable[str]) -> tuple[str, str] | None:
    """(Chinese, English) of where a name is produced when it is, but not on a path to the reader."""
    here, reader = read.spec_name, read.bpmn_id or read.task_name
    where = [(s, t) for s in sorted(related) for t in flow.producers(s, name)]
    if not where:
        return None
    who: dict[tuple[str, str], None] = {}
    for s, t in where:
        bid = getattr(flow.specs[s].task_specs[t], "bpmn_id", None) or t
        who.setdefault((bid, bid) if s == here else (f"{bid}（{s} 中）", f"{bid} (in {s})"), None)
    names = list(who)[:3]
    if names == [(reader, reader)]:  # its own form or script: read before it completes
        return (
            f"由 {reader} 自己产生，但读取时 {reader} 尚未完成",
            f"which {reader} itself produces, but it is read before {reader} completes",
        )
    one = len(names) == 1
    who_zh, who_en = "、".join(n[0] for n in names), ", ".join(n[1] for n in names)
    subject_zh, subject_en = (who_zh, who_en) if one else ("它们", "they")
    if all(s == here and read.task_name in flow.ancestors(s, t) for s, t in where):
        tail_zh, tail_en = f"在 {reader} 之后", f"come{'s' if one else ''} only after {reader}"
    else:
        tail_zh, tail_en = f"不在 {reader} 之前的任何路径上", f"{'is' if one else 'are'} on no path before {reader}"
    if here in flow.event_subprocesses:
        tail_zh += "（事件子流程只带有其所在流程开始时的数据）"
        tail_en += " (an event sub-process gets the data its process started with)"
    return (
        f"由 {who_zh} 产生，但 {subject_zh} {tail_zh}".replace("） ", "）"),
        f"which {who_en} produce{'s' if one else ''}, but {subject_en} {tail_en}",
    )


def _message(read: Read, name: str, known: set[str], flow: Flow, related: Iterable[str]) -> str:
    zh, en = _KINDS[read.kind]
    zh, en = zh.format(key=read.key), en.format(key=read.key)
    if read.kind == "dmn" and read.bpmn_id:
        zh, en = f"{zh}（业务规则任务 {read.bpmn_id}）", f"{en} (business rule task {read.bpmn_id})"
    elsewhere = _elsewhere(read, name, flow, related)
    if elsewhere is not None:
        return f"{zh}读取的变量 {name} {elsewhere[0]} / {en} reads '{name}', {elsewhere[1]}"
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    zh_hint = f"（是否应为 {close[0]}？）" if close else ""
    en_hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (
        f"{zh}读取的变量 {name} 在流程中没有任何表单、脚本或规则产生{zh_hint} / "
        f"{en} reads '{name}', which no form, script or rule of the process produces{en_hint}"
    )


def check(bundle: ParsedBundle, built: dict[str, tuple[Any, dict]]) -> list[Problem]:
    """``built``: root process id -> (spec, subprocess_specs) as deploy built them."""
    specs: dict[str, Any] = {}
    trees: dict[str, list[str]] = {}
    for root_id, (spec, subs) in built.items():
        members = [spec, *[s for s in subs.values() if s is not None]]
        trees[root_id] = [s.name for s in members]
        for s in members:
            specs.setdefault(s.name, s)
    called = {name for rid, names in trees.items() for name in names if name != built[rid][0].name}
    start = {name: _named((getattr(s, "data_objects", None) or {}).values()) for name, s in specs.items()}
    unknown: set[str] = set()  # in the tree of a process whose start data no file describes
    related: dict[str, set[str]] = {}  # the specs whose data can meet a spec's (same trees)
    for root_id, (spec, _subs) in built.items():
        data = _start_data(bundle, spec)
        if data is None and spec.name not in called:
            unknown.update(trees[root_id])
        start[spec.name] |= data or set()
        for name in trees[root_id]:
            related.setdefault(name, set()).update(trees[root_id])
    thrown: dict[str, set[str]] = {}
    for task_spec in (ts for s in specs.values() for ts in s.task_specs.values() if isinstance(ts, ThrowingEvent)):
        for ed in _event_definitions(task_spec):
            if (top := _top(getattr(ed, "result_var", None))) and getattr(ed, "name", None):
                thrown.setdefault(ed.name, set()).add(top)
    flow = Flow(specs, lambda task_spec: produces(bundle, task_spec, thrown), start)
    problems: list[Problem] = []
    for name in sorted(set(specs) - unknown):
        default_file = getattr(specs[name], "file", None) or bundle.process_files.get(name, "")
        known = set(flow.entry[name]).union(*(flow.deep[s] for s in related[name]))
        for read in reads(specs[name]):
            have = flow.available(name, read.task_name, read.after)
            for var in read_names(read.source):
                if var not in have:
                    file, line, element_id = _locate(bundle, default_file, read)
                    message = _message(read, var, known, flow, related[name])
                    problems.append(Problem(file or default_file, message, line, element_id))
    return problems
