"""The extension properties a process designer sets on a user task.

Set in the modeler as ``spiffworkflow:properties`` on the task:

- ``formJsonSchemaFilename`` / ``formUiSchemaFilename``: the form (files in ``forms/``);
- ``candidateGroups``: a sandboxed Python expression giving one group or a list of
  groups (``'wg:city'``, ``'unit:' + lead_unit``); without it, the task's lane;
- ``dueDate``: a sandboxed expression giving the task's deadline (ISO date-time);
- ``summary``: on any task or event, a sandboxed expression whose dict value is merged
  into the instance's summary when the task completes (the queryable face of a case:
  status, category, deadline … for lists and statistics without loading workflows);
- ``notify``: on any task or event, a sandboxed expression giving a notification request
  (``{'groups': [...], 'subject': ..., 'text': ..., 'kind': 'warning', 'level': 'yellow'}``
  or a list of them), queued when the task completes (engine/notify.py).
"""

from __future__ import annotations

from typing import Any

CANDIDATE_GROUPS = "candidateGroups"
DUE_DATE = "dueDate"
SUMMARY = "summary"
NOTIFY = "notify"  # on any task or event: expression → notification request(s), see engine/notify.py
EXPRESSION_PROPERTIES = frozenset({CANDIDATE_GROUPS, DUE_DATE, SUMMARY, NOTIFY})


def task_properties(task_spec: Any) -> dict[str, Any]:
    extensions = getattr(task_spec, "extensions", None) or {}
    props = extensions.get("properties") if isinstance(extensions, dict) else None
    return dict(props or {})
