"""Deploy-time checks on parsed specs: every expression compiles in the sandbox, every
referenced form exists and is a valid JSON Schema, timers are written as Python."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from . import forms as forms_mod
from .parsing import ISO_TOKEN, ParsedBundle, Problem, element_line
from .properties import EXPRESSION_PROPERTIES, task_properties
from .sandbox import SandboxedScriptEngine, SandboxError, check_expression, check_script
from .subset import JUEL, JUEL_MESSAGE


def _event_definitions(task_spec: Any) -> Iterator[Any]:
    ed = getattr(task_spec, "event_definition", None)
    if ed is None:
        return
    yield ed
    yield from getattr(ed, "event_definitions", []) or []


def expressions_of(task_spec: Any) -> Iterator[tuple[str, str, bool]]:
    """(what, source, is_script) for every piece of code a task spec will run."""
    if isinstance(task_spec, MultiChoice):
        for condition, target in task_spec.cond_task_specs:
            source = condition.args[0] if hasattr(condition, "args") else condition
            if isinstance(source, str) and source:
                yield f"condition to {target}", source, False
    if isinstance(task_spec, ScriptTask) and task_spec.script:
        yield "script", task_spec.script, True
    for attr in ("prescript", "postscript"):
        source = getattr(task_spec, attr, None)
        if source:
            yield attr, source, True
    if isinstance(task_spec, MultiInstanceTask):
        if isinstance(task_spec.cardinality, str) and task_spec.cardinality:
            yield "multi-instance cardinality", task_spec.cardinality, False
        if isinstance(task_spec.condition, str) and task_spec.condition:
            yield "multi-instance completion condition", task_spec.condition, False
    elif isinstance(task_spec, LoopTask) and isinstance(task_spec.condition, str) and task_spec.condition:
        yield "loop condition", task_spec.condition, False
    for ed in _event_definitions(task_spec):
        expression = getattr(ed, "expression", None)
        if isinstance(expression, str) and expression:
            kind = ed.__class__.__name__
            yield kind, expression, False
        for prop in getattr(ed, "correlation_properties", None) or []:
            if getattr(prop, "retrieval_expression", None):
                yield f"correlation {prop.name}", prop.retrieval_expression, False
    for key, value in task_properties(task_spec).items():
        if key in EXPRESSION_PROPERTIES and value:
            yield f"property {key}", value, False


MAX_EXPRESSION_CHARS = 10_000  # a condition or property; compiling deeper code exhausts Python's stack
MAX_SCRIPT_CHARS = 100_000


def _compiles(check: Callable[[str], object], source: str, limit: int) -> None:
    """``check(source)``, refusing code longer than ``limit`` characters or too deeply
    nested to compile (RecursionError) with a SandboxError."""
    if len(source) > limit:
        raise SandboxError(f"it is {len(source):,} characters long; at most {limit:,} are allowed")
    try:
        check(source)
    except (RecursionError, MemoryError):
        raise SandboxError("it is nested too deeply to compile; split it into smaller steps") from None


def _expression(source: str) -> None:
    _compiles(check_expression, source, MAX_EXPRESSION_CHARS)


def _check_source(what: str, source: str, is_script: bool) -> tuple[str, int] | None:
    """(message, line within the source or 0) of what is wrong with one piece of code."""
    if JUEL.search(source):
        return f"{what}: " + JUEL_MESSAGE.format(expr=source.strip()[:60]), 0
    try:
        if is_script:
            _compiles(check_script, source, MAX_SCRIPT_CHARS)
        else:
            _expression(source)
    except SandboxError as exc:
        return f"{what} refused by the sandbox: {exc}", getattr(exc, "script_line", 0)
    except SyntaxError as exc:
        return f"{what} is not valid Python: {exc.msg}", 0
    if not is_script and "Timer" in what and ISO_TOKEN.match(source.strip()):
        return (
            f"{what} '{source}' is evaluated as a Python expression; "
            f"write the ISO value as a quoted string: \"'{source.strip()}'\""
        ), 0
    return None


def _check_dmn(engine: DMNEngine) -> Iterator[tuple[str, str]]:
    table = engine.decision_table
    dmn_engine = engine
    script_engine = SandboxedScriptEngine()
    for inp in table.inputs:
        if inp.expression:
            try:
                _expression(inp.expression)
            except (SandboxError, SyntaxError, RecursionError) as exc:
                yield inp.id, f"input expression '{inp.expression}' refused: {exc}"
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if not lhs or lhs.strip() in ("-", ""):
                    continue
                try:
                    if "?" not in lhs:
                        if len(lhs) > MAX_EXPRESSION_CHARS:
                            raise SandboxError(f"longer than {MAX_EXPRESSION_CHARS:,} characters")
                        dmn_engine.needs_eq(script_engine, lhs)
                    else:
                        _expression(lhs.replace("?", "dmninputexpr"))
                except (SandboxError, SyntaxError, RecursionError) as exc:
                    yield entry.id, f"rule {rule.row_number} input '{lhs}' refused: {exc}"
        for entry in rule.outputEntries:
            if entry.text:
                try:
                    _expression(entry.text)
                except (SandboxError, SyntaxError, RecursionError) as exc:
                    yield entry.id, f"rule {rule.row_number} output '{entry.text}' refused: {exc}"


def _locate(
    bundle: ParsedBundle, default_file: str, bpmn_id: str | None, what: str, source: str, source_line: int = 0
) -> tuple[str | None, int | None, str | None]:
    """(file, line, element id) of the code: the flow of a condition, the script element of a task
    (the line ``source_line`` of the script when given)."""
    file, line = element_line(bundle.trees, bpmn_id, default_file)
    tree = bundle.trees.get(file) if file is not None else None
    if tree is None or not bpmn_id:
        return file, line, bpmn_id
    if what.startswith("condition to "):
        target = what[len("condition to ") :]
        flows = tree.xpath("//*[local-name()='sequenceFlow'][@sourceRef=$s][@targetRef=$t]", s=bpmn_id, t=target)
        if flows:
            expr = flows[0].xpath("*[local-name()='conditionExpression']")
            return file, (expr[0] if expr else flows[0]).sourceline, flows[0].get("id")
    else:
        for element in tree.xpath("//*[@id=$id]//*", id=bpmn_id):
            if isinstance(element.tag, str) and (element.text or "").strip() == source.strip():
                text = element.text or ""
                offset = text[: len(text) - len(text.lstrip())].count("\n") + max(0, source_line - 1)
                return file, element.sourceline + offset, bpmn_id
            if element.get("value", "").strip() == source.strip():
                return file, element.sourceline, bpmn_id
    return file, line, bpmn_id


def check_specs(bundle: ParsedBundle, spec: Any, subprocess_specs: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen_dmn: set[int] = set()
    for process_spec in [spec, *[s for s in subprocess_specs.values() if s is not None]]:
        default_file = getattr(process_spec, "file", None) or bundle.process_files.get(process_spec.name, "")
        for task_spec in process_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)

            def add(message: str, element_id: str | None = bpmn_id, default_file: str = default_file) -> None:
                file, line = element_line(bundle.trees, element_id, default_file)
                problems.append(Problem(file or default_file, message, line, element_id))

            for what, source, is_script in expressions_of(task_spec):
                error = _check_source(what, source, is_script)
                if error:
                    message, source_line = error
                    file, line, element_id = _locate(bundle, default_file, bpmn_id, what, source, source_line)
                    problems.append(Problem(file or default_file, message, line, element_id))
            props = task_properties(task_spec)
            for key in (forms_mod.FORM_KEY, forms_mod.UI_KEY):
                name = props.get(key)
                if not name:
                    continue
                if name not in bundle.forms:
                    add(f"form file '{name}' ({key}) does not exist in forms/")
                elif key == forms_mod.FORM_KEY:
                    reason = forms_mod.check_schema(bundle.forms[name])
                    if reason:
                        problems.append(Problem(name, f"not a valid JSON Schema: {reason}"))
            dmn_engine = getattr(task_spec, "dmnEngine", None)
            if dmn_engine is not None and id(dmn_engine) not in seen_dmn:
                seen_dmn.add(id(dmn_engine))
                for element_id, message in _check_dmn(dmn_engine):
                    file, line = element_line(bundle.trees, element_id)
                    problems.append(Problem(file or default_file, message, line, element_id))
    return problems
