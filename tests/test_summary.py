"""pympler-compatible summaries: same tables as pympler 1.1, same rows on the same heap."""

import enum
import gc
import io
import sys

import pytest
from pympler import muppy
from pympler import summary as pympler_summary

import pymemtrack
from pymemtrack import summary


class Leaf:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Outer:
    class Inner:
        pass


class Color(enum.Enum):
    RED = 1


ROWS = [
    ["dict", 2, 560], ["list", 10, 2048], ["str", 3000, 5 * 1024 ** 2 + 17],
    ["tests.Foo", -4, -4096], ["tuple", 7, 7], ["int", 0, 1025], ["set", 1, 1024],
    ["huge", 1, 3 * 1024 ** 4], ["a.b.C", 12, 12 * 1024 ** 3], ["neg", -1, -28],
    ["same", 5, 100], ["same2", 5, 100],
]


@pytest.mark.parametrize("sort", ["#", "size"])
@pytest.mark.parametrize("order", ["descending", "ascending"])
@pytest.mark.parametrize("limit", [15, 3, 0, 100])
def test_format_is_pymplers_table(sort, order, limit):
    theirs = list(pympler_summary.format_(ROWS, limit=limit, sort=sort, order=order))
    ours = summary.format_(ROWS, limit=limit, sort=sort, order=order)
    assert ours == theirs


def test_print_is_pymplers_print(capsys):
    pympler_summary.print_(ROWS)
    theirs = capsys.readouterr().out
    summary.print_(ROWS)
    assert capsys.readouterr().out == theirs
    out = io.StringIO()
    summary.print_(ROWS, file=out)
    assert out.getvalue() == theirs


def test_sort_by_type_sorts_by_name():
    # pympler 1.1 sorts by the repr of str here, i.e. keeps the input order.
    lines = summary.format_(ROWS, sort="type", order="ascending", limit=100)
    names = [line.split("|")[0].strip() for line in lines[2:]]
    assert names == sorted(r[0] for r in ROWS)


def test_type_names_are_pymplers():
    objects = [Leaf(1), Outer.Inner(), Color.RED, 1.5, b"", bytearray(), {}, [], set(),
               iter([]), sys.stdout, range(3), type, Outer, Ellipsis]
    for obj in objects:
        assert summary._label(type(obj)) == pympler_summary._repr(obj), obj


def test_summarize_rows_match_pympler_on_the_same_heap():
    leaves = [Leaf([i]) for i in range(300)]
    gc.collect()
    theirs = {row[0]: row[1:] for row in pympler_summary.summarize(muppy.get_objects())}
    ours = {row[0]: row[1:] for row in pymemtrack.summarize()}
    label = summary._label(Leaf)
    assert ours[label] == theirs[label] == [300, 300 * sys.getsizeof(leaves[0])]
    # pympler also counts untracked objects one level down; deep counts them all.
    deep = {row[0]: row[1:] for row in pymemtrack.summarize(deep=True)}
    assert "str" in deep and "str" in theirs and "str" not in ours
    assert deep["str"][0] >= theirs["str"][0]
    del leaves


def test_rows_are_sorted_and_total_all_objects():
    gc.collect()
    gc.disable()
    try:
        snap = pymemtrack.snapshot(sizes=True)
        rows = pymemtrack.summarize(collect=False)
    finally:
        gc.enable()
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    assert all(isinstance(r, list) and len(r) == 3 for r in rows)
    # the same objects, less the running frames on 3.10 (never more than a
    # few dozen) and the snapshot made in between
    assert 0 <= snap.total_count - sum(r[1] for r in rows) < 100
    assert 0 <= snap.total_size - sum(r[2] for r in rows) < 100 * 1000


@pytest.mark.parametrize("deep", [False, True])
def test_first_diff_after_construction_is_empty(deep):
    tracker = pymemtrack.SummaryTracker(deep=deep)
    assert tracker.diff() == []
    assert tracker.diff() == []


def test_diff_reports_new_objects_exactly():
    # (diff() is called outside comprehensions: on 3.10/3.11 a comprehension
    # is a function object, alive during the call and reported by the next.)
    tracker = pymemtrack.SummaryTracker()
    leaves = [Leaf(None) for _ in range(250)]
    rows = tracker.diff()
    diff = {row[0]: row[1:] for row in rows}
    assert diff[summary._label(Leaf)] == [250, 250 * sys.getsizeof(leaves[0])]
    assert diff["list"] == [1, sys.getsizeof(leaves)]
    del leaves, diff
    rows = tracker.diff()
    assert [row for row in rows if row[0] == summary._label(Leaf)][0][1] == -250
    del rows
    tracker.diff()          # absorbs the freeing of the earlier results
    rows = tracker.diff()
    assert rows == []


def test_diff_deep_sees_untracked_objects():
    tracker = pymemtrack.SummaryTracker(deep=True)
    floats = [float(i) + 0.5 for i in range(100)]
    diff = {row[0]: row[1:] for row in tracker.diff()}
    assert diff["float"] == [100, 100 * sys.getsizeof(0.5)]
    del floats


def test_stored_summaries_are_not_reported():
    tracker = pymemtrack.SummaryTracker()
    for key in range(20):
        tracker.store_summary(("key", key))
    assert tracker.diff() == []
    assert sorted(tracker.summaries) == [("key", k) for k in range(20)]
    first = tracker.summaries[("key", 0)]
    assert isinstance(first, list) and all(len(row) == 3 for row in first)


def test_diff_between_given_summaries():
    tracker = pymemtrack.SummaryTracker()
    s1 = tracker.create_summary()
    leaves = [Leaf(0) for _ in range(40)]
    s2 = tracker.create_summary()
    label = summary._label(Leaf)
    rows = {row[0]: row[1:] for row in tracker.diff(s1, s2)}
    assert rows[label][0] == 40
    assert {row[0]: row[1:] for row in tracker.diff(s2, s1)}[label][0] == -40
    # with summary1 only: from it to now, and now becomes the last summary
    rows = {row[0]: row[1:] for row in tracker.diff(s1)}
    assert rows[label][0] == 40
    assert tracker.diff() == [] or label not in {row[0] for row in tracker.diff()}
    # pympler's own functions accept our summaries
    theirs = {row[0]: row[1:] for row in pympler_summary.get_diff(s1, s2)}
    assert theirs[label][0] == 40
    del leaves


def test_print_and_format_diff_are_pympler_tables(capsys):
    tracker = pymemtrack.SummaryTracker()
    leaves = [Leaf(i) for i in range(10)]
    base = tracker.create_summary()
    lines = tracker.format_diff(summary1=base, summary2=tracker.create_summary())
    assert isinstance(lines, list) and lines[0].split() == ["types", "|", "#", "objects", "|",
                                                             "total", "size"]
    tracker.print_diff()
    out = capsys.readouterr().out.splitlines()
    assert any(line.split()[0] == summary._label(Leaf) for line in out[2:])
    rows = [[summary._label(Leaf), 10, 10 * sys.getsizeof(leaves[0])]]
    assert summary.format_(rows) == list(pympler_summary.format_(rows))
    del leaves


def test_ignore_self_false_reports_stored_summaries():
    tracker = pymemtrack.SummaryTracker(ignore_self=False)
    for key in range(50):
        tracker.store_summary(key)
    assert tracker.diff() != []      # its growing dict of summaries shows


@pytest.mark.parametrize("call, exc, words", [
    (lambda: pymemtrack.summarize(deep="yes"), TypeError, "deep"),
    (lambda: pymemtrack.summarize(collect=None), TypeError, "collect"),
    (lambda: pymemtrack.SummaryTracker(deep=1), TypeError, "deep"),
    (lambda: pymemtrack.SummaryTracker().diff(summary2=[]), ValueError, "summary1"),
    (lambda: pymemtrack.SummaryTracker().diff(summary1=5), TypeError, "summary1"),
    (lambda: pymemtrack.SummaryTracker().diff([["a", 1]]), TypeError, "rows"),
    (lambda: pymemtrack.SummaryTracker().diff([["a", "1", 2]]), TypeError, "rows"),
    (lambda: pymemtrack.SummaryTracker().store_summary([]), TypeError, "unhashable"),
    (lambda: summary.format_(ROWS, sort="name"), ValueError, "sort"),
    (lambda: summary.format_(ROWS, order="up"), ValueError, "order"),
    (lambda: summary.format_(ROWS, limit="3"), TypeError, "limit"),
    (lambda: summary.format_([["a", 1]]), ValueError, "row"),
    (lambda: pymemtrack.SummaryTracker().print_diff(sort="x"), ValueError, "sort"),
])
def test_bad_arguments(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
