"""Pages for process designers and managers (groups ``designer`` / ``admin``): deployed
processes and versions, upload / validate / deploy, diagrams, version diff, instance
migration, and editors for BPMN (bpmn-js modeler), DMN (dmn-js) and forms (JSON Schema).

``views`` holds the URL rules and thin views; ``workspace`` the plain-Python work behind them.
"""

from __future__ import annotations

from . import editors, views  # noqa: F401  (registers the routes)
from .blueprint import bp

__all__ = ["bp"]
