"""Sizes and summaries at one million GC objects: pymemtrack vs pympler 1.1 and guppy3.

Run: ``make bench`` or ``python benchmarks/bench_sizes.py [--objects N]
[--repeat R] [--slow-repeat S]``. Everything runs side by side in one
process; each repetition runs every row once, in turn, so that load from
other processes falls on all rows alike. Prints medians and ratios.

pympler's ``SummaryTracker.diff()`` and pymemtrack's both start with a full
``gc.collect()``, and so does guppy's ``heap()``; ``pymemtrack.heap()``
collects only when asked (``collect=True``), like ``snapshot()``. A bare
collection is timed too, and each tool's own work is reported as
``total - collect``.

guppy's first ``heap()`` creates the ``__dict__`` of every instance that
keeps its attributes inline (3.11+), a quarter more GC objects here: the
second count printed is the heap every row is timed on.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc

import pymemtrack

try:
    from guppy import hpy
    from pympler import tracker as pympler_tracker
except ImportError as exc:  # pragma: no cover - depends on the environment
    sys.exit(f"bench_sizes needs pympler and guppy3: pip install 'pymemtrack[bench]' ({exc})")


class Record:
    def __init__(self, i: int) -> None:
        self.id = i + 1000                 # an int object of its own
        self.name = "record-%d" % i        # a str (not GC-tracked)
        self.tags = [i, self.name]         # a list (tracked)
        self.meta = {"k": [i]}             # a dict (tracked) holding a list (tracked)


def build_heap(n: int) -> list:
    """About n GC-tracked objects: per record an instance, a list, a dict and
    the dict's list, plus an untracked int and str each."""
    return [Record(i) for i in range(n // 4)]


def interleaved(rows, repeat: int) -> dict:
    """Seconds per row: each repetition runs every row once, in turn."""
    times = {name: [] for name, _ in rows}
    for _ in range(repeat):
        for name, fn in rows:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def held_bytes(make) -> int:
    """Bytes (objects and PyMem_Raw tables, as tracemalloc sees them) that
    the result of make() keeps allocated."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = make()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del result
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9, help="runs of the fast rows")
    parser.add_argument("--slow-repeat", type=int, default=3,
                        help="runs of pympler's diff and guppy's heap()")
    args = parser.parse_args()

    heap = build_heap(args.objects)
    gc.collect()
    n = len(gc.get_objects())
    print(f"Python {sys.version.split()[0]}, {n:,} GC objects")

    t0 = time.perf_counter()
    theirs = pympler_tracker.SummaryTracker()
    print(f"pympler SummaryTracker() construction: {time.perf_counter() - t0:.2f} s")
    h = hpy()
    h.heap()                                  # guppy's one-time initialisation
    t0 = time.perf_counter()
    ours = pymemtrack.SummaryTracker()
    print(f"pymemtrack SummaryTracker() construction: {time.perf_counter() - t0:.2f} s")
    # guppy's first heap() creates the __dict__ of every instance that kept
    # its attributes inline (3.11+): every row below walks those too.
    gc.collect()
    print(f"{len(gc.get_objects()):,} GC objects in the timed heap")

    # Same answers first: the rows compared are equal work.
    snap = pymemtrack.snapshot(sizes=True)
    got = {r.name: (r.count, r.size) for r in snap.rows() if r.module == __name__}
    assert got == {"Record": (len(heap), sys.getsizeof(heap[0]) * len(heap))}, got
    first = ours.diff()
    print(f"pymemtrack's first diff() after construction: {first}")

    fast = [
        ("gc.collect()", gc.collect),
        ("pymemtrack SummaryTracker.diff()", ours.diff),
        ("pymemtrack.snapshot()  (counts)", pymemtrack.snapshot),
        ("pymemtrack.snapshot(sizes=True)", lambda: pymemtrack.snapshot(sizes=True)),
        ("pymemtrack.snapshot(sizes=True, deep=True)",
         lambda: pymemtrack.snapshot(sizes=True, deep=True)),
        ("pymemtrack.summarize(deep=True)", lambda: pymemtrack.summarize(deep=True)),
        ("pymemtrack.heap(deep=True)", lambda: pymemtrack.heap(deep=True)),
        ("pymemtrack.heap(deep=True, collect=True)",
         lambda: pymemtrack.heap(deep=True, collect=True)),
    ]
    slow = [
        ("pympler SummaryTracker.diff()", theirs.diff),
        ("guppy hpy().heap()", h.heap),
    ]
    times = interleaved(fast, args.repeat)
    times.update(interleaved(slow, args.slow_repeat))
    med = {name: statistics.median(ts) for name, ts in times.items()}

    print()
    print(f"{'operation':45s} {'median':>10s} {'min':>10s} {'runs':>5s}")
    for name, _ in fast + slow:
        print(f"{name:45s} {med[name] * 1e3:8.1f} ms {min(times[name]) * 1e3:8.1f} ms "
              f"{len(times[name]):5d}")

    collect = med["gc.collect()"]
    p_diff, o_diff = med["pympler SummaryTracker.diff()"], med["pymemtrack SummaryTracker.diff()"]
    g_heap, o_heap = med["guppy hpy().heap()"], med["pymemtrack.heap(deep=True)"]
    counts, sizes = med["pymemtrack.snapshot()  (counts)"], med["pymemtrack.snapshot(sizes=True)"]
    own = max(o_diff - collect, 1e-9)
    print()
    print("ratios (medians)")
    print(f"  SummaryTracker.diff(): pympler / pymemtrack           {p_diff / o_diff:8.1f}x"
          "  (target >= 25x)")
    print(f"  own work beyond gc.collect(): pympler total / ours    {p_diff / own:8.1f}x"
          "  (target >= 100x)")
    print(f"  own work beyond gc.collect(): pympler / ours, both    "
          f"{(p_diff - collect) / own:8.1f}x")
    print(f"  heap(): guppy / pymemtrack heap(deep=True)            {g_heap / o_heap:8.1f}x"
          "  (target >= 8x; guppy collects, heap() by default not)")
    o_heap_c = med["pymemtrack.heap(deep=True, collect=True)"]
    print(f"  heap(): guppy / pymemtrack heap(deep=True, collect=True) {g_heap / o_heap_c:5.1f}x"
          "  (both collect)")
    print(f"  heap() own work beyond gc.collect(): guppy / ours     "
          f"{(g_heap - collect) / max(o_heap_c - collect, 1e-9):8.1f}x")
    print(f"  snapshot(sizes=True) / snapshot()                     {sizes / counts:8.2f}x"
          "  (target <= 2x)")

    ntypes = len(snap)
    held = held_bytes(lambda: pymemtrack.snapshot(sizes=True, deep=True))
    print()
    print(f"memory held by one snapshot(sizes=True, deep=True): {held:,} bytes for "
          f"{ntypes} types ({held / max(ntypes, 1):.0f} bytes per type)")
    del heap


if __name__ == "__main__":
    main()
