"""Deploy checks of DMN decision tables (issue 15): every entry type-checks against its column,
and a table's hit policy holds.

Entries are Python expressions (SpiffWorkflow compares ``(input) == (entry)``). The checks refuse
only what is certain to be wrong at run time:

* an unquoted word (``紧急``: a Python name no process sets, all our data fields being ASCII) is
  refused with 'did you mean "紧急"?';
* a text in a number column (``"5"`` where ``integer`` is declared), a number or list in a text
  *input* column (it never equals the text input), a fraction in an integer column;
* ``UNIQUE`` tables: one synthetic input per rule (the rule's literal values; any value for its
  ``-`` cells) must match no other rule for certain — else an error naming both rules. Use hit
  policy ``FIRST`` for a table whose last rule is a catch-all ("其他情况").
* a hit policy the engine does not implement.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .parsing import ParsedBundle, Problem, is_dmn

if TYPE_CHECKING:
    from lxml import etree

SUPPORTED = {"UNIQUE", "FIRST", "COLLECT"}
_ANY = object()  # a "-" or empty cell: matches every value
_UNKNOWN = object()  # an expression we do not judge


@dataclass
class Column:
    label: str
    type_ref: str  # "string", "integer", "double", "boolean", … or ""


def _local(el: etree._Element) -> str:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _text(el: etree._Element) -> tuple[str, int]:
    texts = _children(el, "text")
    node = texts[0] if texts else el
    return (node.text or "").strip(), node.sourceline or el.sourceline or 0


def _literal(source: str) -> Any:
    """The value of a literal entry, _ANY for a blank cell, _UNKNOWN for anything else."""
    if source in ("", "-"):
        return _ANY
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _UNKNOWN


def _unquoted_word(source: str) -> bool:
    """A bare Python name with a non-ASCII letter: a word meant as text (``紧急``, ``五``)."""
    try:
        node = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return isinstance(node, ast.Name) and not node.id.isascii()


def _type_problem(value: Any, source: str, column: Column, is_input: bool) -> str | None:
    """Chinese message (English after it) when a literal cannot be of the column's type."""
    t = column.type_ref.lower()
    if _unquoted_word(source):
        return (
            f'“{source}”没有加引号，会被当作变量名而在运行时出错；是否应为 "{source}"？ / '
            f'{source} is not quoted and would be read as a variable name; did you mean "{source}"?'
        )
    if value is _UNKNOWN or value is _ANY:
        return None
    if t in ("integer", "long", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            shown = f"文本 {source}" if isinstance(value, str) else source
            return f"整数列只能填整数，{shown} 不是整数 / an integer column holds whole numbers; {source} is not one"
    elif t in ("double", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"数值列只能填数字，{source} 不是数字 / a number column holds numbers; {source} is not one"
    elif t == "boolean":
        if not isinstance(value, bool):
            return f"是否列只能填 True 或 False，{source} 不是 / a boolean column holds True or False; not {source}"
    elif t == "string" and is_input and not isinstance(value, str):
        return (
            f'文本列的条目要加引号：{source} 永远不会等于文本输入，是否应为 "{source}"？ / a string column\'s '
            f'entry is quoted text; {source} never equals a text input: did you mean "{source}"?'
        )
    return None


def _columns(table: etree._Element, kind: str) -> list[Column]:
    cols = []
    for el in _children(table, kind):
        type_ref = el.get("typeRef") or ""
        if kind == "input":
            expr = _children(el, "inputExpression")
            type_ref = (expr[0].get("typeRef") if expr else "") or type_ref
        cols.append(Column(el.get("label") or el.get("name") or el.get("id") or "", type_ref))
    return cols


def _rule_name(index: int, rule: etree._Element) -> str:
    return f"第 {index} 条规则（{rule.get('id')}）"


def check_table(file: str, decision: etree._Element, table: etree._Element) -> Iterator[Problem]:
    did = decision.get("id")
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in SUPPORTED:
        yield Problem(
            file,
            f"决策表 {did} 的命中策略 {policy} 不受支持（可用 UNIQUE、FIRST、COLLECT） / hit policy "
            f"{policy} is not supported (use UNIQUE, FIRST or COLLECT)",
            table.sourceline,
            did,
        )
    aggregation = table.get("aggregation")
    if aggregation:  # SpiffWorkflow ignores it: COLLECT + SUM would hand on a list, not a sum
        yield Problem(
            file,
            f"决策表 {did} 的汇总方式 {aggregation} 不受支持（COLLECT 的结果是所有命中规则输出的列表，"
            f"求和等请在后续脚本中计算） / aggregation {aggregation} is not supported (COLLECT gives the list "
            "of the matching rules' outputs; sum them in a script after the rule task)",
            table.sourceline,
            did,
        )
    inputs, outputs = _columns(table, "input"), _columns(table, "output")
    rows: list[tuple[int, Any, list[Any]]] = []
    flagged: set[str | None] = set()  # entries already refused: not tried again
    for index, rule in enumerate(_children(table, "rule"), start=1):
        values = []
        for kind, columns, is_input in (("inputEntry", inputs, True), ("outputEntry", outputs, False)):
            for col, entry in zip(columns, _children(rule, kind)):
                source, line = _text(entry)
                value = _literal(source)
                if is_input:
                    values.append(value)
                message = _type_problem(value, source, col, is_input)
                if message:
                    flagged.add(entry.get("id"))
                    where = "输入" if is_input else "输出"
                    yield Problem(
                        file,
                        f"决策表 {did} {_rule_name(index, rule)}的{where}“{col.label}”：{message}",
                        line,
                        entry.get("id") or rule.get("id"),
                    )
        rows.append((index, rule, values))
    if policy == "UNIQUE":
        yield from _overlaps(file, did, rows)
    yield from _trial_runs(file, did, table, inputs, rows, flagged)


MAX_TRIALS = 20_000  # entry evaluations per table
_PLACEHOLDER = {"string": "", "integer": 0, "long": 0, "int": 0, "double": 0.0, "number": 0.0, "boolean": False}


def _input_names(table: etree._Element) -> list[str | None]:
    names = []
    for el in _children(table, "input"):
        expr = _children(el, "inputExpression")
        text = _text(expr[0])[0] if expr else ""
        names.append(text if text.isidentifier() else None)
    return names


def _trial_runs(
    file: str,
    did: str | None,
    table: etree._Element,
    inputs: list[Column],
    rows: list[tuple[int, Any, list[Any]]],
    failed: set[str | None],
) -> Iterator[Problem]:
    """Evaluate the table as the engine does on one synthetic input per rule (its literal values,
    a value of the column's type for its blank cells): an entry that raises on a value of its
    column's type would raise at run time too."""
    from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

    from .sandbox import SandboxedScriptEngine

    names = _input_names(table)
    if not all(names) or not all(c.type_ref.lower() in _PLACEHOLDER for c in inputs):
        return
    script_engine = SandboxedScriptEngine()
    environment = script_engine.environment
    rules = _children(table, "rule")
    budget = MAX_TRIALS
    for index, _rule, values in rows:
        if any(v is _UNKNOWN for v in values):
            continue
        data = {
            name: (_PLACEHOLDER[col.type_ref.lower()] if v is _ANY else v)
            for name, col, v in zip(names, inputs, values)
        }
        for other in rules:
            for name, entry in zip(names, _children(other, "inputEntry")):
                source, line = _text(entry)
                if source in ("", "-") or "?" in source or entry.get("id") in failed or len(source) > 1000:
                    continue
                budget -= 1
                if budget < 0:  # a huge table: the trial stops here (the other checks still ran)
                    return
                try:
                    expr = (
                        f"({name}) == ({source})"
                        if DMNEngine.needs_eq(None, script_engine, source)
                        else f"{name} {source}"
                    )
                    environment.evaluate(expr, dict(data))
                except SyntaxError:
                    continue  # reported by the expression checks
                except Exception as exc:  # noqa: BLE001 - whatever the entry raises, it raises at run time
                    failed.add(entry.get("id"))
                    yield Problem(
                        file,
                        f"决策表 {did} 按第 {index} 条规则的输入试算时，条目 {source} 出错："
                        f"{exc.__class__.__name__}: {exc} / evaluating the table on rule {index}'s "
                        f"input, entry {source} fails",
                        line,
                        entry.get("id") or other.get("id"),
                    )


def _certainly_matches(entry: Any, value: Any) -> bool:
    if entry is _ANY:
        return True
    if entry is _UNKNOWN or value is _UNKNOWN:
        return False
    return value is not _ANY and type(entry) is type(value) and entry == value


def _overlaps(file: str, did: str | None, rows: list) -> Iterator[Problem]:
    """One synthetic input per rule: its literal values, "anything" for its blank cells. Another
    rule matching that input for certain breaks UNIQUE. The first such pair is reported (with a
    count of the others)."""
    pairs: list[tuple[int, int]] = []
    by_index = {index: rule for index, rule, _values in rows}
    for index, _rule, values in rows:
        if any(v is _UNKNOWN for v in values):
            continue
        for other_index, _other, other_values in rows:
            pair = (min(index, other_index), max(index, other_index))
            if other_index == index or pair in pairs:
                continue
            # a blank cell of this rule stands for any value: the other rule must be blank there too,
            # or a literal (then the synthetic input takes that literal)
            if all(_certainly_matches(o, v) or (v is _ANY and o is not _UNKNOWN) for o, v in zip(other_values, values)):
                pairs.append(pair)
    if not pairs:
        return
    first, second = sorted(pairs)[0]
    more = f"（另有 {len(pairs) - 1} 对规则重叠）" if len(pairs) > 1 else ""
    yield Problem(
        file,
        f"决策表 {did} 的命中策略是 UNIQUE（唯一），但{_rule_name(first, by_index[first])}与"
        f"{_rule_name(second, by_index[second])}可同时命中{more}；请修改规则，或把命中策略改为 FIRST（按顺序取"
        f"第一条） / hit policy UNIQUE, but rules {first} and {second} both match the same input"
        f"{f' ({len(pairs) - 1} more overlapping pairs)' if len(pairs) > 1 else ''}: change them or use FIRST",
        by_index[second].sourceline,
        by_index[second].get("id"),
    )


def check_bundle(bundle: ParsedBundle) -> list[Problem]:
    problems: list[Problem] = []
    for name, tree in sorted(bundle.trees.items()):
        if not is_dmn(name):
            continue
        for decision in tree.getroot().iter("{*}decision"):
            for table in _children(decision, "decisionTable"):
                problems.extend(check_table(name, decision, table))
    return problems
