import pytest

from .driver import project_files, submit


@pytest.fixture
def deployed(deploy):
    return deploy(project_files())


@pytest.fixture
def new_case(Session, engine, clock, deployed):
    """new_case(**submission overrides) → Case, submitted now."""

    def _new(**overrides):
        return submit(Session, engine, clock, **overrides)

    return _new
