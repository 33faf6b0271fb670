"""Keep a looping workflow's task tree bounded.

SpiffWorkflow never removes finished tasks: every loop iteration (reopen → dispatch →
handle → return visit) hangs new tasks under the old ones, so the tree deepens without
bound, steps slow down linearly, and past ~160 loops ``is_descendant_of`` overflows the
stack and the iterator's ``max_depth`` makes ``is_completed()`` lie.

After every step the engine compacts the tree: history is kept in the audit table, so a
finished task that is not near any live task is not needed any more.

- A finished subtree hanging beside the only branch that still has live tasks is dropped
  (a completed parallel branch after its join, a finished non-interrupting path).
- A completed task with a single child, more than ``KEEP`` levels above every live task
  below it, is spliced out: its child takes its place under its parent — except the last
  completed human task above them (what 撤回 resets to, engine/recall.py).
- A waiting event (a cycle timer start, a repeating non-interrupting boundary event)
  keeps the paths it started earlier as children; the finished ones are dropped.

Live tasks, their ``KEEP`` nearest ancestors (joins and data inheritance read
``task.parent``) and the root are never touched, and neither are tasks whose subprocess
is still running.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState

KEEP = 3


def _live_below(task: Any, memo: dict[Any, bool]) -> bool:
    """True if ``task`` or a task below it is not finished (iterative, no recursion)."""
    stack = [(task, False)]
    while stack:
        node, expanded = stack.pop()
        if node.id in memo:
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if c.id not in memo)
        else:
            memo[node.id] = (not node.has_state(TaskState.FINISHED_MASK)) or any(memo[c.id] for c in node.children)
    return memo[task.id]


def _drop_subtree(workflow: Any, top_workflow: Any, task: Any) -> int:
    removed = 0
    stack = [task]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.id in top_workflow.subprocesses:
            top_workflow.delete_subprocess(node)
        workflow.tasks.pop(node.id, None)
        removed += 1
    return removed


def compact_tree(workflow: Any, top_workflow: Any = None) -> int:
    """Compact one (sub)workflow's task tree in place; return the number of tasks removed."""
    top_workflow = top_workflow or workflow
    root = workflow.task_tree
    if root is None:
        return 0
    memo: dict = {}
    if not _live_below(root, memo):
        return 0
    removed = 0
    # Walk down the single live spine while there is exactly one live branch.
    node = root
    spine = [root]
    while True:
        live_children = [c for c in node.children if memo.get(c.id)]
        if len(live_children) != 1:
            break
        for child in list(node.children):
            if not memo.get(child.id) and node.has_state(TaskState.COMPLETED):
                node._children.remove(child.id)
                removed += _drop_subtree(workflow, top_workflow, child)
        node = live_children[0]
        if not node.has_state(TaskState.COMPLETED):
            break
        spine.append(node)
    # Splice completed single-child tasks out of the spine, keeping root and the last KEEP,
    # and the last completed human task (its doer may take it back: engine/recall.py).
    last_manual = next((t for t in reversed(spine) if getattr(t.task_spec, "manual", False)), None)
    for task in spine[1:-KEEP] if len(spine) > KEEP + 1 else []:
        if len(task.children) != 1 or not task.has_state(TaskState.COMPLETED) or task is last_manual:
            continue
        if task.id in top_workflow.subprocesses and not top_workflow.subprocesses[task.id].completed:
            continue
        parent, child = task.parent, task.children[0]
        index = parent._children.index(task.id)
        parent._children[index] = child.id
        child._parent = parent.id
        if task.id in top_workflow.subprocesses:
            top_workflow.delete_subprocess(task)
        workflow.tasks.pop(task.id, None)
        if workflow.last_task is task:
            workflow.last_task = child
        removed += 1
    return removed


def _drop_finished_under_waiting(workflow: Any, top_workflow: Any) -> int:
    removed = 0
    memo: dict[Any, bool] = {}
    for task in list(workflow.tasks.values()):
        if task.state != TaskState.WAITING or not task._children:
            continue
        for child in list(task.children):
            if not _live_below(child, memo):
                task._children.remove(child.id)
                removed += _drop_subtree(workflow, top_workflow, child)
    return removed


def compact(workflow: Any) -> int:
    """Compact the top workflow and every running subprocess."""
    removed = _drop_finished_under_waiting(workflow, workflow)
    removed += compact_tree(workflow)
    for sub in list(workflow.subprocesses.values()):
        if not sub.completed and sub.task_tree is not None:
            removed += compact_tree(sub, workflow)
    return removed
