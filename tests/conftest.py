"""Shared test helpers. The suite refuses to run without the C core."""

import gc

import pytest

import pymemtrack  # noqa: F401 - an ImportError here must fail the run, not skip it


@pytest.fixture(autouse=True)
def _gc_enabled():
    """Every test starts with the collector enabled and leaves it so."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()
