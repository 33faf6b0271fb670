"""Turning process files into SpiffWorkflow specs: safe XML, the right parser, clear errors.

Files are handled as a *bundle*: a mapping of file name to bytes (``case.bpmn``,
``rules.dmn``, ``intake.schema.json`` …). A deployed version stores its bundle, so the
same function parses it at deploy time and when a worker first needs the spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR as SPIFF_VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from .problems import CAMUNDA_NS, SPIFF_NS, Problem
from .subset import lint_references, lint_tree

MAX_FILE_BYTES = 2 * 1024 * 1024

_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)


class BundleError(Exception):
    """The files cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def is_bpmn(name: str) -> bool:
    return name.endswith((".bpmn", ".bpmn20.xml"))


def is_dmn(name: str) -> bool:
    return name.endswith(".dmn")


def is_form(name: str) -> bool:
    return name.endswith(".json")


_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
    (b"<\x00?\x00", "UTF-16"),
    (b"\x00<\x00?", "UTF-16"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_xml(name: str, content: bytes) -> etree._ElementTree:
    """Parse untrusted XML: no DTDs, no entities, no network, bounded size."""
    if len(content) > MAX_FILE_BYTES:
        raise BundleError([Problem(name, f"file is larger than {MAX_FILE_BYTES // 1024} KiB")])
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        found = next((enc for bom, enc in _BOMS if content.startswith(bom)), "not UTF-8")
        raise BundleError(
            [Problem(name, f"process files must be UTF-8 encoded (this one is {found}); save it as UTF-8")]
        ) from None
    head = content[:4096].decode("utf-8", "replace")
    if "<!DOCTYPE" in head or "<!ENTITY" in content.decode("utf-8", "replace"):
        raise BundleError([Problem(name, "DOCTYPE and entity declarations are not allowed in process files")])
    try:
        return etree.ElementTree(etree.fromstring(content, _SAFE_PARSER))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise BundleError([Problem(name, f"not well-formed XML: {exc.msg}", line)]) from None


def _uses_namespace(tree: etree._ElementTree, ns: str) -> bool:
    prefix = "{" + ns + "}"
    for element in tree.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            return True
        if any(name.startswith(prefix) for name in element.attrib):
            return True
    return False


def detect_flavor(tree: etree._ElementTree) -> str:
    """``camunda`` for files that use Camunda extensions and no SpiffWorkflow ones, else ``spiff``."""
    if _uses_namespace(tree, CAMUNDA_NS) and not _uses_namespace(tree, SPIFF_NS):
        return "camunda"
    return "spiff"


def make_parser(flavor: str, validate: bool = True) -> Any:
    if flavor == "camunda":
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

        return CamundaParser(validator=BpmnValidator() if validate else None)
    return SpiffBpmnParser(validator=SPIFF_VALIDATOR if validate else None)


def element_line(
    trees: dict[str, etree._ElementTree], element_id: str | None, file: str | None = None
) -> tuple[str | None, int | None]:
    """Find the file and line of the element with this id."""
    if not element_id:
        return file, None
    names = [file] if file in trees else list(trees)
    for name in names:
        found = trees[name].xpath("//*[@id=$id]", id=element_id)
        if found:
            return name, found[0].sourceline
    return file, None


def problem_from_exception(exc: Exception, trees: dict[str, etree._ElementTree], default_file: str) -> Problem:
    if isinstance(exc, BundleError):
        return exc.problems[0]
    file = getattr(exc, "file_name", None) or default_file
    element_id = getattr(exc, "id", None) or getattr(exc, "task_id", None) or None
    line = getattr(exc, "line_number", None) or None
    message = _ELEMENT_REPR.sub(lambda m: f"<{m.group(1)}>", str(exc).strip() or exc.__class__.__name__)
    message = re.sub(r"\.\.+$", ".", message)
    if not isinstance(exc, SpiffWorkflowException):
        # a library bug or an input it did not expect (KeyError, TypeError …): say where, and what it means
        node = _node_in_traceback(exc)
        if node is not None and not element_id:
            element_id, line = node.get("id"), node.sourceline
        message = (
            f"SpiffWorkflow cannot read this element ({exc.__class__.__name__}: {message}); "
            "it uses something outside the supported BPMN subset (see docs/SUPPORTED_BPMN.md)"
        )
    file, found_line = element_line(trees, element_id, file)
    return Problem(file or default_file, message, line or found_line, element_id)


_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")


def _node_in_traceback(exc: BaseException) -> etree._Element | None:
    """The innermost XML element with an id that the failing parser code was working on."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        frame_locals = tb.tb_frame.f_locals
        for candidate in (getattr(frame_locals.get("self"), "node", None), frame_locals.get("node")):
            if isinstance(candidate, etree._Element) and candidate.get("id"):
                found = candidate
        tb = tb.tb_next
    return found


@dataclass
class ParsedBundle:
    """The parsers for a bundle, and what they found."""

    trees: dict[str, etree._ElementTree]
    flavors: dict[str, str]
    parsers: dict[str, Any]
    forms: dict[str, Any]
    process_files: dict[str, str] = field(default_factory=dict)  # process/collab id -> file
    decision_files: dict[str, str] = field(default_factory=dict)  # decision id -> file
    collaborations: dict[str, str] = field(default_factory=dict)  # collaboration id -> flavor

    def parser_for(self, process_id: str) -> Any:
        return self.parsers[self.flavors[self.process_files[process_id]]]

    def executable_ids(self) -> list[str]:
        ids: list[str] = []
        for flavor, parser in self.parsers.items():
            ids.extend(
                pid
                for pid in parser.get_process_ids()  # (after a build it lists embedded subprocesses too)
                if pid in self.process_files and self.flavors[self.process_files[pid]] == flavor
            )
        runnable = set(ids)  # a collaboration of pools that are all documentation runs nothing
        collaborations = [
            cid
            for cid, flavor in self.collaborations.items()
            if runnable & set(self.parsers[flavor].collaborations[cid])
        ]
        return sorted(ids) + sorted(collaborations)


def load_bundle(files: dict[str, bytes], validate: bool = True) -> ParsedBundle:
    """Parse every BPMN and DMN file of the bundle; raise BundleError listing every problem."""
    problems: list[Problem] = []
    trees: dict[str, etree._ElementTree] = {}
    forms: dict[str, Any] = {}
    for name, content in sorted(files.items()):
        if _CONTROL.search(name):
            problems.append(Problem(_CONTROL.sub("?", name), "file names must not contain control characters"))
            continue
        if is_bpmn(name) or is_dmn(name):
            try:
                trees[name] = parse_xml(name, content)
            except BundleError as exc:
                problems.extend(exc.problems)
        elif is_form(name):
            try:
                forms[name] = json.loads(content.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                line = getattr(exc, "lineno", None)
                problems.append(Problem(name, f"not valid JSON: {exc}", line))
            except RecursionError:
                problems.append(Problem(name, "not valid JSON: nested too deeply"))
    if problems:
        raise BundleError(problems)

    flavors = {name: detect_flavor(tree) for name, tree in trees.items() if is_bpmn(name)}
    dmn_names = [n for n in trees if is_dmn(n)]
    wanted = set(flavors.values()) or {"spiff"}
    parsers = {flavor: make_parser(flavor, validate) for flavor in wanted}
    bundle = ParsedBundle(trees, flavors, parsers, forms)
    refused: set[str] = set()
    if validate:  # deployed versions are loaded as they were accepted, never re-judged
        for name, flavor in flavors.items():
            found = lint_tree(name, trees[name], flavor)
            problems.extend(found)
            refused.update([name] if found else [])
        found = lint_references(trees, list(flavors), dmn_names)
        problems.extend(found)
        refused.update(p.file for p in found)

    for flavor, parser in parsers.items():
        for name in dmn_names:
            try:
                parser.add_dmn_xml(trees[name].getroot(), filename=name)
                decision = parser.dmn_parsers_by_name  # noqa: F841 (keeps parsers registered)
            except Exception as exc:  # parser errors are not always ValidationException
                if flavor == sorted(parsers)[0]:
                    problems.append(problem_from_exception(exc, trees, name))
        for name, file_flavor in flavors.items():
            if file_flavor != flavor or name in refused:
                continue
            before = set(parser.process_parsers)
            collabs_before = set(parser.collaborations)
            try:
                parser.add_bpmn_xml(trees[name], filename=name)
            except Exception as exc:
                problems.append(problem_from_exception(exc, trees, name))
                continue
            for pid in set(parser.process_parsers) - before:
                bundle.process_files[pid] = name
            for cid in set(parser.collaborations) - collabs_before:
                if len([ref for ref in parser.collaborations[cid] if ref]) < 2:
                    continue  # a pool drawn around one process (lanes need it): not a process of its own
                bundle.process_files[cid] = name
                bundle.collaborations[cid] = flavor
    for name in dmn_names:
        for decision in trees[name].getroot().iter("{*}decision"):
            decision_id = decision.get("id")
            if decision_id:  # (the schema requires one)
                bundle.decision_files[decision_id] = name
    if problems:
        raise BundleError(problems)
    return bundle


def build_specs(bundle: ParsedBundle, process_id: str) -> tuple[Any, dict[str, Any]]:
    """(spec, subprocess_specs) for a process or collaboration of the bundle, wired to run."""
    parser = bundle.parser_for(process_id)
    if process_id in bundle.collaborations:
        spec, subprocess_specs = parser.get_collaboration(process_id)
    else:
        spec, subprocess_specs = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    for process_spec in (spec, *subprocess_specs.values()):
        if process_spec is not None:  # None: a called process missing from the files (deploy says so)
            wire_at_parse(process_spec)
    return spec, subprocess_specs


def wire_at_parse(process_spec: Any) -> None:
    """Make once, as the spec is built, the connections SpiffWorkflow 3.2 makes in memory at
    run time, so that a parsed spec never changes while cases run on it.

    The library wires two things lazily, on the spec shared by every case of the process:

    - ``LoopTask.create_child`` connects a loop or multi-instance child's completion to its
      parent's ``merge_child`` when a parent first creates a child (the serializer does it
      when it restores a *spec*). A spec parsed from BPMN in another process (another web
      worker, after a restart) lacked it, so the last cooperating unit's answer never
      reached its parent and the case stopped.
    - ``BpmnStartTask.trigger_wf`` connects the process start to a message/signal-started
      event subprocess the first time one is triggered; from then on every *new* case of
      that process started the event subprocess at once, so a later withdrawal found it
      already running and was not treated as an interruption.

    Here the merge is connected, and an event subprocess is tied to the start as an input
    and to the end as an output, which is what ``trigger_wf`` checks before connecting; the
    start's own outputs are left alone, so event subprocesses still start only when their
    event arrives, in every process alike.
    """
    for task_spec in process_spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = process_spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)
    start = process_spec.start
    for name in getattr(start, "trigger_specs", None) or []:
        event_subprocess = process_spec.task_specs[name]
        if start.name not in event_subprocess._inputs:
            event_subprocess._inputs.append(start.name)
        if process_spec.end not in event_subprocess.outputs:
            event_subprocess.connect(process_spec.end)


ISO_TOKEN = re.compile(r"^(R\d*/)?P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$|^\d{4}-\d{2}-\d{2}")
