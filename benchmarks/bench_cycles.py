"""garbage_cycles() on a heap of ~1M GC objects holding a few thousand garbage cycles.

Side by side in one process, medians of REPS rounds; each round calls every
row once, in turn, so the rows share the machine's state of the moment (its
speed moves by up to 2x within minutes here), and "x snapshot" is the median
over rounds of each call's time over the snapshot's in the same round:
  - pymemtrack.snapshot()            counts only (the yardstick: one native walk)
  - _core._reference_pass()          one walk calling every tp_traverse, each referent only
                                     tested for being a tracked GC object: the least any exact
                                     analysis must do (no table, no counts, no edges)
  - _core.garbage_cycles()           the C analysis and the result lists
  - pymemtrack.garbage_cycles()      the same plus the Cycle objects (each fills its types,
                                     size and finalizers when first asked)
  - ... and every cycle asked        the same, then size, types and finalizers of each cycle
then, against the usual way to see cyclic garbage, DEBUG_SAVEALL + gc.collect()
(it collects: finalizers run, then gc.garbage holds a flat list). A collection
also untracks the tuples and dicts that hold no GC object (half this heap), so
each of its rounds builds the heap afresh and times garbage_cycles() and then
the collection on it. Last, the side memory of the analysis per GC object.

With --churn N, a random half of the records is replaced N times before
timing: the new objects fill the memory the old ones freed, so the collector's
lists (in the order objects were made) no longer run through memory in order,
as in a heap that has lived a while. Without it the heap is laid out in list
order, which favours the walks.

Usage: python benchmarks/bench_cycles.py [--objects N] [--cycles N] [--reps N] [--churn N]
"""

import argparse
import gc
import random
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


def churn(heap, rounds, seed=1):
    """Replaces a random half of the records, rounds times (see --churn)."""
    rng = random.Random(seed)
    for _ in range(rounds):
        for i in rng.sample(range(len(heap)), len(heap) // 2):
            heap[i] = Record(i)


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


def timed(fn):
    """Wall time (perf_counter) and this process's CPU time of one call, in ms.

    The CPU time is less disturbed when other processes share the cores."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3


def rounds(rows, reps):
    """Times of each row over reps rounds, each round calling every row in turn.

    Returns name -> list of (wall ms, cpu ms), one per round."""
    for _, fn in rows:
        fn()                                # warm-up
    times = {name: [] for name, _ in rows}
    for _ in range(reps):
        for name, fn in rows:
            times[name].append(timed(fn))
    return times


def medians(samples):
    """Median wall and CPU ms of samples (wall ms, cpu ms)."""
    return (statistics.median(w for w, _ in samples),
            statistics.median(c for _, c in samples))


def per_round(samples, base, which=0):
    """Each round's time (which: 0 wall, 1 cpu) over base's in the same round."""
    return [s[which] / b[which] for s, b in zip(samples, base)]


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


def prepare(objects, cycles, churn_rounds):
    """The heap (returned: it holds the records) and its garbage cycles."""
    heap = build_heap(objects)
    churn(heap, churn_rounds)
    make_garbage(cycles)
    return heap


def versus_collect(objects, cycles, reps, churn_rounds):
    """garbage_cycles() then DEBUG_SAVEALL + gc.collect(), on a heap built afresh
    for each round (a collection untracks half of it). Returns both rows' samples."""
    ours, usual = [], []
    for _ in range(reps):
        gc.collect()
        heap = prepare(objects, cycles, churn_rounds)
        ours.append(timed(pymemtrack.garbage_cycles))   # its report is dropped at once
        usual.append(timed(saveall_collect))
        del heap
    return ours, usual


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--churn", type=int, default=0, metavar="N",
                        help="replace a random half of the records N times first")
    args = parser.parse_args()
    for name in ("objects", "cycles", "churn"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be >= 0")
    if args.reps < 1:
        parser.error("--reps must be >= 1")

    gc.disable()
    gc.collect()
    heap = prepare(args.objects, args.cycles, args.churn)
    report = pymemtrack.garbage_cycles()
    n_gc = report.gc_objects
    n_garbage, n_cycles, side = report.objects, len(report), report.side_bytes
    del report
    print(f"Python {sys.version.split()[0]}: {n_gc:,} GC objects, {n_cycles:,} garbage cycles "
          f"holding {n_garbage:,} objects ({len(heap):,} records"
          + (f", churned {args.churn} times)" if args.churn else ")"))

    rows = [
        ("pymemtrack.snapshot() (counts only)", lambda: pymemtrack.snapshot()),
        ("_core._reference_pass() (the floor)", _core._reference_pass),
        ("_core.garbage_cycles() (C analysis)", lambda: _core.garbage_cycles()),
        ("pymemtrack.garbage_cycles()", lambda: pymemtrack.garbage_cycles()),
        ("... and every cycle asked", ask_every_cycle),
    ]
    times = rounds(rows, args.reps)
    base = times[rows[0][0]]
    print(f"{'':38} {'wall ms':>9} {'x snapshot':>11} {'cpu ms':>9} {'x snapshot':>11}")
    for name, _ in rows:
        wall, cpu = medians(times[name])
        xwall = statistics.median(per_round(times[name], base, 0))
        xcpu = statistics.median(per_round(times[name], base, 1))
        print(f"{name:38} {wall:9.1f} {xwall:11.2f} {cpu:9.1f} {xcpu:11.2f}")
    public = per_round(times[rows[3][0]], base)
    print(f"pymemtrack.garbage_cycles() over rounds: {min(public):.2f}-{max(public):.2f}x "
          f"the snapshot, {sum(x <= 5 for x in public)} of {len(public)} rounds within 5x")
    floor = per_round(times[rows[2][0]], times[rows[1][0]])
    print(f"the C analysis takes {statistics.median(floor):.2f}x the wall time of the floor")
    print(f"side memory: {side:,} bytes peak = {side / n_gc:.1f} bytes per GC object")

    del heap
    ours, usual = versus_collect(args.objects, args.cycles, args.reps, args.churn)
    (o_wall, o_cpu), (u_wall, u_cpu) = medians(ours), medians(usual)
    ratio = statistics.median(per_round(ours, usual))
    print(f"on a fresh heap per round: pymemtrack.garbage_cycles() {o_wall:.1f} ms, "
          f"DEBUG_SAVEALL + gc.collect() {u_wall:.1f} ms (wall medians; cpu {o_cpu:.1f} and "
          f"{u_cpu:.1f}): {ratio:.2f}x its time, and it collects nothing")
    gc.collect()
    gc.enable()


if __name__ == "__main__":
    main()
