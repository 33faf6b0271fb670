"""The supported BPMN subset, checked on the XML before SpiffWorkflow parses it.

SpiffWorkflow's parsers stop at the first thing they cannot handle, and for several
constructs they stop with a raw ``KeyError``/``TypeError`` or a message without an element.
These checks find the constructs zhitongche does not run and name each one (element id and
line), so a designer gets every refusal at once, in words they can act on.

Only elements inside *executable* processes are checked (a non-executable pool of a
collaboration is documentation), except data stores, which the library refuses anywhere.
See docs/SUPPORTED_BPMN.md for the subset as a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lxml import etree

from .problems import BPMN_NS, CAMUNDA_NS, SPIFF_NS, Problem

B = f"{{{BPMN_NS}}}"
C = f"{{{CAMUNDA_NS}}}"
S = f"{{{SPIFF_NS}}}"

JUEL = re.compile(r"[$#]\{")
JUEL_MESSAGE = "JUEL expressions ({expr}) are not supported; write Python, e.g. `approved` or `amount > 1000`"
_JAVA_ATTRS = ("class", "expression", "delegateExpression", "type", "topic")
_EXPRESSION_TAGS = (
    "conditionExpression",
    "timeDuration",
    "timeDate",
    "timeCycle",
    "loopCardinality",
    "completionCondition",
    "condition",
)
_REF_EVENTS = {
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _owner(el: etree._Element) -> etree._Element:
    """The element itself or its nearest ancestor with an id (what a diagram can mark)."""
    node: etree._Element | None = el
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node if node is not None else el


def _problem(file: str, el: etree._Element, message: str) -> Problem:
    owner = _owner(el)
    return Problem(file, message, el.sourceline, owner.get("id"))


def _label(el: etree._Element) -> str:
    name = (el.get("name") or "").replace("\n", " ").strip()
    return f"'{name}'" if name else el.get("id", "")


def executable_processes(root: etree._Element) -> list[etree._Element]:
    return [p for p in root.iter(B + "process") if p.get("isExecutable", "true") != "false"]


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lint_tree(file: str, tree: etree._ElementTree, flavor: str) -> list[Problem]:
    """Problems of one BPMN file that SpiffWorkflow would not report clearly (or at all)."""
    root = tree.getroot()
    problems: list[Problem] = []
    ids = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    for store in root.iter(B + "dataStore"):
        problems.append(
            _problem(
                file,
                store,
                f"data stores are not supported (data store {_label(store)}); "
                "keep case data in process variables or data objects",
            )
        )
    for process in executable_processes(root):
        problems.extend(_lint_process(file, process, flavor, ids))
    return problems


def _reserved_ids(process_id: str) -> set[str]:
    """Names SpiffWorkflow gives the task specs it adds to every process: an element with one
    of them replaces that spec, and the process cannot start."""
    return {"Start", "End", "Root", f"{process_id}.EndJoin"}


def _lint_process(
    file: str, process: etree._Element, flavor: str, ids: dict[str | None, etree._Element]
) -> Iterator[Problem]:
    reserved = _reserved_ids(process.get("id", ""))
    for el in process.iter():
        tag = _local(el)
        if not tag:
            continue
        if el.get("id") in reserved and tag not in ("sequenceFlow", "incoming", "outgoing"):
            yield _problem(
                file,
                el,
                f"the id '{el.get('id')}' is reserved by the engine; give this "
                f"{tag} another id (e.g. '{el.get('id')}_1')",
            )
        if tag == "dataStoreReference":
            yield _problem(file, el, f"data stores are not supported (data store reference {_label(el)})")
        elif tag == "complexGateway":
            yield _problem(
                file, el, "complex gateways are not supported; use an exclusive, inclusive or parallel gateway"
            )
        elif tag == "compensateEventDefinition" or el.get("isForCompensation") == "true":
            yield _problem(
                file,
                el,
                "compensation is not supported; model the undo step as a normal task on an error or escalation path",
            )
        elif tag in ("serviceTask", "sendTask") and (impl := _java_impl(el)):
            attr, value = impl
            yield _problem(
                file,
                el,
                f"{tag} {_label(el)} has a Java/external implementation "
                f'(camunda:{attr}="{value}") that cannot run here; use a script task '
                "(Python) or a user task",
            )
        elif tag == "serviceTask":
            yield _problem(
                file,
                el,
                f"service tasks are not supported (service task {_label(el)}): there "
                "are no service connectors; use a script task (Python) or a user task",
            )
        elif tag == "scriptTask" and (el.get("scriptFormat") or "python").lower() not in ("python", "py"):
            yield _problem(file, el, f"script language '{el.get('scriptFormat')}' is not supported; scripts are Python")
        elif tag == "businessRuleTask":
            if flavor == "camunda" and not el.get(C + "decisionRef"):
                yield _problem(
                    file,
                    el,
                    f"business rule task {_label(el)} names no decision table: set "
                    "camunda:decisionRef to the id of a DMN decision",
                )
            elif flavor == "spiff" and not el.findall(f"./{B}extensionElements/{S}calledDecisionId"):
                yield _problem(
                    file,
                    el,
                    f"business rule task {_label(el)} names no decision table: add "
                    "spiffworkflow:calledDecisionId with the id of a DMN decision",
                )
        elif tag in _REF_EVENTS:
            attr, kind = _REF_EVENTS[tag]
            ref = el.get(attr)
            if ref and (ref not in ids or _local(ids[ref]) != kind):
                yield _problem(
                    file,
                    el,
                    f"refers to {kind} '{ref}', which is not defined in this file (add a bpmn:{kind} with that id)",
                )
        elif tag in ("dataInputAssociation", "dataOutputAssociation"):
            end = "sourceRef" if tag == "dataInputAssociation" else "targetRef"
            for ref_el in el.findall(B + end):
                ref = (ref_el.text or "").strip()
                target = ids.get(ref)
                if target is not None and _local(target) in ("dataObjectReference", "dataObject"):
                    continue
                what = f"a {_local(target)}" if target is not None else "nothing in this file"
                verb = "reads" if end == "sourceRef" else "writes"
                task = el.getparent()
                assert task is not None  # an association sits in the task that reads or writes
                yield _problem(
                    file,
                    task,
                    f"{_label(task)} {verb} '{ref}', which is {what}; only data objects can be read or written",
                )
        if tag in _EXPRESSION_TAGS and el.text and JUEL.search(el.text):
            yield _problem(file, el, JUEL_MESSAGE.format(expr=_short(el.text.strip())))
        if tag == "multiInstanceLoopCharacteristics" and JUEL.search(el.get(C + "collection") or ""):
            yield _problem(file, el, JUEL_MESSAGE.format(expr=_short(el.get(C + "collection") or "")))


def _java_impl(el: etree._Element) -> tuple[str, str] | None:
    for attr in _JAVA_ATTRS:
        value = el.get(C + attr)
        if value:
            return attr, value
    return None


def lint_references(
    trees: dict[str, etree._ElementTree], bpmn_names: Iterable[str], dmn_names: Iterable[str]
) -> list[Problem]:
    """Call activities and business rule tasks must name a process / decision of the bundle."""
    process_ids = {p.get("id") for n in bpmn_names for p in trees[n].getroot().iter(B + "process")}
    decision_ids = {d.get("id") for n in dmn_names for d in trees[n].getroot().iter("{*}decision")}
    problems = []
    for name in bpmn_names:
        for process in executable_processes(trees[name].getroot()):
            for call in process.iter(B + "callActivity"):
                target = call.get("calledElement")
                if target and target not in process_ids:
                    problems.append(
                        _problem(
                            name,
                            call,
                            f"call activity {_label(call)} calls process "
                            f"'{target}', which is in none of the files deployed "
                            "together; add the file that defines it",
                        )
                    )
            for task in process.iter(B + "businessRuleTask"):
                refs = [task.get(C + "decisionRef")] + [
                    (e.text or "").strip() for e in task.findall(f"./{B}extensionElements/{S}calledDecisionId")
                ]
                for ref in filter(None, refs):
                    if ref not in decision_ids:
                        problems.append(
                            _problem(
                                name,
                                task,
                                f"business rule task {_label(task)} uses decision "
                                f"'{ref}', which is in none of the DMN files "
                                "deployed together",
                            )
                        )
    return problems
