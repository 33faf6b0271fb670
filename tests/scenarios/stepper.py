"""One 直通车 engine in a process of its own, driven over stdin/stdout (one JSON line per step).

``python -m tests.scenarios.stepper`` reads the database from the environment (as the web app
and the worker do), keeps one ``Engine`` (with its spec cache) for as long as it lives, and
answers every command with one JSON line. Tests run two of them side by side, or a new one for
every step, to prove that a case goes on whichever process runs its next step.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys

from engine import cases
from engine.clock import FakeClock
from engine.db import make_engine, make_sessionmaker
from engine.runtime import Engine

from .driver import Case, fire_due, submission


def handle(Session, engine: Engine, clock: FakeClock, command: dict) -> dict:
    clock.set(_dt.datetime.fromisoformat(command["now"]))
    op = command["op"]
    if op == "submit":
        with Session.begin() as s:
            inst = cases.start_case(s, engine, submission(**command.get("data", {})), actor="enterprise")
            return {"case_no": inst.business_key}
    case = Case(Session, engine, clock, command["case_no"])
    if op == "complete":
        case.complete(command["name"], command["group"], command.get("data"), command.get("actor"))
    elif op == "message":
        case.message(command["name"], command.get("payload"))
    elif op == "fire_due":
        fire_due(Session, engine, clock)
    else:
        raise ValueError(f"unknown op {op}")
    return {}


def main() -> None:
    Session = make_sessionmaker(make_engine())
    clock = FakeClock("2026-03-02T01:00:00+00:00")
    engine = Engine(clock=clock)
    for line in sys.stdin:
        try:
            answer = {"ok": True, **handle(Session, engine, clock, json.loads(line))}
        except BaseException as exc:  # reported to the test, which fails with it
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
