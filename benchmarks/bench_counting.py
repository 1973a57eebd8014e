"""Counting at one million GC objects: pymemtrack vs objgraph, side by side in one process.

Run: ``make bench`` or ``python benchmarks/bench_counting.py [--objects N] [--repeat R]``.
Prints the median of R runs of each operation and the ratios. ``growth`` in
both libraries starts with the same ``gc.collect()``, so a bare collection is
timed too and each growth's own work is reported as ``growth - collect``.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time

import objgraph

import pymemtrack


class Record:
    def __init__(self, i: int) -> None:
        self.i = i
        self.tags = [i]


def build_heap(n: int) -> list:
    """About n GC-tracked objects: instances, their lists, dicts and tuples."""
    heap = []
    per = n // 4
    for i in range(per):
        heap.append(Record(i))                 # instance + its tags list
        heap.append({"k": [i]})                # dict + list
    return heap


def interleaved_medians(rows, repeat: int) -> dict:
    """Median seconds per row; each repetition runs every row once, in turn,
    so load from other processes falls on all rows alike."""
    times = {name: [] for name, _ in rows}
    for _ in range(repeat):
        for name, fn in rows:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    heap = build_heap(args.objects)
    gc.collect()
    n = len(gc.get_objects())
    print(f"Python {sys.version.split()[0]}, {n:,} GC objects, median of {args.repeat} runs")

    # Same answer first: the benchmark compares equal work.
    assert pymemtrack.typestats() == objgraph.typestats()

    sink = io.StringIO()
    rows = [
        ("len(gc.get_objects())", lambda: len(gc.get_objects())),
        ("objgraph.typestats()", objgraph.typestats),
        ("pymemtrack.typestats()", pymemtrack.typestats),
        ("pymemtrack.snapshot()", pymemtrack.snapshot),
        ("objgraph.count('Record')", lambda: objgraph.count("Record")),
        ("pymemtrack.count('Record')", lambda: pymemtrack.count("Record")),
        ("gc.collect()", gc.collect),
        ("objgraph.growth()", lambda: objgraph.growth(peak_stats={})),
        ("pymemtrack.growth()", lambda: pymemtrack.growth(peak_stats={})),
        ("objgraph.show_growth()", lambda: objgraph.show_growth(peak_stats={}, file=sink)),
        ("pymemtrack.show_growth()", lambda: pymemtrack.show_growth(peak_stats={}, file=sink)),
    ]
    t = interleaved_medians(rows, args.repeat)
    for name, _ in rows:
        print(f"  {name:<28} {t[name] * 1e3:9.1f} ms")

    floor = t["len(gc.get_objects())"]
    collect = t["gc.collect()"]
    og_own = t["objgraph.growth()"] - collect
    pm_own = t["pymemtrack.growth()"] - collect
    print("ratios (higher is better for pymemtrack):")
    print(f"  typestats: objgraph / pymemtrack      = "
          f"{t['objgraph.typestats()'] / t['pymemtrack.typestats()']:6.1f}x")
    print(f"  typestats: pymemtrack / len(get_objects) = "
          f"{t['pymemtrack.typestats()'] / floor:6.2f} (1.0 = the floor)")
    og_count, pm_count = t["objgraph.count('Record')"], t["pymemtrack.count('Record')"]
    print(f"  count:     objgraph / pymemtrack      = {og_count / pm_count:6.1f}x")
    print(f"  growth:    objgraph / pymemtrack      = "
          f"{t['objgraph.growth()'] / t['pymemtrack.growth()']:6.1f}x (collection included)")
    print(f"  growth own work beyond gc.collect(): objgraph {og_own * 1e3:.1f} ms, "
          f"pymemtrack {pm_own * 1e3:.1f} ms -> {og_own / max(pm_own, 1e-9):.1f}x")
    del heap


if __name__ == "__main__":
    main()
