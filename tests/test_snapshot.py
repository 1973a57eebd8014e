"""Snapshots: counts, diffs, printing, and that they hold no object or class alive."""

import gc
import os
import weakref

import objgraph
import pytest

import pymemtrack


class Item:
    pass


def test_snapshot_counts_match_objgraph_typestats():
    gc.collect()
    gc.disable()             # no automatic collection between the two calls
    ours = pymemtrack.snapshot().counts()
    theirs = objgraph.typestats()
    assert ours == theirs
    snap = pymemtrack.snapshot()
    ours = snap.counts(shortnames=False)
    theirs = objgraph.typestats(shortnames=False)
    assert ours == theirs
    assert snap.total_count == sum(snap.counts().values())
    assert len(snap) == len({(r.module, r.name) for r in snap.rows()})


@pytest.mark.parametrize("young", range(6))
def test_snapshot_counts_match_objgraph_for_any_young_generation_length(young):
    # Lists of every small length, odd and even (the walk meets in the middle).
    gc.collect()
    gc.disable()
    made = [[i] for i in range(young)]
    ours = pymemtrack.snapshot().counts()
    theirs = objgraph.typestats()
    assert ours == theirs
    assert len(made) == young


def test_snapshot_is_not_tracked_and_not_in_its_own_or_later_counts():
    snap = pymemtrack.snapshot()
    assert not gc.is_tracked(snap)
    assert all(r.name != "Snapshot" for r in snap.rows())
    again = pymemtrack.snapshot()
    assert "Snapshot" not in again.counts()
    assert pymemtrack.count("Snapshot") == 0


def test_compare_to_and_subtraction_sorted_by_growth():
    old = pymemtrack.snapshot()
    items = [Item() for _ in range(300)]
    lists = [[] for _ in range(20)]
    new = pymemtrack.snapshot()
    diff = new.compare_to(old)
    assert diff == new - old
    top = diff[0]
    assert (top.module, top.name, top.count_delta) == (__name__, "Item", 300)
    assert top.type_name == __name__ + ".Item"
    assert [r.count_delta for r in diff] == sorted((r.count_delta for r in diff), reverse=True)
    by_name = {r.type_name: r for r in diff}
    assert by_name["list"].count_delta == 22     # items, lists and its 20 lists
    assert by_name["list"].count == new.counts()["list"]
    del items, lists


def test_type_that_disappears_shows_a_negative_row():
    class Item:
        pass
    items = [Item() for _ in range(10)]
    old = pymemtrack.snapshot()
    del items
    gc.collect()
    row = {r.name: r for r in pymemtrack.snapshot() - old}["Item"]
    assert (row.count, row.count_delta) == (0, -10)


def test_snapshot_keeps_no_dynamic_class_alive():
    def make():
        cls = type("Ephemeral", (), {})
        objs = [cls() for _ in range(5)]
        return cls, objs

    cls, objs = make()
    snap = pymemtrack.snapshot()
    assert snap.counts()["Ephemeral"] == 5
    ref = weakref.ref(cls)
    del cls, objs
    gc.collect()
    assert ref() is None, "a snapshot kept a class alive"
    # Rows are names, still readable after the class died.
    assert {r.name: r.count for r in snap.rows()}["Ephemeral"] == 5


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer quarantines freed memory (make sanitize), so no "
                           "address is reused within the test; the normal suite runs it")
def test_class_at_a_reused_address_is_not_confused_with_the_dead_one():
    seen = set()
    for i in range(200):
        cls = type("Gen%d" % i, (), {})
        keep = cls()
        addr = id(cls)
        snap = pymemtrack.snapshot()
        counts = snap.counts()
        assert counts.get("Gen%d" % i) == 1
        assert not any(counts.get("Gen%d" % j) for j in range(i))   # no stale name
        seen.add(addr)
        del cls, keep
        gc.collect()
    assert len(seen) < 200, "no address was ever reused; the test proved nothing"


def test_snapshot_printing():
    snap = pymemtrack.snapshot()
    text = str(snap)
    lines = text.splitlines()
    assert lines[0].startswith("Snapshot at ") and f"{snap.total_count} objects" in lines[0]
    assert lines[1].split() == ["Type", "Count"]
    assert len(lines) == 2 + 10 + 1 and lines[-1].startswith("<")
    assert len(snap.format(limit=None).splitlines()) == 2 + len(snap)
    assert repr(snap).startswith("<Snapshot of ")


def test_diff_printing():
    old = pymemtrack.snapshot()
    items = [Item() for _ in range(7)]
    diff = pymemtrack.snapshot() - old
    first = str(diff).splitlines()[0].split()
    assert first == [__name__ + ".Item", "7", "+7"]
    empty = pymemtrack.snapshot()
    assert "No change" in str(pymemtrack.Snapshot.compare_to(empty, empty))
    del items


def test_bad_arguments():
    snap = pymemtrack.snapshot()
    with pytest.raises(TypeError, match="old must be a Snapshot"):
        snap.compare_to({})
    with pytest.raises(TypeError):
        snap - 3
    with pytest.raises(ValueError, match="sort_by"):
        snap.compare_to(snap, sort_by="bogus")
    with pytest.raises(ValueError, match="sort_by"):
        snap.rows(sort_by="bogus")
    with pytest.raises(TypeError):
        pymemtrack.Snapshot(1)
    with pytest.raises(TypeError, match="old must be a Snapshot"):
        snap._diff(object())


def test_frozen_objects_are_reported_not_hidden():
    gc.freeze()
    try:
        snap = pymemtrack.snapshot()
        assert snap.frozen == gc.get_freeze_count() > 0
        assert "frozen by gc.freeze()" in str(snap)
    finally:
        gc.unfreeze()
