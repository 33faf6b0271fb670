import pytest

from engine.runtime import Engine
from tests.fresh import FreshEngine

from .driver import project_files, submit


@pytest.fixture(params=["one-engine", "fresh-engine-per-step"])
def engine(request, clock):
    """Every scenario runs twice: with one engine for the whole case, and with a new engine
    (new spec cache) for every step."""
    return Engine(clock=clock) if request.param == "one-engine" else FreshEngine(clock)


@pytest.fixture
def deployed(deploy):
    return deploy(project_files())


@pytest.fixture
def new_case(Session, engine, clock, deployed):
    """new_case(**submission overrides) → Case, submitted now."""

    def _new(**overrides):
        return submit(Session, engine, clock, **overrides)

    return _new


@pytest.fixture(autouse=True)
def no_expression_pays_a_process_round_trip(monkeypatch):
    """Every condition, property, timer and DMN cell of processes/ is provably bounded
    (docs/CONVENTIONS.md, "Sandbox"): it runs in-process; only scripts go to a script process."""
    from engine.sandbox import SandboxedEnvironment

    isolated, original = [], SandboxedEnvironment._isolated

    def spy(self, kind, source, context, external_context):
        if kind == "eval":
            isolated.append(source)
        return original(self, kind, source, context, external_context)

    monkeypatch.setattr(SandboxedEnvironment, "_isolated", spy)
    yield
    assert isolated == [], f"expressions sent to a script process: {sorted(set(isolated))}"
