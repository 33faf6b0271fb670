import pytest

from engine.runtime import Engine

from .driver import project_files, submit


class FreshEngine:
    """An engine as if every call ran in another process (another web worker, after a
    restart or a deploy): each attribute access builds a new ``Engine`` with an empty spec
    cache, on the same clock. Nothing may depend on what a parsed spec remembers."""

    def __init__(self, clock) -> None:
        self._clock = clock

    def __getattr__(self, name):
        return getattr(Engine(clock=self._clock), name)


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
