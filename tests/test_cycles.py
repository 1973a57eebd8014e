"""garbage_cycles() agrees with the collector, groups garbage into cycles, explains gc.garbage.

The central check: for many shapes of garbage, the set of objects
garbage_cycles() reports is the set the following gc.collect() finds
unreachable (compared by id under gc.DEBUG_SAVEALL, which keeps every object
it found, and with weak references without it), and live cycles are never
reported.
"""

import ctypes
import gc
import io
import os
import shutil
import sys
import threading
import types
import warnings
import weakref

import pytest

import pymemtrack
from pymemtrack import _core
from pymemtrack.cycles import Cycle, CycleReport


class Node:
    def __init__(self, parent=None):
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)


class Fin:
    """A class with a Python __del__ that counts its calls."""

    calls = 0

    def __del__(self):
        type(self).calls += 1


class Handler:
    def __init__(self):
        self.callback = self.on_event

    def on_event(self):
        pass


LIVE_ROOT = []   # cycles hung here are reachable from a module: never garbage


@pytest.fixture
def quiet_gc():
    """Collector disabled, gc.garbage empty and flags cleared; all restored after."""
    was, flags, saved = gc.isenabled(), gc.get_debug(), list(gc.garbage)
    gc.disable()
    gc.set_debug(0)
    del gc.garbage[:]
    gc.collect()
    yield
    del gc.garbage[:]
    gc.collect()
    gc.garbage[:] = saved
    gc.set_debug(flags)
    if was:
        gc.enable()


# ---- shapes: each makes garbage and returns the live objects it keeps ----------


def shape_self_loop():
    a = Node()
    a.me = a
    return []


def shape_long_ring():
    ring = [Node() for _ in range(5000)]
    for a, b in zip(ring, ring[1:] + ring[:1]):
        a.next = b
    return []


def shape_dict_cycle():
    d = {"payload": list(range(10)), "node": Node()}
    d["self"] = d
    return []


def shape_list_cycle():
    outer = [[], {"k": []}, Node()]
    outer[0].append(outer)
    outer[1]["k"].append(outer)
    return []


def shape_closure():
    def make():
        def f():
            return f
        return f
    make()
    return []


def shape_bound_method():
    Handler()
    return []


def shape_frame():
    def keep_frame():
        frame = sys._getframe()
        return frame is None
    keep_frame()
    return []


def shape_generator():
    def gen(owner):
        yield owner
        yield owner

    fresh = Node()
    fresh.gen = gen(fresh)
    started = Node()
    started.gen = gen(started)
    next(started.gen)
    return []


def shape_exception_traceback():
    def fail():
        try:
            raise ValueError("boom " + str(id(fail)))
        except ValueError as exc:
            saved = exc
        return saved is None
    fail()
    return []


def shape_class():
    cls = type("Temporary", (), {"method": lambda self: None})
    cls().method()
    return []


def shape_finalizers():
    a = Fin()
    a.peer = Fin()
    a.peer.peer = a
    return []


def shape_tails():
    """A ring keeping a tree alive that is no cycle itself."""
    a, b = Node(), Node()
    a.next, b.next = b, a
    a.tree = {"rows": [[i, str(i)] for i in range(50)], "meta": (object(), [])}
    return []


def shape_weakref_callback():
    seen = []
    a = Node()
    a.me = a
    LIVE_ROOT.append(weakref.ref(a, seen.append))
    return [seen]


def shape_live_cycles():
    live = Node()
    live.me = live
    LIVE_ROOT.append(live)
    local_ring = [Node(), Node()]
    local_ring[0].peer, local_ring[1].peer = local_ring[1], local_ring[0]
    dead = Node()
    dead.me = dead
    return [live, local_ring]


def shape_mixed():
    for shape in SHAPES[:-1]:
        shape()
    return []


SHAPES = [shape_self_loop, shape_long_ring, shape_dict_cycle, shape_list_cycle, shape_closure,
          shape_bound_method, shape_frame, shape_generator, shape_exception_traceback,
          shape_class, shape_finalizers, shape_tails, shape_weakref_callback,
          shape_live_cycles, shape_mixed]


def _reported(report):
    return [o for cycle in report for o in cycle.objects]


def _weakrefs(objs):
    refs = []
    for o in objs:
        try:
            refs.append(weakref.ref(o))
        except TypeError:
            pass
    return refs


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__[6:])
def test_reported_set_is_what_gc_collect_finds(shape, quiet_gc):
    live = shape()
    report = pymemtrack.garbage_cycles()
    objs = _reported(report)
    ids = {id(o) for o in objs}
    refs = _weakrefs(objs)
    # A C finalizer (a started generator's close()) can free objects during
    # the collection itself: those are freed without being saved or counted.
    releasing = any(f.kind == "tp_finalize" for c in report for f in c.finalizers)
    assert len(ids) == len(objs), "an object was accounted for twice"
    assert report, "the shape made garbage"
    assert not ids & {id(o) for o in live}
    del report, objs
    gc.set_debug(gc.DEBUG_SAVEALL)
    n = gc.collect()
    gc.set_debug(0)
    saved = {id(o) for o in gc.garbage}
    assert saved <= ids, "gc.collect() found garbage that was not reported"
    # Weak references to everything reported were cleared (saved or freed);
    # objects freed during the collection (see above) are not in gc.garbage.
    assert all(r() is None for r in refs)
    extra = ids - saved
    if not releasing:
        assert not extra
        assert n == len(ids)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__[6:])
def test_reported_objects_die_and_live_ones_stay(shape, quiet_gc):
    live = shape()
    live_refs = _weakrefs(live)
    report = pymemtrack.garbage_cycles()
    refs = _weakrefs(_reported(report))
    assert refs, "the shape made weakly referenceable garbage"
    del report
    gc.collect()
    assert [r for r in refs if r() is not None] == []
    assert all(r() is not None for r in live_refs)
    assert pymemtrack.garbage_cycles() == []
    del LIVE_ROOT[:]


def test_cycles_account_for_every_object_once_in_topological_order(quiet_gc):
    up1, up2 = Node(), Node()
    down1, down2 = Node(), Node()
    up1.peer, up2.peer = up2, up1
    down1.peer, down2.peer = down2, down1
    shared = ["reached from both loops"]
    up_only = ["only up reaches me"]
    down_only = ["only down reaches me"]
    up1.bag = [down1, shared, up_only]
    down1.bag = [shared, down_only]
    ids = {name: id(o) for name, o in [("up1", up1), ("down1", down1), ("shared", shared),
                                         ("up_only", up_only), ("down_only", down_only)]}
    del up1, up2, down1, down2, shared, up_only, down_only
    report = pymemtrack.garbage_cycles()
    assert len(report) == 2
    up, down = report
    up_ids = {id(o) for o in up.objects}
    down_ids = {id(o) for o in down.objects}
    assert ids["up1"] in {id(o) for o in up.members}
    assert ids["down1"] in {id(o) for o in down.members}
    assert {ids["shared"], ids["up_only"]} <= up_ids
    assert ids["down_only"] in down_ids and ids["down1"] not in up_ids
    assert not up_ids & down_ids
    for cycle in report:
        assert cycle.is_loop
        assert {id(o) for o in cycle.members} == {id(o) for o in cycle.objects[:cycle.n_members]}
        member_ids = {id(o) for o in cycle.members}
        for m in cycle.members:      # each member reaches another member
            assert any(id(r) in member_ids for r in gc.get_referents(m))


def test_loop_text_names_the_edges(quiet_gc):
    root = Node()
    Node(root)
    del root
    [cycle] = pymemtrack.garbage_cycles()
    assert cycle.loop_text() in ("Node.children[0] -> Node.parent -> Node",
                                 "Node.parent -> Node.children[0] -> Node")
    assert cycle.types["Node"] == 2
    loop = cycle.loop()
    assert loop[0] is loop[-1] and len(loop) >= 3


def test_loop_text_of_a_long_ring_is_shortened(quiet_gc):
    shape_long_ring()
    [cycle] = pymemtrack.garbage_cycles()
    text = cycle.loop_text()
    assert text.startswith("Node.next -> Node.next") and text.endswith("-> Node")
    assert "(4993 more)" in text
    assert sum(type(o) is Node for o in cycle.loop()) == 5001   # 3.10: their dicts too


def test_report_groups_alike_cycles_and_puts_the_largest_first(quiet_gc):
    for _ in range(30):
        Handler()
    big = [Node() for _ in range(200)]
    for a, b in zip(big, big[1:] + big[:1]):
        a.next = b
    del big, a, b
    report = pymemtrack.garbage_cycles()
    text = report.format()
    assert text.startswith("Garbage cycles: 31 cycles")
    first, second = text.split("\n\n")[1:3]
    assert first.startswith("[1] 1 cycle: 400 objects") or \
        first.startswith("[1] 1 cycle: 600 objects")      # 3.10: and the instances' dicts
    assert "Node.next -> Node.next" in first
    assert second.startswith("[2] 30 cycles like this:")
    assert "Handler.callback -> method.__self__ -> Handler" in second
    assert str(report) == text
    assert "objects: 1 Handler, 1 method" in second.replace("1 dict, ", "")


def test_report_limit(quiet_gc):
    for i in range(5):
        cls = type(f"Kind{i}", (), {})
        obj = cls()
        obj.me = obj
    del cls, obj
    text = pymemtrack.garbage_cycles().format(limit=2)
    assert "[2]" in text and "[3]" not in text
    assert "other kinds>" in text


# ---- finalizers ----------------------------------------------------------------


def test_finalizer_kinds(quiet_gc):
    shape_finalizers()
    shape_generator()
    report = pymemtrack.garbage_cycles()
    kinds = {(f.type_name, f.kind) for c in report for f in c.finalizers}
    assert ("Fin", "__del__") in kinds
    assert ("generator", "tp_finalize") in kinds
    assert all(not f.finalized for c in report for f in c.finalizers)
    fin_cycle = next(c for c in report if "Fin" in c.types)
    assert [f.in_loop for f in fin_cycle.finalizers] == [True, True]
    assert "finalizers: 2 x Fin.__del__ (Python __del__)" in report.format()
    plain = next(c for c in report if "generator" not in c.types and "Fin" not in c.types) \
        if len(report) > 3 else None
    if plain is not None:
        assert plain.finalizers == []
    assert not any(c.uncollectable for c in report)


def test_no_python_code_runs_during_the_analysis(quiet_gc):
    calls = []

    class Loud:
        def __del__(self):
            calls.append("__del__")

        def __eq__(self, other):
            calls.append("__eq__")
            return NotImplemented

        def __hash__(self):
            calls.append("__hash__")
            return 1

        def __sizeof__(self):
            return 100

    a = Loud()
    a.me = a
    a.d = {a: a}
    LIVE_ROOT.append(weakref.ref(a, lambda r: calls.append("callback")))
    calls.clear()
    del a
    events = []

    def profile(frame, event, arg):
        events.append((event, getattr(arg, "__name__", None)))

    sys.setprofile(profile)
    try:
        raw = _core.garbage_cycles()
    finally:
        sys.setprofile(None)
    assert calls == []
    assert [e for e in events if e[0] not in ("c_call", "c_return")] == []
    assert {name for _, name in events} <= {"garbage_cycles", "setprofile"}
    assert gc.isenabled() is False
    del raw
    del LIVE_ROOT[:]


def test_legacy_tp_del_is_uncollectable_and_explained(quiet_gc):
    testcapi = pytest.importorskip("_testcapi", reason="this CPython was built without _testcapi")
    if not hasattr(testcapi, "with_tp_del"):
        pytest.skip("this CPython's _testcapi has no with_tp_del (no way to make a tp_del type)")

    @testcapi.with_tp_del
    class Legacy:
        def __tp_del__(self):
            pass

    legacy = Legacy()
    partner = Node()
    legacy.partner, partner.legacy = partner, legacy
    kept = ["kept alive by the uncollectable cycle"]
    partner.kept = kept
    other = Node()
    other.me = other
    legacy_id, kept_ref, other_ref = id(legacy), weakref.ref(partner), weakref.ref(other)
    del legacy, partner, kept, other
    report = pymemtrack.garbage_cycles()
    cycle = next(c for c in report if "Legacy" in c.types)
    assert cycle.uncollectable
    assert [(f.type_name, f.kind) for f in cycle.finalizers] == [("Legacy", "tp_del")]
    assert "UNCOLLECTABLE" in report.format()
    assert not next(c for c in report if "Legacy" not in c.types).uncollectable
    del report, cycle
    gc.collect()
    assert [id(o) for o in gc.garbage] == [legacy_id]
    assert kept_ref() is not None and other_ref() is None
    explained = pymemtrack.explain_garbage()
    [cycle] = explained
    assert cycle.uncollectable and "Legacy" in cycle.types and "Node" in cycle.types
    assert any(type(o) is list for o in cycle.objects)
    assert explained.format().startswith("gc.garbage: 1 cycle")
    del explained, cycle
    gc.garbage[0].partner = None          # break the cycle so the test leaves nothing behind
    del gc.garbage[:]
    gc.collect()
    assert kept_ref() is None


def test_resurrected_objects_show_as_finalized(quiet_gc):
    resurrected = []

    class Phoenix:
        def __del__(self):
            resurrected.append(self)

    p = Phoenix()
    p.me = p
    del p
    gc.collect()
    assert len(resurrected) == 1
    del resurrected[:]                    # garbage again, its __del__ already ran
    report = pymemtrack.garbage_cycles()
    [f] = [f for c in report for f in c.finalizers]
    assert f.kind == "__del__" and f.finalized
    assert "already ran" in report.format()
    ref = weakref.ref(f.obj)
    del report, f
    gc.collect()
    assert ref() is None and resurrected == []


# ---- gc.garbage ------------------------------------------------------------------


def test_explain_garbage_under_saveall(quiet_gc):
    shape_bound_method()
    shape_dict_cycle()
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    gc.set_debug(0)
    in_garbage = {id(o) for o in gc.garbage}
    held_elsewhere = gc.garbage[0]
    report = pymemtrack.explain_garbage()
    texts = sorted(c.loop_text() for c in report)
    assert texts == ["Handler.callback -> method.__self__ -> Handler", "dict['self'] -> dict"] \
        or texts == ["Handler.callback -> method.__self__ -> Handler"] \
        or texts == ["dict['self'] -> dict"]
    reported = {id(o) for c in report for o in c.objects}
    assert reported <= in_garbage
    assert "also referred to from elsewhere" in report.format()
    del held_elsewhere, report
    report = pymemtrack.explain_garbage()
    assert {id(o) for c in report for o in c.objects} == in_garbage
    assert len(report) == 2


def test_explain_garbage_when_empty(quiet_gc):
    report = pymemtrack.explain_garbage()
    assert report == [] and report.format().startswith("gc.garbage: 0 cycles")


def test_collected_cycles_reports_the_block_and_restores_gc_state(quiet_gc):
    sentinel = ["was in gc.garbage before"]
    gc.garbage.append(sentinel)
    gc.set_debug(gc.DEBUG_STATS & 0)
    shape_self_loop()                       # made before the block: not reported
    with pymemtrack.collected_cycles() as report:
        assert report == [] and gc.get_debug() & gc.DEBUG_SAVEALL
        shape_bound_method()
        shape_finalizers()
    assert gc.garbage == [sentinel]
    assert gc.get_debug() == 0
    names = sorted(name for c in report for name in c.types)
    assert "Handler" in names and "Fin" in names and "Node" not in names
    fin = [f for c in report for f in c.finalizers]
    assert fin and all(f.finalized for f in fin)    # the collection ran them
    assert report.format().startswith("Cycles the block created: 2 cycles")
    del gc.garbage[:]


def test_collected_cycles_restores_on_error(quiet_gc):
    gc.set_debug(gc.DEBUG_UNCOLLECTABLE)
    with pytest.raises(KeyError):
        with pymemtrack.collected_cycles() as report:
            shape_dict_cycle()
            raise KeyError("in the block")
    assert gc.get_debug() == gc.DEBUG_UNCOLLECTABLE
    assert gc.garbage == []
    assert [c.loop_text() for c in report] == ["dict['self'] -> dict"]


# ---- misbehaving tp_traverse, safety ---------------------------------------------


def test_negative_counts_are_reported_once_and_treated_as_alive(quiet_gc):
    victim = Node()
    holders = [[victim], [victim], [victim]]
    shape_self_loop()
    decref = ctypes.pythonapi.Py_DecRef
    incref = ctypes.pythonapi.Py_IncRef
    decref.argtypes = incref.argtypes = [ctypes.py_object]
    decref(victim)                          # now fewer references than the lists
    decref(victim)                          # visit: the lists' traverse looks wrong
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = pymemtrack.garbage_cycles()
    finally:
        incref(victim)
        incref(victim)
    assert report.traverse_errors == [("list", "Node")]
    assert [str(w.message) for w in caught if "tp_traverse" in str(w.message)]
    assert "list's tp_traverse visits more references to Node" in report.format()
    reported = {id(o) for c in report for o in c.objects}
    assert id(victim) not in reported and not {id(h) for h in holders} & reported
    assert len(report) == 1 and report[0].loop_text() == "Node.me -> Node"


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_is_restored(enabled, quiet_gc):
    (gc.enable if enabled else gc.disable)()
    _core.garbage_cycles()
    assert gc.isenabled() is enabled
    pymemtrack.garbage_cycles()
    assert gc.isenabled() is enabled


@pytest.mark.parametrize("enabled", [True, False])
def test_allocation_failures_raise_memoryerror_and_restore_state(enabled, quiet_gc):
    shape_tails()
    shape_generator()
    (gc.enable if enabled else gc.disable)()
    failures = 0
    try:
        for n in range(1, 200):
            _core._cycles_fail_after(n)
            try:
                raw = _core.garbage_cycles()
            except MemoryError:
                failures += 1
                assert gc.isenabled() is enabled
                continue
            break
        else:
            pytest.fail("every allocation count failed")
    finally:
        _core._cycles_fail_after(0)
    assert failures >= 10, "each phase's allocations were exercised"
    assert len(raw[1]) == 3 and gc.isenabled() is enabled


def test_gc_headers_are_put_back_on_every_path(quiet_gc):
    """The analysis keeps its table in the objects' GC headers. Freeing an
    object unlinks it through that header, so a mark left behind by any exit
    (success or a failed allocation at any point) would crash here."""
    shape_tails()
    try:
        for n in range(0, 200):
            keep = [Node() for _ in range(100)]      # walked by the call, freed after it
            _core._cycles_fail_after(n)
            try:
                _core.garbage_cycles()
            except MemoryError:
                del keep
                continue
            del keep
            if n:
                break
    finally:
        _core._cycles_fail_after(0)
    gc.collect()


LISTS_READABLE = _core._gc_broken_links() is not None
NO_LISTS = ("the collector's lists are read only on 3.10-3.13 GIL builds; elsewhere the "
            "analysis walks with PyUnstable_GC_VisitObjects, from the front only")


@pytest.mark.skipif(not LISTS_READABLE, reason=NO_LISTS)
@pytest.mark.parametrize("young", range(8))
def test_every_gc_prev_is_put_back_where_the_two_ends_meet(young, quiet_gc):
    """The walk meets each collector list from both ends, and the sweep puts
    each _gc_prev back from the slot before it. The young generation's list
    has about `young` objects here: the ends meet on an object or between
    two, after zero, one or more steps; every link must be as it was."""
    gc.collect()
    keep = [Node() for _ in range(young)]
    assert _core._gc_broken_links() == 0
    _core.garbage_cycles()
    assert _core._gc_broken_links() == 0
    del keep


@pytest.mark.skipif(not LISTS_READABLE, reason=NO_LISTS)
def test_finalized_flags_survive_on_both_sides_of_the_walk(quiet_gc):
    """Resurrected objects carry the collector's FINALIZED bit in _gc_prev;
    spread over the list, some are met from the front and some from the
    back. Were a bit lost, each __del__ would run again when freed."""
    resurrected, calls = [], []

    class Phoenix:
        def __del__(self):
            calls.append(1)
            resurrected.append(self)

    for _ in range(200):
        filler = [Node() for _ in range(50)]
        p = Phoenix()
        p.me = p
        del p
    del filler
    gc.collect()
    assert len(calls) == 200 and len(resurrected) == 200
    for p in resurrected:
        del p.me
    _core.garbage_cycles()
    assert _core._gc_broken_links() == 0
    del resurrected[:]                    # freed by refcount: __del__ already ran
    assert len(calls) == 200


@pytest.mark.skipif(not LISTS_READABLE, reason=NO_LISTS)
def test_a_heap_that_outgrew_the_last_call_is_walked_again(quiet_gc):
    """The slots are sized from the last call; a heap a third bigger runs
    out of them mid-walk: the headers go back, the objects are counted and
    the walk runs again. A failed allocation at any step of that leaves
    every link intact, and the result is still exact."""
    _core.garbage_cycles()
    grown = [Node() for _ in range(len(gc.get_objects()) // 3)]
    shape_tails()
    failures = 0
    try:
        for n in range(1, 200):
            _core._cycles_fail_after(n)       # a failed call keeps the small hint
            try:
                tracked = len(gc.get_objects())
                raw = _core.garbage_cycles()
            except MemoryError:
                failures += 1
                assert _core._gc_broken_links() == 0
                continue
            break
    finally:
        _core._cycles_fail_after(0)
    assert failures >= 3
    assert _core._gc_broken_links() == 0
    assert raw[5][0] == tracked
    assert len(raw[1]) == 1                                 # shape_tails(): one loop
    assert sum(type(o) is Node for o in raw[0]) == 2
    del raw, grown
    gc.collect()


def test_reference_pass_counts_references_to_tracked_objects(quiet_gc):
    """The benchmark's floor (benchmarks/bench_cycles.py) visits every
    reference between GC objects: 100 more lists held by one more list
    are 100 more."""
    before = _core._reference_pass()
    holder = [[] for _ in range(100)]
    after = _core._reference_pass()
    assert after - before in range(100, 104)       # and the frame's few
    del holder


def test_bad_arguments():
    with pytest.raises(TypeError, match="unexpected keyword"):
        _core.garbage_cycles(nope=1)
    with pytest.raises(TypeError, match="at most"):
        _core.garbage_cycles(None, None)
    with pytest.raises(ValueError):
        _core._cycles_fail_after(-1)
    with pytest.raises(TypeError):
        _core._cycles_fail_after("1")
    with pytest.raises(TypeError, match="cycle"):
        pymemtrack.show_cycle("not a cycle")
    with pytest.raises(TypeError):
        pymemtrack.garbage_cycles(1)
    _core.garbage_cycles(holder=[])          # any object is a valid holder
    _core.garbage_cycles(holder=3)


def test_safe_from_many_threads(quiet_gc):
    gc.enable()
    errors, sizes = [], []
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            for _ in range(50):
                shape_self_loop()
                shape_bound_method()

    def analyse():
        try:
            for _ in range(5):
                report = pymemtrack.garbage_cycles()
                ids = [id(o) for c in report for o in c.objects]
                assert len(ids) == len(set(ids))
                sizes.append(len(ids))
                report.format(limit=3)
        except Exception as exc:   # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn) for _ in range(2)]
    threads += [threading.Thread(target=analyse) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads[2:]:
        t.join()
    stop.set()
    for t in threads[:2]:
        t.join()
    assert errors == [] and len(sizes) == 15
    assert gc.isenabled()


def test_frozen_objects_keep_what_they_hold_alive(quiet_gc):
    holder = Node()
    ring = Node()
    ring.me = ring
    holder.ring = ring
    ring_ref = weakref.ref(ring)
    gc.freeze()
    try:
        del holder, ring
        assert ring_ref() is not None
        reported = {id(o) for c in pymemtrack.garbage_cycles() for o in c.objects}
        assert id(ring_ref()) not in reported
        gc.collect()
        assert ring_ref() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert ring_ref() is None


def test_cycle_objects_and_report_attributes(quiet_gc):
    a = Node()
    a.me = a
    a.blob = bytearray(10_000)
    a.text = "".join(["x"] * 5000)
    del a
    report = pymemtrack.garbage_cycles()
    [cycle] = report
    assert isinstance(report, CycleReport) and isinstance(cycle, Cycle)
    assert sorted(type(o).__name__ for o in cycle.owned) == ["bytearray", "str"]
    assert cycle.size >= 15_000
    assert cycle.size == sum(sys.getsizeof(o) for o in cycle.objects + cycle.owned)
    assert report.size == cycle.size and report.objects == len(cycle)
    assert report.gc_objects > 1000 and report.side_bytes > 16 * report.gc_objects
    assert "owns:    1 bytearray, 1 str" in report.format()
    assert repr(cycle).startswith("<Cycle of ") and repr(report).startswith("<CycleReport")
    assert str(cycle).startswith("[1] 1 cycle")


# ---- graph output ----------------------------------------------------------------


def _one_cycle():
    root = Node()
    Node(root)
    del root
    report = pymemtrack.garbage_cycles()
    assert len(report) == 1, report.format()
    return report[0]


def test_show_cycle_writes_dot(tmp_path, quiet_gc):
    cycle = _one_cycle()
    out = io.StringIO()
    path = str(tmp_path / "cycle.dot")
    assert pymemtrack.show_cycle(cycle, path, file=out) == path
    assert out.getvalue() == f"Graph written to {path} ({len(cycle)} nodes)\n"
    dot = open(path).read()
    assert dot.startswith("digraph ObjectGraph {")
    assert dot.count("->") >= 3
    assert 'label=".parent"' in dot or "label=\"['parent']\"" in dot   # 3.10: via __dict__
    assert 'label="[0]"' in dot
    assert "Node\\n<" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")
def test_show_cycle_renders_png(tmp_path, quiet_gc):
    cycle = _one_cycle()
    out = io.StringIO()
    path = str(tmp_path / "cycle.png")
    assert cycle.show(path, file=out) == path
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert out.getvalue().splitlines()[-1] == f"Image generated as {path}"
    assert os.path.exists(str(tmp_path / "cycle.dot"))


def test_show_cycle_without_dot_keeps_the_dot_file(tmp_path, monkeypatch, quiet_gc):
    cycle = _one_cycle()
    monkeypatch.setenv("PATH", str(tmp_path))
    out = io.StringIO()
    result = pymemtrack.show_cycle(cycle, str(tmp_path / "c.svg"), max_nodes=2, file=out)
    assert result == str(tmp_path / "c.dot") and os.path.exists(result)
    assert "graphviz 'dot') not found" in out.getvalue()
    assert not os.path.exists(str(tmp_path / "c.svg"))
    assert "more objects" in open(result).read()
    with pytest.raises(ValueError, match="max_nodes"):
        pymemtrack.show_cycle(cycle, str(tmp_path / "x.dot"), max_nodes=0)


def test_the_demo_class_names_in_types_are_objgraph_names(quiet_gc):
    shape_closure()
    [cycle] = pymemtrack.garbage_cycles()
    assert set(cycle.types) >= {"function", "cell", "tuple"}
    assert cycle.loop_text().startswith("function(shape_closure.<locals>.make.<locals>.f)")
    assert isinstance(cycle.members[0], (types.FunctionType, types.CellType, tuple))


def test_classes_and_frames_are_named_in_loops(quiet_gc):
    shape_class()
    shape_frame()
    texts = [c.loop_text() for c in pymemtrack.garbage_cycles()]
    assert any("type(Temporary)" in t for t in texts), texts
    assert any(t.startswith("frame(keep_frame)") or "-> frame(keep_frame)" in t
               for t in texts), texts
