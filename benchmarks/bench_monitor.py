"""Cost of pymemtrack's monitor at about one million objects.

Run: python benchmarks/bench_monitor.py  (PYMEMTRACK_BENCH_SECONDS=30 sets the
length of the CPU-time windows; the default 30 s gives 3 samples at 10 s.)

Prints, in one process, on the same heap:
1. the time of one monitor sample (snapshot + allocator figures + diff +
   outputs) next to what teams log today with objgraph (most_common_types
   and growth, which collects) and next to gc.collect() alone;
2. the process CPU time over a window with the monitor at a 10 s interval
   and without it (main thread idle), as a share of one core, and the
   per-sample CPU time divided by the interval;
3. the longest stall a busy main thread sees while the monitor samples
   every 0.5 s (the GIL is held for one snapshot at a time).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import threading
import time

import pymemtrack
from pymemtrack import _core
from pymemtrack.memory import _take_snapshot

try:
    import objgraph
except ImportError:  # pragma: no cover - in the [bench] extra
    objgraph = None

REPEAT = 7
WINDOW = float(os.environ.get("PYMEMTRACK_BENCH_SECONDS", "30"))
INTERVAL = 10.0


class Item:
    def __init__(self, i):
        self.i = i


def build_heap(n=1_000_000):
    """About n GC objects of a few types: lists, dicts, instances."""
    third = n // 3
    return ([[i] for i in range(third)], [{"k": [i]} for i in range(third // 2)],
            [Item(i) for i in range(third)])


def median_time(fn, repeat=REPEAT):
    wall, cpu = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def cpu_over_window(seconds, monitor_kwargs=None):
    """Process CPU seconds spent while the main thread sleeps for `seconds`."""
    monitor = None
    c0 = time.process_time()
    if monitor_kwargs is not None:
        monitor = pymemtrack.start_monitor(**monitor_kwargs)
    time.sleep(seconds)
    if monitor is not None:
        monitor.stop(final=False)
    return time.process_time() - c0, monitor


def longest_stall(seconds, interval):
    """Longest gap between iterations of a busy main-thread loop, with and without the monitor."""
    out = []
    for with_monitor in (False, True):
        m = pymemtrack.start_monitor(interval=interval, log=False) if with_monitor else None
        worst, end = 0.0, time.perf_counter() + seconds
        last = time.perf_counter()
        while last < end:
            sum(range(200))
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now
        samples = 0
        if m is not None:
            m.stop(final=False)
            samples = len(m.samples)
        out.append((worst, samples))
    return out


def main():
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores (shared: timings are noisy)")
    heap = build_heap()
    gc.collect()
    usage = pymemtrack.memory_usage()
    print(f"heap: {usage.gc_objects:,} GC objects, RSS {usage.rss / 2**20:.0f} MiB")

    folder = tempfile.mkdtemp()
    sampler = pymemtrack.Monitor(interval=INTERVAL, log=False,
                                 csv=os.path.join(folder, "m.csv"),
                                 jsonl=os.path.join(folder, "m.jsonl"))
    sampler._open_outputs()
    sampler._start_time = time.monotonic()
    sampler._sample("start")

    rows = [("pymemtrack snapshot alone", lambda: _take_snapshot(False)),
            ("pymemtrack monitor sample (snapshot+figures+diff+csv+jsonl)",
             lambda: sampler._sample("interval")),
            ("pymemtrack.memory_usage()", pymemtrack.memory_usage),
            ("allocator figures alone (RSS, mallinfo2, pymalloc stats)", _core.memory_stats)]
    if objgraph is not None:
        peaks: dict = {}
        objgraph.growth(limit=10, peak_stats=peaks)
        rows += [("objgraph.most_common_types(limit=10)",
                  lambda: objgraph.most_common_types(limit=10)),
                 ("objgraph.growth(limit=10) (collects)",
                  lambda: objgraph.growth(limit=10, peak_stats=peaks))]
    rows.append(("gc.collect()", gc.collect))
    print(f"\n1. one sample at this heap, median of {REPEAT} (wall, process CPU):")
    results = {}
    for name, fn in rows:
        wall, cpu = median_time(fn)
        results[name] = wall
        print(f"   {name:<62} {wall * 1e3:9.1f} ms {cpu * 1e3:9.1f} ms CPU")
    sample_wall = results["pymemtrack monitor sample (snapshot+figures+diff+csv+jsonl)"]
    if objgraph is not None:
        both = (results["objgraph.most_common_types(limit=10)"]
                + results["objgraph.growth(limit=10) (collects)"])
        print(f"   objgraph most_common_types+growth / monitor sample: {both / sample_wall:.1f}x")
    print(f"   gc.collect() / monitor sample: {results['gc.collect()'] / sample_wall:.1f}x")
    sampler._close()

    print(f"\n2. process CPU over {WINDOW:.0f} s, main thread idle (interval {INTERVAL:g} s):")
    idle, _ = cpu_over_window(WINDOW)
    busy, m = cpu_over_window(WINDOW, dict(interval=INTERVAL, log=False))
    taken = len(m.samples)
    extra = busy - idle
    print(f"   without monitor: {idle:.3f} s CPU; with monitor: {busy:.3f} s CPU "
          f"({taken} samples incl. baseline)")
    print(f"   monitor: {extra:.3f} s CPU / {WINDOW:.0f} s = {100 * extra / WINDOW:.2f}% of one core")
    per_sample = extra / taken if taken else float("nan")
    print(f"   per sample {per_sample * 1e3:.1f} ms CPU -> at a {INTERVAL:g} s interval "
          f"{100 * per_sample / INTERVAL:.2f}% of one core in steady state")

    print("\n3. longest main-thread stall over 5 s, busy loop, monitor every 0.5 s:")
    (alone, _), (monitored, n) = longest_stall(5.0, 0.5)
    print(f"   without monitor {alone * 1e3:.1f} ms; with monitor {monitored * 1e3:.1f} ms "
          f"({n} samples)")
    del heap


if __name__ == "__main__":
    main()
