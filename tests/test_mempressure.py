"""Memory pressure: every raw allocation pymemtrack makes can fail, and then
the call raises MemoryError, keeps nothing half-built, leaks nothing, and the
next call works.

The deterministic part uses the fault injector of pymemtrack/_core/rawmem.c
(``_core._fail_after(n)``: the n-th raw allocation from now fails, once) over
every public function (found at run time, publicapi.py). The other part runs
a real address-space limit (RLIMIT_AS) in a subprocess.
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import textwrap

import pytest

import publicapi
from pymemtrack import _core

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "pymemtrack", "_core")

API = publicapi.public_api()
COVERED = sorted(q for q, a in API.items() if not a.skip_reason and not publicapi.uncovered(a))
C_TYPES = [a.func for a in API.values() if isinstance(a.func, type) and a.is_c or
           getattr(a.func, "__module__", None) == "pymemtrack._core" and isinstance(a.func, type)]

MAX_POINTS = int(os.environ.get("PYMEMTRACK_FAULT_POINTS", "40"))

UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")

# Calls that replace raw memory they keep between calls (the heap reference
# point): a good call may leave a different number of blocks than the one
# before it (pages of address space, under ASan, which reuses no address).
KEEPS = {"pymemtrack.set_reference"}


def _points(total: int, limit: int = MAX_POINTS):
    """Which allocations to fail: all of them, or the first ones, the last
    ones and an even spread between when there are more than limit."""
    if total <= limit:
        return list(range(1, total + 1))
    head, tail = limit * 3 // 8, limit // 8
    middle = limit - head - tail
    picks = set(range(1, head + 1)) | set(range(total - tail + 1, total + 1))
    step = (total - head - tail) / (middle + 1)
    picks |= {head + int(step * (i + 1)) for i in range(middle)}
    return sorted(picks)


def _type_refcounts():
    return [sys.getrefcount(t) for t in C_TYPES]


def sweep(call, points=None, limit=MAX_POINTS, collect=True, keeps=False):
    """Fails each chosen raw allocation of call() in turn. Returns
    (allocations per call, failures injected). Asserts the contract: a
    failed call leaves the blocks it found, and so does a call that did not
    fail, unless keeps (it replaces memory it holds: that call is the new
    baseline)."""
    call()                                   # warm caches and lazy imports
    gc.collect()
    _core._fail_after(None)
    call()
    total = _core._fail_after(None)
    if collect:
        gc.collect()                         # what that call left in cycles goes first
    blocks, refs, enabled = _core._raw_blocks(), _type_refcounts(), gc.isenabled()
    injected = 0
    for n in (points or _points(total, limit)):
        _core._fail_after(n)
        try:
            call()
            raised = False
        except MemoryError:
            raised = True
        finally:
            made = _core._fail_after(None)
        fired = made >= n
        injected += fired
        assert raised == fired, (
            f"raw allocation {n} of {made} failed, yet no MemoryError came out" if fired else
            f"MemoryError although only {made} allocations were made (failure set at {n})")
        if collect:
            gc.collect()
        assert gc.isenabled() == enabled, f"allocation {n} failed: the collector was left off"
        if fired or not keeps:               # (a good call of keeps: re-baselined below)
            assert _core._raw_blocks() == blocks, (
                f"allocation {n} of {made} failed: {_core._raw_blocks() - blocks} raw blocks leaked")
        assert _type_refcounts() == refs, (
            f"allocation {n} of {made} failed: a half-built object of a C type is alive "
            f"(type refcounts {refs} -> {_type_refcounts()})")
        call()                               # the next call works
        if collect:
            gc.collect()
        # The baseline for the next failure: a call that keeps its result
        # (KEEPS) may now hold a different number of blocks.
        blocks = _core._raw_blocks()
    return total, injected


def test_no_c_file_allocates_around_the_injector():
    """The rule of rawmem.h: raw memory only through pmt_raw_*."""
    pattern = re.compile(r"\bPyMem_Raw(Malloc|Calloc|Realloc|Free)\s*\(")
    offenders = []
    for name in sorted(os.listdir(CORE)):
        if not name.endswith((".c", ".h")) or name.startswith("rawmem."):
            continue
        with open(os.path.join(CORE, name), encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if pattern.search(line):
                    offenders.append(f"{name}:{lineno}: {line.strip()}")
    assert not offenders, ("call pmt_raw_malloc/calloc/realloc/free (rawmem.h) instead:\n"
                           + "\n".join(offenders))


@pytest.mark.parametrize("qualname", COVERED)
def test_each_raw_allocation_failure_is_a_clean_memory_error(qualname):
    total, injected = sweep(publicapi.safe_call(API[qualname]), keeps=qualname in KEEPS)
    assert injected <= total


def test_the_sweep_covers_the_walks():
    """The C walkers do allocate (so the sweep above really injects there)."""
    for name in ("typestats", "Snapshot", "IdMap", "by_type", "at_addrs"):
        api = publicapi.find(name)
        total, injected = sweep(publicapi.safe_call(api), points=[1, 2])
        assert total > 0 and injected == 2, (name, total, injected)


def test_table_growth_failures_in_a_heap_of_many_types():
    """Every raw allocation of the type tables failed in turn, in a subprocess
    with 300 extra classes: the entries, the table, its first buckets and
    each doubling of the buckets (uthash's expansion) as the table grows."""
    script = textwrap.dedent("""
        import gc, sys
        sys.path.insert(0, sys.argv[1])
        import test_mempressure as t
        from pymemtrack import _core
        classes = [type(f"Many{i}", (), {}) for i in range(300)]
        objs = [c() for c in classes]
        ntypes = len({type(o) for o in gc.get_objects()})
        for name, call in [("typestats", lambda: _core.typestats()),
                           ("Snapshot", lambda: _core.Snapshot()),
                           ("IdMap", lambda: _core.IdMap()),
                           ("count", lambda: _core.count("Many5"))]:
            total, injected = t.sweep(call, limit=10 ** 9, collect=False)
            assert injected == total > 300, (name, total, injected)
            print(name, total, "allocations, all failed in turn, for", ntypes, "types")
    """)
    proc = subprocess.run([sys.executable, "-c", script, os.path.dirname(__file__)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total, ntypes = map(int, re.search(r"typestats (\d+) allocations.* (\d+) types",
                                        proc.stdout).groups())
    # One entry per type, the table, its first buckets, and at least one
    # doubling of the buckets: the growth path was among the failures.
    assert total >= ntypes + 3, proc.stdout


def test_the_sweep_catches_a_swallowed_failure_and_a_leak():
    """The checker fails when a failure does not surface or leaks a block."""
    def swallows():
        try:
            _core.typestats()
        except MemoryError:
            pass

    with pytest.raises(AssertionError, match="no MemoryError came out"):
        sweep(swallows, points=[1])

    kept = []

    def keeps_a_snapshot():
        if len(kept) < 3:
            kept.append(_core.Snapshot())   # raw blocks that outlive the call
        _core.typestats()

    with pytest.raises(AssertionError, match="raw blocks leaked|half-built"):
        kept.clear()
        sweep(keeps_a_snapshot, points=[10 ** 6, 1])
    kept.clear()


RLIMIT_SCRIPT = textwrap.dedent("""
    import gc, resource, sys
    import pymemtrack
    from pymemtrack import _core

    class Ballast: pass
    classes = [type(f"Grown{i}", (), {}) for i in range(2000)]
    objs = [c() for c in classes] + [Ballast() for _ in range(200_000)]
    expected = pymemtrack.count("Ballast")

    with open("/proc/self/statm") as f:
        vm_bytes = int(f.read().split()[0]) * resource.getpagesize()
    # Room for Python to keep running, not for much more.
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes + 48 * 2**20, resource.RLIM_INFINITY))

    # Fill what is left, then give back a little: the walk's tables (tens of
    # KB for the types, 3.2 MB for IdMap's addresses) cannot fit.
    fill = []
    try:
        while True:
            fill.append(bytearray(2**20))
    except MemoryError:
        pass
    try:
        while True:
            fill.append(bytearray(4096))
    except MemoryError:
        pass
    del fill[-40:]
    outcomes = []
    for name, call in [("IdMap", _core.IdMap), ("get_new_ids", lambda: pymemtrack.get_new_ids(limit=0)),
                       ("Snapshot", _core.Snapshot), ("typestats", _core.typestats)]:
        try:
            call()
            outcomes.append(name + ":ok")
        except MemoryError:
            outcomes.append(name + ":MemoryError")
        assert gc.isenabled()
    blocks = _core._raw_blocks()
    del fill
    gc.collect()
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert pymemtrack.count("Ballast") == expected
    assert len(_core.IdMap()) > 200_000
    assert _core.Snapshot().counts()["Ballast"] == expected
    print(" ".join(outcomes), "blocks", blocks)
""")


@pytest.mark.skipif(UNDER_ASAN, reason="AddressSanitizer reserves terabytes of shadow address "
                                       "space, so no address-space limit can apply under it")
def test_a_real_address_space_limit():
    proc = subprocess.run([sys.executable, "-c", RLIMIT_SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "IdMap:MemoryError" in proc.stdout, proc.stdout
