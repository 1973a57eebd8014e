"""garbage_cycles() on a heap of ~1M GC objects holding a few thousand garbage cycles.

Side by side in one process, medians of REPS runs:
  - pymemtrack.snapshot()            counts only (the yardstick: one native walk)
  - _core._reference_pass()          one walk calling every tp_traverse, each referent only
                                     tested for being a tracked GC object: the least any exact
                                     analysis must do (no table, no counts, no edges)
  - _core.garbage_cycles()           the C analysis and the result lists
  - pymemtrack.garbage_cycles()      the same plus the Cycle objects (each fills its types,
                                     size and finalizers when first asked)
  - ... and every cycle asked        the same, then size, types and finalizers of each cycle
  - gc.DEBUG_SAVEALL + gc.collect()  the usual way to see cyclic garbage: it collects
                                     (finalizers run), then gc.garbage holds a flat list
and the side memory of the analysis per GC object.

Usage: python benchmarks/bench_cycles.py [--objects N] [--cycles N] [--reps N]
"""

import argparse
import gc
import statistics
import sys
import time

import pymemtrack
from pymemtrack import _core


class Record:
    def __init__(self, i):
        self.i = i
        self.tags = [i, "tag"]
        self.meta = {"id": i, "pair": (i, str(i))}


class Node:
    pass


class Conn:
    def __del__(self):
        pass


class Handler:
    def __init__(self):
        self.callback = self.run

    def run(self):
        pass


def build_heap(target):
    """Records (each with a list, a dict and a tuple) until ~target GC objects."""
    heap = []
    while len(gc.get_objects()) < target:
        heap.extend(Record(i) for i in range(50_000))
    return heap


def make_garbage(cycles):
    """cycles garbage cycles of three shapes, with tails; returns how many objects."""
    for i in range(cycles):
        kind = i % 3
        if kind == 0:                       # a pair of nodes holding a small tree
            a, b = Node(), Node()
            a.peer, b.peer = b, a
            a.rows = [[i], [i + 1]]
        elif kind == 1:                     # a connection with __del__ in a cycle
            c = Conn()
            c.me = c
            c.buf = [bytearray(64)]
        else:                               # a bound method kept by its own object
            Handler()


def median_ms(fn, reps):
    """Medians of wall time (perf_counter) and of this process's CPU time, in ms.

    The CPU time is less disturbed when other processes share the cores."""
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3


def ask_every_cycle():
    """What a report that is printed or summed pays on top: each cycle's lazy parts."""
    for cycle in pymemtrack.garbage_cycles():
        _ = cycle.size, cycle.types, cycle.finalizers, cycle.uncollectable


def saveall_collect():
    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = len(gc.garbage)
    finally:
        gc.set_debug(flags)
    del gc.garbage[:]                       # garbage again (cycles), for the next rep
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()

    gc.disable()
    gc.collect()
    heap = build_heap(args.objects)
    make_garbage(args.cycles)
    report = pymemtrack.garbage_cycles()
    n_gc = report.gc_objects
    n_garbage, n_cycles, side = report.objects, len(report), report.side_bytes
    del report
    print(f"Python {sys.version.split()[0]}: {n_gc:,} GC objects, {n_cycles:,} garbage cycles "
          f"holding {n_garbage:,} objects ({len(heap):,} records)")

    rows = [
        ("pymemtrack.snapshot() (counts only)", lambda: pymemtrack.snapshot()),
        ("_core._reference_pass() (the floor)", _core._reference_pass),
        ("_core.garbage_cycles() (C analysis)", lambda: _core.garbage_cycles()),
        ("pymemtrack.garbage_cycles()", lambda: pymemtrack.garbage_cycles()),
        ("... and every cycle asked", ask_every_cycle),
        ("DEBUG_SAVEALL + gc.collect()", saveall_collect),
    ]
    results = {}
    for name, fn in rows:
        fn()                                # warm-up
        results[name] = median_ms(fn, args.reps)
    base_wall, base_cpu = results[rows[0][0]]
    print(f"{'':38} {'wall ms':>9} {'x snapshot':>11} {'cpu ms':>9} {'x snapshot':>11}")
    for name, _ in rows:
        wall, cpu = results[name]
        print(f"{name:38} {wall:9.1f} {wall / base_wall:11.2f} {cpu:9.1f} {cpu / base_cpu:11.2f}")
    ours, usual = results[rows[3][0]], results[rows[-1][0]]
    print(f"garbage_cycles() vs DEBUG_SAVEALL + gc.collect(): {ours[0] / usual[0]:.2f}x the "
          f"wall time, {ours[1] / usual[1]:.2f}x the CPU time, and it collects nothing")
    floor, analysis = results[rows[1][0]], results[rows[2][0]]
    print(f"the C analysis takes {analysis[0] / floor[0]:.2f}x the wall time of the floor")
    print(f"side memory: {side:,} bytes peak = {side / n_gc:.1f} bytes per GC object")
    gc.collect()
    gc.enable()


if __name__ == "__main__":
    main()
