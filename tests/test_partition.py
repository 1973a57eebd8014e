"""guppy-style partitions: guppy3's table format and kind names, relative heaps, indexing."""

import gc
import sys
import weakref

import pytest
from guppy import hpy

import pymemtrack
from pymemtrack import _core, partition


class Owner:
    def __init__(self, i):
        self.i = [i]


class DictOwner(Owner):
    """Made by one test only, so that no instance of another test's (which
    guppy's own bookkeeping may hold, out of its heap()) can be counted."""


class Slim:
    __slots__ = ("x",)


LongName = type("Kind" + "WithAVeryLongName" * 6, (), {})


def _materialized(n, cls=Owner):
    objs = [cls(i) for i in range(n)]
    for obj in objs:
        obj.__dict__            # 3.11+ keep attributes inline until asked
    return objs


def _ours_from_guppy(theirs):
    rows = [(None, row.name, row.count, row.size) for row in theirs.partition.get_rows()]
    return _core.Partition._from_rows(rows, keyed=False)


@pytest.fixture(scope="module")
def hp():
    return hpy()


def test_table_format_is_guppys(hp):
    objs = ([Owner(i) for i in range(5)] + [Slim() for _ in range(3)] + [LongName()]
            + [[i] for i in range(40)] + ["s%d" % i for i in range(30)] + [(i,) for i in range(20)]
            + [{i: i} for i in range(7)] + [1.5 + i for i in range(12)] + [b"b" * i for i in range(9)]
            + [frozenset([i]) for i in range(4)] + [set() for _ in range(6)] + [bytearray(3)])
    theirs = hp.iso(*objs)
    ours = _ours_from_guppy(theirs)
    assert str(ours) == str(theirs)
    assert repr(ours) == str(theirs)
    assert str(ours.more) == str(theirs.more)
    assert str(ours.more.more) == str(theirs.more.more)
    assert "more rows" in str(ours).splitlines()[-1]


def test_single_object_and_wrapping_like_guppy(hp):
    one = LongName()
    theirs = hp.iso(one)
    assert str(_ours_from_guppy(theirs)) == str(theirs)
    assert "1 object." in str(theirs)


def test_kind_names_are_guppys(hp):
    import collections
    import types as types_mod
    objs = [Owner(1), Slim(), 1, "s", 1.5, b"", (), [], set(), frozenset(), bytearray(),
            collections.deque(), collections.OrderedDict(), iter([]), sys, len, type, Owner,
            types_mod.SimpleNamespace(), weakref.ref(Owner), sys._getframe().f_code,
            test_kind_names_are_guppys, range(1), slice(1), memoryview(b"")]
    for obj in objs:
        theirs = [row.name for row in hp.iso(obj).partition.get_rows()]
        assert [partition._kind(type(obj), None)] == theirs, obj


def _extra_report(objs, expected):
    """Who holds the instances in objs that are not in expected (for a
    failure message)."""
    known = {id(o) for o in expected}
    return [(hex(id(o)), sorted({type(r).__name__ for r in gc.get_referrers(o) if r is not objs}))
            for o in objs if id(o) not in known]


def test_dict_owners_and_counts_match_guppy(hp):
    owners = _materialized(300, DictOwner)
    plain = [{"k": [i]} for i in range(200)]
    gc.collect()
    ours = {row.kind: row for row in pymemtrack.heap(deep=False)}
    kind = partition._type_name(DictOwner)
    # exact first: every tracked instance alive, each once
    alive = [o for o in gc.get_objects() if type(o) is DictOwner]
    assert ours[kind].count == len(alive) == 300, _extra_report(alive, owners)
    del alive
    theirs = {row.name: row for row in hp.heap().partition.get_rows()}
    for k in (kind, "dict of " + kind):
        assert (ours[k].count, ours[k].size) == (theirs[k].count, theirs[k].size), k
    assert ours["dict of " + kind].count == 300
    assert ours["dict (no owner)"].count >= 200
    assert ours["dict of type"].count > 100 and ours["dict of module"].count > 10
    del owners, plain


def test_rows_total_and_index():
    p = pymemtrack.heap()
    rows = p.rows()
    assert list(p) == rows
    assert sum(r.count for r in rows) == p.count
    assert sum(r.size for r in rows) == p.size == rows[-1].cumulative
    assert [r.size for r in rows] == sorted((r.size for r in rows), reverse=True)
    assert p[0] == rows[0] and p[-1] == rows[-1] and p[1:3] == rows[1:3]
    assert p[0].index == 0 and isinstance(p[0], pymemtrack.PartitionRow)
    assert len(p) == len(rows)
    lines = str(p).splitlines()
    assert lines[0] == f"Partition of a set of {p.count} objects. Total size = {p.size} bytes."
    assert lines[1].split() == ["Index", "Count", "%", "Size", "%", "Cumulative", "%", "Kind",
                                "(class", "/", "dict", "of", "class)"]
    assert len(lines) == 2 + 10 + 1
    with pytest.raises(IndexError):
        p[len(rows)]
    with pytest.raises(TypeError):
        p["str"]
    with pytest.raises(TypeError):
        _core.Partition()


def test_deep_sees_what_the_gc_does_not_track():
    floats = [0.5 + i for i in range(1000)]
    deep = {row.kind: row for row in pymemtrack.heap(deep=True)}
    shallow = {row.kind: row for row in pymemtrack.heap(deep=False)}
    assert "float" not in shallow and "str" not in shallow and "int" not in shallow
    assert deep["float"].count >= 1000 and deep["str"].count > 1000
    assert deep["float"].size >= 1000 * sys.getsizeof(0.5)
    assert pymemtrack.heap(deep=True).deep and not pymemtrack.heap(deep=False).deep
    del floats


def test_relative_heap_shows_only_new_objects():
    old = _materialized(50)
    lazy = [Owner(i) for i in range(5)]      # 3.11+: no __dict__ object yet
    ref = pymemtrack.set_reference()
    try:
        new = [Owner(i) for i in range(7)]
        for obj in new[:3] + lazy[:2] + old[:2]:
            obj.__dict__
        p = pymemtrack.heap(collect=True)
        rows = {row.kind: (row.count, row.size) for row in p}
        assert p.relative
        assert rows[partition._type_name(Owner)] == (7, 7 * sys.getsizeof(new[0]))
        # New dicts, of new owners and of old ones. 3.10 gives every instance
        # its dict at once; 3.11+ only when asked for.
        expected = 7 if sys.version_info < (3, 11) else 3 + 2
        assert rows["dict of " + partition._type_name(Owner)][0] == expected
        assert rows["list"][0] == 8          # 7 attributes and `new`
        assert p.count < 200
        assert isinstance(ref, _core.HeapReference) and len(ref) > 1000 and ref.deep
        assert ref.nbytes > 0 and "HeapReference of" in repr(ref)
    finally:
        pymemtrack.clear_reference()
    assert not pymemtrack.heap().relative
    del old, lazy, new


def test_reference_holds_nothing_alive():
    objs = [Owner(i) for i in range(10)]
    refs = [weakref.ref(o) for o in objs]
    pymemtrack.set_reference()
    try:
        del objs
        gc.collect()
        assert all(r() is None for r in refs)
    finally:
        pymemtrack.clear_reference()


def test_own_results_are_never_counted():
    held = [pymemtrack.heap(), pymemtrack.snapshot(sizes=True, deep=True),
            _core.HeapReference()]
    kinds = {row.kind for row in pymemtrack.heap(deep=True)}
    assert not any("pymemtrack._core" in kind for kind in kinds), kinds
    del held


@pytest.mark.parametrize("call, exc, words", [
    (lambda: pymemtrack.heap(deep="yes"), TypeError, "deep"),
    (lambda: pymemtrack.heap(collect=1), TypeError, "collect"),
    (lambda: pymemtrack.set_reference(deep=None), TypeError, "deep"),
    (lambda: _core.HeapReference(ignore=[1]), TypeError, "ignore"),
    (lambda: _core.HeapReference(1), TypeError, "positional"),
    (lambda: _core.Partition._from_rows([(None, "x", 1)]), ValueError, "row"),
    (lambda: _core.Partition._from_rows([(1, "x", 1, 2)]), TypeError, "module"),
    (lambda: _core.Partition._from_rows([(None, "x", "1", 2)]), TypeError, "int"),
    (lambda: _core.Partition._from_rows(5), TypeError, "rows"),
    (lambda: _core.Partition._from_rows([], start=-1), ValueError, "start"),
])
def test_bad_arguments(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
