"""Self-leak of every public callable, found at run time (CPython's -R rule).

Each callable (publicapi.py) runs in a loop: warm-up rounds, then measured
rounds of a few calls, three ways: with safe arguments, with a hostile
object in each argument in turn (error paths), and with its middle raw
allocation failing (MemoryError paths, via _core._fail_after). Per round:

* raw blocks pymemtrack holds (``_core._raw_blocks()``): exact, must not
  change at all once warm;
* ``sys.getallocatedblocks()``, and the number of GC objects of each type:
  a leak when *every* measured round grew by at least one per call (the -R
  rule: caches fill during warm-up, freelists wobble, a leak grows every
  time, by at least one block or object per call);
* ``sys.gettotalrefcount()`` on a debug build (``make selfleak-dbg``), same rule;
* a suspect is confirmed with ten times the calls per round (psleak's rule).

The older tests/test_selfleak.py measures the C entry points byte-exact with
tracemalloc; this one is generic and fast enough for every function.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import io
import os
import sys
import warnings

import pytest

import hostile
import publicapi
from pymemtrack import _core

API = publicapi.public_api()
COVERED = sorted(q for q, a in API.items() if not a.skip_reason and not publicapi.uncovered(a))

# Quick by default (CPython's own -R default is 3:3); `make selfleak` and CI's
# self-leak step run 4 warm-ups and 8 measured rounds.
WARMUPS = int(os.environ.get("PYMEMTRACK_LEAK_WARMUPS", "3"))
ROUNDS = int(os.environ.get("PYMEMTRACK_LEAK_ROUNDS", "3"))
CALLS = int(os.environ.get("PYMEMTRACK_LEAK_CALLS", "5"))
SCALE = 10
HAVE_REFCOUNT = hasattr(sys, "gettotalrefcount")


def _type_counts(first=None):
    """{type: number of GC objects}, by the C walk (a Python pass over
    gc.get_objects() costs seconds per test on a test run's heap). The C walk
    itself is checked against gc.get_objects() in test_objgraph_compat, and
    for leaks like every other entry point. With ``first`` (the reading taken
    before), that dict alive during this reading is not counted."""
    counts = _core.typestats(shortnames=False)
    if first is not None:
        counts["builtins.dict"] -= 1
    return counts


def _scalars():
    refs = sys.gettotalrefcount() if HAVE_REFCOUNT else 0
    return _core._raw_blocks(), sys.getallocatedblocks(), refs


def _settle():
    # As CPython's own -R hunter (regrtest's dash_R_cleanup): the type
    # attribute cache keeps a reference to each name it was asked for, so a
    # fresh name string per call fills it for thousands of calls.
    sys._clear_type_cache()
    gc.collect()


def _round_deltas(fn, calls):
    # The first reading (a dict) is alive at both scalar readings and not
    # counted in the second, so the measurement itself cancels out.
    _settle()
    types0 = _type_counts()
    _settle()                                    # what counting left behind
    raw0, blocks0, refs0 = _scalars()
    for _ in range(calls):
        fn()
    _settle()
    raw1, blocks1, refs1 = _scalars()
    types1 = _type_counts(first=types0)
    grown = {t: n - types0.get(t, 0) for t, n in types1.items() if n > types0.get(t, 0)}
    return {"raw": raw1 - raw0, "blocks": blocks1 - blocks0, "types": grown,
            "refs": refs1 - refs0}


def _suspects(deltas, calls):
    found = []
    if any(d["raw"] != 0 for d in deltas):
        found.append(f"raw blocks changed once warm: {[d['raw'] for d in deltas]}")
    # A per-call leak loses at least one block, reference or object per call:
    # growth smaller than that in a round is a cache or a freelist.
    if all(d["blocks"] >= calls for d in deltas):
        found.append(f"allocated blocks grew every round: {[d['blocks'] for d in deltas]}")
    if HAVE_REFCOUNT and all(d["refs"] >= calls for d in deltas):
        found.append(f"total refcount grew every round: {[d['refs'] for d in deltas]}")
    always = set.intersection(*({t for t, n in d["types"].items() if n >= calls}
                                for d in deltas))
    if always:
        found.append("GC objects grew every round: "
                     + ", ".join(f"{t} {[d['types'][t] for d in deltas]}" for t in sorted(always)))
    return found


def leaks(fn, calls=CALLS, warmups=WARMUPS, rounds=ROUNDS, scale=SCALE):
    """The leak findings for fn (empty: no leak), with the deltas.

    A suspect is confirmed with scale times the calls per round, as psleak
    does: a per-call leak grows in proportion, while freelists and caches
    that were still filling (tuple freelists hold thousands) do not."""
    for _ in range(warmups):
        _round_deltas(fn, calls)
    found = _suspects([_round_deltas(fn, calls) for _ in range(rounds)], calls)
    if found and scale > 1:
        found = _suspects([_round_deltas(fn, calls * scale) for _ in range(rounds)],
                          calls * scale)
    return found


def _quiet(call):
    def run():
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    return run


def _bad_argument_calls(api):
    """Calls with a hostile object in one argument at a time (expected to fail)."""
    fixed = publicapi.FIXED_KWARGS.get(api.name, {})
    params = [p for p in api.required + api.optional if p not in fixed and not p.startswith("_")]
    allowed = publicapi.ALLOWED + publicapi.extra_allowed(api.name)
    calls = []
    for bad in params or ["bogus_kw"]:
        def one(bad=bad):
            args = {p: publicapi._value(api, p) for p in api.required if p not in fixed}
            args[bad] = hostile.Hostile()
            args.update(fixed)
            positional = [args.pop(p) for p in api.required if p in args and p not in fixed]
            try:
                api.func(*positional, **args)
            except allowed:
                pass
        calls.append(one)
    return calls


@pytest.mark.parametrize("qualname", COVERED)
def test_no_leak_with_good_arguments(qualname):
    found = leaks(_quiet(publicapi.safe_call(API[qualname])))
    assert not found, f"{qualname}: " + "; ".join(found)


@pytest.mark.parametrize("qualname", COVERED)
def test_no_leak_on_error_paths(qualname):
    calls = _bad_argument_calls(API[qualname])

    def all_bad():
        for call in calls:
            call()

    found = leaks(_quiet(all_bad))
    assert not found, f"{qualname}: " + "; ".join(found)


@pytest.mark.parametrize("qualname", COVERED)
def test_no_leak_on_memory_error_paths(qualname):
    call = _quiet(publicapi.safe_call(API[qualname]))
    call()
    _core._fail_after(None)
    call()
    total = _core._fail_after(None)
    if total == 0:
        return                                   # no raw allocation: nothing to fail
    points = sorted({1, max(1, total // 2), total})

    def failing():
        for n in points:
            _core._fail_after(n)
            try:
                call()
            except MemoryError:
                pass
            finally:
                _core._fail_after(None)

    found = leaks(failing)
    assert not found, f"{qualname}: " + "; ".join(found)


def test_every_public_function_is_covered():
    """Every public callable is either leak-checked, fuzzed and stress-tested,
    or excluded with a reason (publicapi.NOT_CALLED)."""
    missing = {q: publicapi.uncovered(a) for q, a in API.items() if publicapi.uncovered(a)}
    assert not missing, "\n".join(f"{q}: {why}" for q, why in missing.items())


# --- the checks can fail --------------------------------------------------------------


class Leaked:
    pass


def test_the_check_catches_a_leaked_object():
    sink = []
    assert any("GC objects grew" in f for f in leaks(lambda: sink.append([Leaked()])))


def test_the_check_catches_a_leaked_allocation():
    sink = []
    malloc = ctypes.pythonapi.PyMem_Malloc
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    found = leaks(lambda: sink.append(malloc(32)))
    if sys.getallocatedblocks() == 0:
        pytest.skip("PYTHONMALLOC=malloc: sys.getallocatedblocks() counts nothing")
    assert any("allocated blocks grew" in f for f in found), found


def test_the_check_catches_raw_blocks_kept_by_pymemtrack():
    sink = []
    found = leaks(lambda: sink.append(_core.Snapshot()))
    assert any("raw blocks changed" in f for f in found), found


@pytest.mark.skipif(not HAVE_REFCOUNT, reason="sys.gettotalrefcount needs a debug CPython "
                                              "(make selfleak-dbg)")
def test_the_check_catches_a_leaked_reference():
    obj = object()
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    found = leaks(lambda: incref(obj))
    assert any("total refcount grew" in f for f in found), found
