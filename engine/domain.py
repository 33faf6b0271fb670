"""The 直通车 domain's subscribers to the engine's steps (engine/step.py ``StepSaved``).

The engine runs any BPMN; what a saved step means for the Secretary–Mayor Direct Line is
decided here, in the same transaction as the step:

- statistics: ``case_record``/``case_unit`` follow the case and are marked due for the worker's
  fold into the rollups (engine/stats);
- bulletins: a 专报 issue's row follows its process (engine/bulletins.py);
- notifications: the outbox rows for the tasks the step offered (engine/notify.py).

``Engine()`` subscribes these by default; ``Engine(listeners=())`` is a bare BPMN engine.

The worker runs the domain's passes after the timers (``DOMAIN_PASSES``, engine/worker.py): the
statistics fold (engine/stats/fold.py) brings the rollups up to the records the steps marked due.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from . import bulletins
from .stats.fold import fold_due
from .stats.projection import on_step_saved as project_statistics
from .step import StepListener, notify_created_tasks

DOMAIN_LISTENERS: tuple[StepListener, ...] = (project_statistics, bulletins.on_step_saved, notify_created_tasks)

WorkerPass = Callable[[sessionmaker], int]  # one pass of work in transactions of its own; returns how much it did


def fold_statistics(Session: sessionmaker) -> int:
    return fold_due(Session, max_batches=10)  # (more left: the worker's next pass follows at once)


DOMAIN_PASSES: tuple[WorkerPass, ...] = (fold_statistics,)

__all__ = ["DOMAIN_LISTENERS", "DOMAIN_PASSES", "WorkerPass", "fold_statistics"]
