"""The extension itself must not leak: CPython's -R rule over every C entry point.

Each entry point runs warm-up rounds, then measured rounds of CALLS calls.
Memory is measured with tracemalloc, which sees PyMem_Raw* (our tables) as
well as object memory. An entry point leaks if the traced bytes grew in
*every* measured round by at least 8 bytes per call (the smallest block a
per-call leak can lose), or the number of GC objects grew in every round.
Freelists and caches fill during warm-up and do not grow every round.
"""

import gc
import io
import os
import sys
import tracemalloc

import pytest

import pymemtrack
from pymemtrack import _core
from pymemtrack.leakcheck import clear_caches


class Leakcheck:
    pass


HOLD = [Leakcheck() for _ in range(10)]
ADDRS = {id(x) for x in HOLD}


class SizedInPython:
    def __sizeof__(self):       # deferred past the walk: held, sized, released
        return 100


class SizedBroken:
    def __sizeof__(self):
        raise ValueError


# Only objects whose __sizeof__ works live for the whole run: a broken one
# would make every later walk warn, and sys.getsizeof raise, in other tests.
HOLD_SIZED = [SizedInPython() for _ in range(5)]


def _idmap_roundtrip():
    a = _core.IdMap()
    b = _core.IdMap(shortnames=False)
    b.diff(a)
    b.diff(None)


def _snapshot_roundtrip():
    a = _core.Snapshot()
    b = _core.Snapshot()
    b._diff(a)
    a._rows()


def _sized_roundtrip():
    import warnings
    broken = [SizedBroken()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = _core.Snapshot(sizes=True, deep=True)
        b = _core.Snapshot(sizes=True)
    del broken
    a._rows()
    b._diff(_core.Snapshot._from_rows([(None, "x", 1, 2), ("m", "y", 3, 4)], sizes=False))


def _type_sizes_roundtrip():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _core.type_sizes()
        _core.type_sizes(deep=True, owners=True, ignore=(HOLD,), skip_stack=True)
        ref = _core.HeapReference(deep=False)
        _core.type_sizes(reference=ref, owners=True)
    _core.Partition._from_rows([(None, "a", 1, 2), (None, "b", 3, 4)], keyed=False)._rows()


TRACKER = []


def _python_summaries():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not TRACKER:
            TRACKER.append(pymemtrack.SummaryTracker())
        TRACKER[0].diff()
        pymemtrack.summarize(collect=False)
        pymemtrack.set_reference(deep=False, collect=False)
        pymemtrack.heap(deep=False).more
        pymemtrack.clear_reference()
        str(pymemtrack.heap())
class _CycleNode:
    pass


def _garbage_cycles_roundtrip():
    a = _CycleNode()
    a.me = a
    a.blob = bytearray(64)
    del a
    _core.garbage_cycles(holder=HOLD)
    _core._cycles_fail_after(3)
    try:
        _core.garbage_cycles()
    except MemoryError:
        pass
    finally:
        _core._cycles_fail_after(0)


def _error_paths():
    for call in (lambda: _core.count(1), lambda: _core.typestats(filter=1),
                 lambda: _core.typestats(objects=3), lambda: _core.at(-1),
                 lambda: _core.at_addrs(1), lambda: _core.by_type("x", 5),
                 lambda: _core.typestats(nope=1), lambda: _core.Snapshot(x=1),
                 lambda: _core.type_sizes(ignore=[1]), lambda: _core.type_sizes(reference=1),
                 lambda: _core.type_sizes(sizes=False, owners=True),
                 lambda: _core.HeapReference(1), lambda: _core.HeapReference(ignore=3),
                 lambda: _core.Partition._from_rows(5), lambda: _core.Partition(),
                 lambda: _core.Snapshot._from_rows([(None, "x", "1", 2)]),
                 lambda: _core.Snapshot._from_rows([(None, "x", 1)]),
                 lambda: _core.getsizeof(SizedBroken())):
        try:
            call()
        except (TypeError, ValueError):
            pass

    def bad(o):
        raise RuntimeError

    try:
        _core.typestats(filter=bad)
    except RuntimeError:
        pass


LINKED = [Leakcheck() for _ in range(3)]
LINKED[0].next = LINKED[1]
LINKED[1].next = LINKED[2]


def _refs_roundtrip():
    _core.find_chain(LINKED[2], None, 5, None, True, [id(sys.modules[__name__])])
    _core.find_chain(LINKED[0], lambda o: o is LINKED[2], 5, [0], False)
    _core.ref_graph([LINKED[2]], True, 3, None, lambda o: True, 1, [id(sys)])
    _core.ref_graph([LINKED[0]], False, 3)
    _core.retention_paths(LINKED[2], [id(sys.modules[__name__])], None, None, 2)
    _core.leaking_objects(HOLD)
    _core.refindex_info()
    _core.object_traceback(HOLD[0])
    _core.frame_locals(sys._getframe())


def _refs_errors():
    for call in (lambda: _core.find_chain(1, None, 1, None, True, 5),
                 lambda: _core.find_chain(1, 5, 1), lambda: _core.find_chain(1, None, -1),
                 lambda: _core.ref_graph((), True, 1), lambda: _core.ref_graph([1], True, "x"),
                 lambda: _core.retention_paths(1, ["x"]), lambda: _core.leaking_objects(5),
                 lambda: _core.frame_locals(1)):
        try:
            call()
        except (TypeError, ValueError):
            pass

    def bad(o):
        raise RuntimeError

    for call in (lambda: _core.find_chain(LINKED[2], bad, 3),
                 lambda: _core.ref_graph([LINKED[2]], True, 3, None, bad)):
        try:
            call()
        except RuntimeError:
            pass


ENTRY_POINTS = {
    "refs": _refs_roundtrip,
    "refs_errors": _refs_errors,
    "refs_api (Python layer)": lambda: (
        pymemtrack.why_alive(LINKED[2]),
        pymemtrack.show_backrefs(LINKED[2], output=io.StringIO()),
        pymemtrack.find_backref_chain(LINKED[2], pymemtrack.is_proper_module),
    ),
    "typestats": lambda: (_core.typestats(), _core.typestats(shortnames=False)),
    "typestats_objects": lambda: _core.typestats(HOLD, filter=lambda o: True),
    "count": lambda: (_core.count("Leakcheck"), _core.count("builtins.list", HOLD)),
    "by_type": lambda: (_core.by_type("Leakcheck"), _core.by_type("Leakcheck", HOLD)),
    "at": lambda: (_core.at(id(HOLD[0])), _core.at(0)),
    "at_addrs": lambda: _core.at_addrs(ADDRS),
    "garbage_cycles": _garbage_cycles_roundtrip,
    "cycles_api (Python layer)": lambda: (
        pymemtrack.garbage_cycles().format(),
        pymemtrack.explain_garbage().format(),
    ),
    "snapshot": _snapshot_roundtrip,
    "idmap": _idmap_roundtrip,
    "errors": _error_paths,
    "getsizeof": lambda: (_core.getsizeof(HOLD[0]), _core.getsizeof("x" * 300),
                          _core.getsizeof({}), _core.getsizeof(HOLD_SIZED[0])),
    "snapshot_sizes_deep": _sized_roundtrip,
    "type_sizes_heapref_partition": _type_sizes_roundtrip,
    "summaries_and_heap (Python layer)": _python_summaries,
    "memory_stats": _core.memory_stats,
    "malloc_trim": _core.malloc_trim,
    "objgraph_api (Python layer)": lambda: (
        pymemtrack.show_growth(file=io.StringIO()),
        pymemtrack.get_new_ids(file=io.StringIO(), _state={}),
        pymemtrack.show_most_common_types(file=io.StringIO()),
    ),
}


# Quick by default; `make selfleak` and CI's self-leak step run the strong
# rule (PYMEMTRACK_LEAK_WARMUPS=4, ROUNDS=8, NATIVE_CALLS=40).
CALLS = int(os.environ.get("PYMEMTRACK_LEAK_NATIVE_CALLS", "12"))
WARMUPS = int(os.environ.get("PYMEMTRACK_LEAK_WARMUPS", "3"))
ROUNDS = int(os.environ.get("PYMEMTRACK_LEAK_ROUNDS", "3"))


@pytest.fixture(scope="module", autouse=True)
def _tracing():
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    yield
    if not was:
        tracemalloc.stop()


def _settle():
    """Empties the caches CPython's own -R hunter empties between rounds
    (pymemtrack.leakcheck.clear_caches: regrtest's), then collects: what
    they keep is not ours."""
    clear_caches()
    gc.collect()


def _measure(fn, calls, out):
    """Appends (traced bytes delta, GC objects delta) of calls runs to out."""
    _settle()
    objects = len(gc.get_objects())
    traced = tracemalloc.get_traced_memory()[0]
    for _ in range(calls):
        fn()
    _settle()
    traced = tracemalloc.get_traced_memory()[0] - traced
    out.append((traced, len(gc.get_objects()) - objects))


def _rounds(fn, calls):
    scratch, deltas = [], []
    for _ in range(WARMUPS):
        _measure(fn, calls, scratch)
    for _ in range(ROUNDS):
        _measure(fn, calls, deltas)
    return deltas


def _leaks(fn, calls=CALLS):
    """(bytes_leak, objects_leak, deltas). A suspected byte leak is confirmed
    with 4x the calls per round, as psleak does: a per-call leak grows in
    proportion, freelist and cache noise does not."""
    deltas = _rounds(fn, calls)
    bytes_leak = all(d[0] >= 8 * calls for d in deltas)
    objects_leak = all(d[1] > 0 for d in deltas)
    if bytes_leak:
        scaled = _rounds(fn, 4 * calls)
        bytes_leak = all(d[0] >= 8 * 4 * calls for d in scaled)
        deltas = deltas + scaled
    return bytes_leak, objects_leak, deltas


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_point_does_not_leak(name):
    # Python layers: fewer calls (each walks the heap, summaries collect, each
    # refs call indexes the whole heap); the object rule still applies, and
    # their C calls have rows of their own.
    calls = (10 if name.startswith(("objgraph_api", "refs")) else
             5 if "(Python layer)" in name else CALLS)
    bytes_leak, objects_leak, deltas = _leaks(ENTRY_POINTS[name], calls)
    # The Python layer's own allocations churn freelists too much for a byte
    # rule at 10 calls; its C calls are measured byte-exact by the other rows.
    if "(Python layer)" not in name:
        assert not bytes_leak, f"{name}: traced memory grew every round: {deltas}"
    assert not objects_leak, f"{name}: GC objects grew every round: {deltas}"


def test_the_check_catches_a_small_native_leak():
    """A lost 16-byte raw block per call (what a forgotten free in C loses) is caught."""
    import ctypes

    sink = []
    malloc = ctypes.pythonapi.PyMem_RawMalloc
    malloc.restype = ctypes.c_void_p
    malloc.argtypes = [ctypes.c_size_t]
    bytes_leak, _, deltas = _leaks(lambda: sink.append(malloc(16)) or sink.pop())
    assert bytes_leak, deltas


def test_the_check_catches_a_leaked_object():
    sink = []
    _, objects_leak, deltas = _leaks(lambda: sink.append([None]))
    assert objects_leak, deltas
