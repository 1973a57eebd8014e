"""Sizes: every object's size equals sys.getsizeof, per object and per type, shallow and deep."""

import array
import asyncio
import collections
import gc
import sys
import types
import warnings
import weakref

import pytest

import pymemtrack
from pymemtrack import _core


class Plain:
    def __init__(self):
        self.a = 1


class Slotted:
    __slots__ = ("a", "b")


class IntSub(int):
    pass


class StrSub(str):
    pass


class DictSub(dict):
    pass


class ListSub(list):
    pass


class PySized:
    def __sizeof__(self):
        return 1000


class PySizedStatic:
    __sizeof__ = staticmethod(lambda: 12)


class SizedFromObject:
    __sizeof__ = object.__sizeof__


def _gen():
    yield 1


async def _coro():
    pass


def _zoo():
    """Objects that exercise every sizing branch on every version."""
    s = "h\xe9llo w\xf6rld"
    s.encode()                        # a separate UTF-8 cache on non-ASCII str
    wide = "\u1234\u5678" * 3
    wide.encode("utf-8")
    big_set = set(range(100))
    grown = []
    for i in range(17):
        grown.append(i)               # over-allocated list
    split = Plain()
    split.__dict__                    # a materialized (split-table) instance dict
    g = _gen()
    c = _coro()
    c.close()
    frame = sys._getframe()
    return [
        "", "a", "ascii" * 30, s, wide, "\U0001f600" * 4, StrSub("sub"), StrSub("\xe9"),
        0, 1, -1, 2 ** 30, 2 ** 64, -(2 ** 200), True, False, IntSub(5), IntSub(2 ** 100),
        1.5, 3j, b"", b"bytes" * 10, bytearray(), bytearray(b"x" * 100),
        (), (1,), (1, 2, 3), [], grown, ListSub([1, 2]), {}, {"a": 1}, dict.fromkeys(range(50)),
        DictSub(a=1), split, split.__dict__, set(), big_set, frozenset(), frozenset(big_set),
        collections.OrderedDict(a=1, b=2), collections.deque(range(10)),
        collections.defaultdict(list), array.array("d", range(10)), memoryview(b"abc"),
        range(10), slice(1, 2), Plain(), Slotted(), PySized(), PySizedStatic(), SizedFromObject(),
        int, type, Plain, types.SimpleNamespace(a=1), weakref.ref(Plain), g, c, frame,
        frame.f_code, _zoo, len, None, NotImplemented, Ellipsis, iter([]), sys,
        asyncio.Future if hasattr(asyncio, "Future") else None,
    ]


def _deep_closure():
    """Every GC-tracked object plus everything untracked reachable from them."""
    objs = gc.get_objects()
    seen = {id(o): o for o in objs}
    stack = list(objs)
    while stack:
        for ref in gc.get_referents(stack.pop()):
            if id(ref) not in seen:
                seen[id(ref)] = ref
                stack.append(ref)
    return list(seen.values())


def _getsizeof(obj):
    try:
        return sys.getsizeof(obj)
    except Exception as exc:  # noqa: BLE001 - compared with ours below
        return type(exc)


def _ours(obj):
    try:
        return _core.getsizeof(obj)
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def test_getsizeof_matches_sys_getsizeof_for_every_object_on_the_heap():
    zoo = _zoo()
    objects = _deep_closure()
    assert len(objects) > 10000
    mismatched = {}
    for obj in objects + zoo:
        expected, got = _getsizeof(obj), _ours(obj)
        if expected != got:
            mismatched.setdefault(type(obj).__qualname__, (expected, got))
    assert mismatched == {}
    del zoo, objects


def test_getsizeof_raises_as_sys_getsizeof_does():
    class Negative:
        def __sizeof__(self):
            return -1

    class NotInt:
        def __sizeof__(self):
            return "many"

    class Raises:
        def __sizeof__(self):
            raise KeyError("no")

    for cls, exc in ((Negative, ValueError), (NotInt, TypeError), (Raises, KeyError)):
        with pytest.raises(exc):
            sys.getsizeof(cls())
        with pytest.raises(exc):
            _core.getsizeof(cls())


def _by_long_name(objects):
    """{objgraph long type name: [count, bytes]} over objects, in Python."""
    out = {}
    for obj in objects:
        tp = type(obj)
        module = getattr(tp, "__module__", None)      # objgraph's _long_typename
        name = f"{module}.{tp.__name__}" if module else tp.__name__
        row = out.setdefault(name, [0, 0])
        row[0] += 1
        row[1] += sys.getsizeof(obj)
    return out


def _snapshot_by_long_name(snap):
    return {r.name if r.module is None else f"{r.module}.{r.name}": [r.count, r.size]
            for r in snap.rows()}


def test_sized_snapshot_totals_match_sys_getsizeof_per_type():
    keep = _zoo()
    gc.collect()
    gc.disable()                      # no collection between the two walks
    try:
        snap = pymemtrack.snapshot(sizes=True)
        objects = gc.get_objects()    # not in its own list
        expected = _by_long_name(objects)
    finally:
        gc.enable()
    got = _snapshot_by_long_name(snap)
    assert got == expected
    assert snap.total_size == sum(size for _count, size in got.values())
    assert snap.sizes and not snap.deep
    del keep


def test_deep_snapshot_matches_a_python_walk_of_tp_traverse():
    keep = _zoo() + [{}, (1.5, "x"), 2.5, "only-here-" * 3]
    gc.collect()
    gc.disable()
    try:
        snap = pymemtrack.snapshot(sizes=True, deep=True)
        objects = gc.get_objects()
        seen = {id(o): o for o in objects}
        stack = list(objects)
        while stack:
            for ref in gc.get_referents(stack.pop()):
                if not gc.is_tracked(ref) and id(ref) not in seen:
                    seen[id(ref)] = ref
                    stack.append(ref)
        expected = _by_long_name(seen.values())
    finally:
        gc.enable()
    got = _snapshot_by_long_name(snap)
    # pymemtrack never counts its own non-GC results (Snapshot, IdMap, ...),
    # which the Python walk reaches (on 3.10 also through the running frames).
    for name in [n for n in expected if n.startswith("pymemtrack._core.")]:
        del expected[name]
    assert got == expected
    assert snap.deep and snap.sizes


def test_deep_counts_what_the_gc_does_not_track():
    class Holder:
        pass

    gc.collect()
    before_shallow = pymemtrack.snapshot(sizes=True)
    before_deep = pymemtrack.snapshot(sizes=True, deep=True)
    holder = Holder()
    holder.things = [{}, {}, 0.25, 0.5, "unique string %d" % id(holder), (1, 2),
                     bytearray(1000)]
    gc.collect()                      # untracks the atomic tuple
    assert not gc.is_tracked(holder.things[0]) and not gc.is_tracked(holder.things[5])
    shallow = {r.name: r for r in pymemtrack.snapshot(sizes=True) - before_shallow
               if r.count_delta}
    deep = {r.name: r for r in pymemtrack.snapshot(sizes=True, deep=True) - before_deep
            if r.count_delta}
    for name in ("float", "bytearray", "str", "tuple"):
        assert name not in shallow, name
    assert deep["float"].count_delta == 2
    assert deep["float"].size_delta == 2 * sys.getsizeof(0.25)
    assert deep["bytearray"].count_delta == 1
    assert deep["bytearray"].size_delta == sys.getsizeof(holder.things[6])
    # the two empty dicts (3.10 also tracks the holder's __dict__)
    shallow_dicts = shallow["dict"].count_delta if "dict" in shallow else 0
    assert deep["dict"].count_delta - shallow_dicts >= 2
    assert deep["tuple"].count_delta >= 1
    assert deep["str"].count_delta >= 1
    del holder


def test_deep_walk_counts_each_object_once():
    before = pymemtrack.snapshot(deep=True)
    marker = float(id(before))            # one untracked object, referenced 1000 times
    holders = [[marker, marker] for _ in range(500)]
    diff = pymemtrack.snapshot(deep=True) - before
    rows = {r.name: r.count_delta for r in diff if r.count_delta}
    assert rows["float"] == 1
    assert rows["list"] == 501
    del holders


def test_deep_walk_has_no_recursion_limit():
    # A million nested tuples the collector has untracked: only an explicit
    # stack gets through them. (Each is held by `keep` during the collection
    # so that the collector sees them innermost first and untracks them all
    # in one pass.)
    chain, keep = (), []
    for _ in range(1_000_000):
        chain = (chain,)
        keep.append(chain)
    gc.collect()
    del keep
    holder = [chain]
    assert not gc.is_tracked(chain) and not gc.is_tracked(chain[0][0][0])
    snap = pymemtrack.snapshot(deep=True)
    assert snap.counts()["tuple"] >= 1_000_000
    del holder, chain


def test_static_types_and_immortal_objects_are_counted_once_and_safely():
    keep = [int, str, type, None, True, 1, "interned"]
    snap = pymemtrack.snapshot(sizes=True, deep=True)
    counts = snap.counts(shortnames=False)   # numpy has a "bool" type too
    assert counts["builtins.NoneType"] == 1 and counts["builtins.bool"] == 2
    assert counts["builtins.type"] > 100     # static types reached through tp_traverse
    del keep


def test_python_sizeof_runs_after_the_walk_and_counts():
    calls = []

    class Heavy:
        def __sizeof__(self):
            # Allocates, frees and collects: must not run inside the walk.
            junk = [[i] for i in range(100)]
            gc.collect()
            calls.append(len(junk))
            return 5000

    objs = [Heavy() for _ in range(3)]
    snap = pymemtrack.snapshot(sizes=True)
    row = [r for r in snap.rows() if r.name == "Heavy"][0]
    assert row.count == 3 and row.size == 3 * sys.getsizeof(objs[0])
    assert len(calls) >= 3


@pytest.mark.parametrize("body, why", [
    ("raise ValueError('broken')", "raised ValueError"),
    ("return -5", "raised ValueError"),
    ("return 'x'", "raised TypeError"),
    ("return 10 ** 40", "raised OverflowError"),
])
def test_broken_sizeof_counts_basic_size_and_warns_once(body, why):
    ns = {}
    exec(f"class Broken:\n    def __sizeof__(self):\n        {body}\n", ns)
    Broken = ns["Broken"]
    objs = [Broken() for _ in range(5)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        snap = pymemtrack.snapshot(sizes=True)
    row = [r for r in snap.rows() if r.name == "Broken"][0]
    basic = object.__sizeof__(objs[0]) + sys.getsizeof(Plain()) - object.__sizeof__(Plain())
    assert (row.count, row.size) == (5, 5 * basic)
    mine = [w for w in caught if "Broken.__sizeof__()" in str(w.message)]
    assert len(mine) == 1, [str(w.message) for w in caught]
    assert issubclass(mine[0].category, RuntimeWarning) and why in str(mine[0].message)
    del objs
    assert pymemtrack.snapshot(sizes=True).total_size > 0      # still usable


def test_broken_sizeof_warning_as_error_raises_cleanly():
    class Broken:
        def __sizeof__(self):
            raise ValueError

    objs = [Broken() for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="Broken"):
            pymemtrack.snapshot(sizes=True)
    del objs
    assert pymemtrack.snapshot(sizes=True).sizes


def test_keyboard_interrupt_in_sizeof_propagates():
    class Interrupts:
        def __sizeof__(self):
            raise KeyboardInterrupt

    objs = [Interrupts()]
    with pytest.raises(KeyboardInterrupt):
        pymemtrack.snapshot(sizes=True)
    del objs
    assert pymemtrack.snapshot(sizes=True).total_size > 0


def test_borrowed_sizeof_descriptor_is_not_trusted():
    class Liar:
        __sizeof__ = list.__sizeof__        # sys.getsizeof raises TypeError

    objs = [Liar()]
    with pytest.raises(TypeError):
        sys.getsizeof(objs[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = [r for r in pymemtrack.snapshot(sizes=True).rows() if r.name == "Liar"][0]
    assert row.size == sys.getsizeof(Plain()) - object.__sizeof__(Plain()) + object.__sizeof__(objs[0])
    assert any("Liar" in str(w.message) for w in caught)
    del objs


def test_compare_to_carries_sizes_and_sorts_by_bytes():
    old = pymemtrack.snapshot(sizes=True)
    big = [bytearray(10000) for _ in range(3)]
    many = [[] for _ in range(50)]
    new = pymemtrack.snapshot(sizes=True)
    diff = new.compare_to(old, sort_by="bytes")
    assert diff == new.compare_to(old, sort_by="size")
    rows = {r.name: r for r in diff}
    assert rows["list"].count_delta == 52
    assert rows["list"].size_delta == sum(map(sys.getsizeof, many)) + sys.getsizeof(big) \
        + sys.getsizeof(many)
    assert [r.size_delta for r in diff] == sorted((r.size_delta for r in diff), reverse=True)
    by_count = new.compare_to(old)
    assert by_count[0].name == "list"
    text = str(diff)
    assert " B " in text and "+" in text
    del big, many


def test_snapshot_options_and_printing():
    snap = pymemtrack.snapshot(sizes=True, deep=True)
    assert snap.sizes and snap.deep
    text = str(snap)
    assert "(deep)" in text and f"{snap.total_size} bytes" in text
    assert text.splitlines()[1].split() == ["Type", "Count", "Bytes"]
    assert "bytes" in repr(snap)
    plain = pymemtrack.snapshot()
    assert not plain.sizes and plain.total_size == 0
    with pytest.raises(ValueError, match="different options"):
        snap.compare_to(plain)
    with pytest.raises(TypeError):
        pymemtrack.snapshot(sizes="yes")
    with pytest.raises(TypeError):
        pymemtrack.Snapshot(True)              # keyword-only
    with pytest.raises(TypeError):
        pymemtrack.Snapshot(sizes=1, bogus=2)

    class MySnapshot(pymemtrack.Snapshot):
        pass

    assert MySnapshot(sizes=True, deep=True).total_size > 0


def test_type_sizes_arguments():
    with pytest.raises(TypeError, match="ignore"):
        _core.type_sizes(ignore=[1])
    with pytest.raises(TypeError, match="reference"):
        _core.type_sizes(reference=object())
    with pytest.raises(ValueError, match="owners"):
        _core.type_sizes(sizes=False, owners=True)
    with pytest.raises(TypeError):
        _core.type_sizes(nope=1)
    rows = _core.type_sizes(sizes=False)
    assert all(size == 0 for _tp, _count, size in rows)
