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
