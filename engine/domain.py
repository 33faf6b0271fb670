"""The 直通车 domain's subscribers to the engine's steps (engine/step.py ``StepSaved``).

The engine runs any BPMN; what a saved step means for the Secretary–Mayor Direct Line is
decided here, in the same transaction as the step:

- statistics: ``case_record``/``case_unit`` and the rollups follow the case (engine/stats);
- bulletins: a 专报 issue's row follows its process (engine/bulletins.py);
- notifications: the outbox rows for the tasks the step offered (engine/notify.py).

``Engine()`` subscribes these by default; ``Engine(listeners=())`` is a bare BPMN engine.
"""

from __future__ import annotations

from . import bulletins
from .stats.projection import on_step_saved as project_statistics
from .step import StepListener, notify_created_tasks

DOMAIN_LISTENERS: tuple[StepListener, ...] = (project_statistics, bulletins.on_step_saved, notify_created_tasks)

__all__ = ["DOMAIN_LISTENERS"]
