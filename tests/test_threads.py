"""Threads: the walkers run while other threads allocate, free, mutate dicts
and lists, create and drop classes, collect, and run finalizers that release
the GIL; then the counts are exact, nothing crashed and nothing hung.

Each run is a subprocess (tests/stress_threads.py), so a crash or a deadlock
fails one test with every thread's traceback instead of killing the session.
PYMEMTRACK_STRESS_SCALE multiplies the iterations (default 1: 1000 for the
cheap walkers, fewer for those that collect or index the whole heap).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import stress_threads

SCRIPT = stress_threads.__file__
SCALE = float(os.environ.get("PYMEMTRACK_STRESS_SCALE", "1"))
ITERATIONS = max(10, int(1000 * SCALE))
HANG = 900          # seconds before faulthandler dumps every thread and exits


def _run(*args, timeout=HANG):
    proc = subprocess.run([sys.executable, SCRIPT, *args, "--timeout", str(timeout)],
                          capture_output=True, text=True, timeout=timeout + 60)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("walker", sorted(stress_threads.walkers()))
def test_walker_under_churning_threads(walker):
    rc, out = _run("--walkers", walker, "--iterations", str(ITERATIONS))
    assert rc == 0, out
    assert out.startswith("ok:"), out


def test_every_walker_together_with_the_monitor_thread():
    rc, out = _run("--walkers", "all", "--iterations", str(max(10, ITERATIONS // 8)),
                   "--monitor")
    assert rc == 0, out
    assert out.startswith("ok:"), out


def test_expected_functions_are_present():
    """The reverse index, cycles, sizes and monitor functions the stress test
    (and the fuzzer) look up by name. Fails on a branch that lacks them, so
    their thread tests are never silently absent; passes once merged."""
    missing = stress_threads.missing_expected()
    assert not missing, "not in this build, so not stress-tested: " + ", ".join(missing)


def test_the_stress_run_catches_wrong_counts():
    rc, out = _run("--walkers", "count", "--iterations", "20", "--sabotage", "counts")
    assert rc != 0 and "typestats() != gc.get_objects()" in out, out


def test_the_stress_run_catches_a_deadlock():
    rc, out = _run("--walkers", "typestats", "--iterations", "20", "--sabotage", "deadlock",
                   timeout=5)
    assert rc != 0 and "Timeout" in out and "walk_all" in out, out
