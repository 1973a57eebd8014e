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


@pytest.fixture(autouse=True)
def _no_heap_reference():
    """Every test starts without a heap() reference point (set_reference is
    process-wide: one left by an earlier test would hide new objects whose
    address and type match an object recorded then, as documented)."""
    pymemtrack.clear_reference()
    yield
    pymemtrack.clear_reference()
