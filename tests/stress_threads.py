"""Run pymemtrack's walkers while other threads churn the heap.

Used by tests/test_threads.py, one subprocess per run (a crash or a hang
must not take the test session with it); also runnable by hand:

    python tests/stress_threads.py --walkers typestats,snapshot --iterations 5000

Churn threads allocate and free objects, build and drop cycles, mutate a
shared dict and list, create and drop classes (some with metaclasses, some
with weakref callbacks) and collect. Meanwhile the main thread and a second
walker thread call the walkers (switch interval 10 us, and a filter that
yields the GIL in the middle of a walk). Then the churn stops and the counts
are checked exactly against gc.get_objects(). faulthandler turns a hang into
a traceback of every thread and exit status 1.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import gc
import inspect
import os
import random
import sys
import threading
import time
import weakref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import publicapi  # noqa: E402
import pymemtrack  # noqa: E402
from pymemtrack import _core  # noqa: E402


class Churned:
    pass


class Marker:
    pass


class Target:
    pass


TARGET = Target()
ROOT = [{"target": TARGET}]          # TARGET is alive because of ROOT (a known chain)
SHARED_LIST = []                     # mutated by the churn while walkers iterate it

# --- the walkers -------------------------------------------------------------------


def _yielding_filter():
    seen = [0]

    def keep(obj):
        seen[0] += 1
        if seen[0] % 500 == 0:
            time.sleep(0)            # let the churn run in the middle of the walk
        return True

    return keep


def _accepts(func, *names):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return all(n in params for n in names)


def _check_chain(chain):
    if chain is not None and len(chain) > 0:
        assert chain[0] is ROOT and chain[-1] is TARGET, "wrong back-reference chain"


def _cycles_probe(garbage_cycles):
    def run():
        report = garbage_cycles()
        len(report)
    return run


def walkers():
    """name -> zero-argument call, for the walkers this build has. Cheap
    ones get many iterations; those that collect or index the heap fewer."""
    w = {
        "typestats": (lambda: _core.typestats(), 1.0),
        "typestats_filter": (lambda: _core.typestats(filter=_yielding_filter()), 0.005),
        "typestats_shared": (lambda: _core.typestats(SHARED_LIST, filter=_yielding_filter()), 0.2),
        "count": (lambda: _core.count("Churned"), 1.0),
        "by_type": (lambda: _core.by_type("Marker"), 1.0),
        "at_addrs": (lambda: _core.at_addrs({id(TARGET), id(ROOT)}), 1.0),
        "snapshot": (lambda: pymemtrack.snapshot().counts(), 1.0),
        "IdMap": (lambda: _core.IdMap().diff(None), 0.3),
        "get_new_ids": (lambda: pymemtrack.get_new_ids(limit=0), 0.1),
        "growth": (lambda: pymemtrack.growth(peak_stats={}), 0.1),
    }
    if _accepts(pymemtrack.snapshot, "sizes", "deep"):
        w["snapshot_sizes_deep"] = (lambda: pymemtrack.snapshot(sizes=True, deep=True), 0.3)
    found = {name: publicapi.find(name) for name in EXPECTED_FUNCTIONS}
    if found["why_alive"]:
        why = found["why_alive"].func
        w["why_alive"] = (lambda: str(why(TARGET)), 0.1)
    if found["find_backref_chain"]:
        chain = found["find_backref_chain"].func
        w["find_backref_chain"] = (
            lambda: _check_chain(chain(TARGET, lambda o: o is ROOT, max_depth=10)), 0.1)
    if found["garbage_cycles"]:
        w["garbage_cycles"] = (_cycles_probe(found["garbage_cycles"].func), 0.1)
    for name in ("summarize", "heap"):
        if found.get(name):
            fn = found[name].func
            w[name] = ((lambda fn=fn: fn(collect=False)) if _accepts(fn, "collect") else fn, 0.1)
    return w


# Functions the issues promise; test_threads.py lists the ones missing here.
EXPECTED_FUNCTIONS = {
    "why_alive": "issue 4 (reverse index)",
    "find_backref_chain": "issue 4 (reverse index)",
    "garbage_cycles": "issue 5 (cycles)",
    "summarize": "issue 3 (sizes)",
    "heap": "issue 3 (heap partition)",
    "start_monitor": "issue 7 (monitor)",
}
EXPECTED_SIGNATURES = {"snapshot(sizes=True, deep=True)": "issue 3 (sizes, deep walk)"}


def missing_expected():
    missing = [f"{name} ({why})" for name, why in EXPECTED_FUNCTIONS.items()
               if publicapi.find(name) is None]
    if not _accepts(pymemtrack.snapshot, "sizes", "deep"):
        missing += [f"{sig} ({why})" for sig, why in EXPECTED_SIGNATURES.items()]
    return missing


# --- the churn -----------------------------------------------------------------------


class Meta(type):
    pass


# Young objects allowed before the churn waits for the collector: cyclic
# garbage is freed only by collections, which walks (collection disabled)
# and a finalizer sleeping inside a collection hold off; on a loaded machine
# unthrottled churn outran them to tens of GB.
BACKLOG = 20000


def pause():
    """Churn threads work in short bursts, so the walkers get the GIL often
    enough to finish in bounded time; every burst still lands between, and
    (through finalizers and filters) inside, the walkers' calls. A burst
    waits (up to a second) while the collector is behind."""
    time.sleep(0.0002)
    for _ in range(1000):
        if gc.get_count()[0] < BACKLOG:
            break
        time.sleep(0.001)


def churn_objects(stop, seed):
    rng = random.Random(seed)
    live = []
    while not stop.is_set():
        for _ in range(50):
            a = Churned()
            a.me = a                               # a cycle
            a.payload = [rng.random(), {"k": [a]}]
            live.append(a)
        while len(live) > 2000:
            live.pop(rng.randrange(len(live)))
        if rng.random() < 0.05:
            live.clear()
        pause()


def churn_containers(stop, shared_dict, shared_list, seed):
    rng = random.Random(seed)
    i = 0
    while not stop.is_set():
        i += 1
        shared_dict[i] = [i, (i,), {"x": i}]
        shared_list.append({"i": i})
        if len(shared_dict) > 3000:
            for k in list(shared_dict)[:1500]:
                del shared_dict[k]
        if len(shared_list) > 3000:
            del shared_list[: rng.randrange(1, 3000)]
        if i % 1000 == 0:
            shared_dict.clear()                    # shrink and regrow the table
        if i % 20 == 0:
            pause()


def churn_classes(stop, seed):
    rng = random.Random(seed)
    i = 0
    dropped = []
    while not stop.is_set():
        i += 1
        meta = Meta if i % 3 == 0 else type
        body = {"n": i, "__slots__": ("a",)} if i % 5 == 0 else {"n": i}
        cls = meta(f"Dyn{i % 50}", (Churned,), body)
        objs = [cls() for _ in range(rng.randrange(1, 8))]
        refs = [weakref.ref(o, dropped.append) for o in objs if i % 2]
        del objs, cls, refs
        if len(dropped) > 100:
            dropped.clear()
        pause()


class Finalizing:
    """Freed by the collector (it is in a cycle), at whatever allocation
    triggers it, even inside a pymemtrack call; its __del__ releases the GIL
    and mutates the heap."""

    def __init__(self, sink):
        self.me = self
        self.sink = sink

    def __del__(self):
        self.sink.append([self.sink])
        time.sleep(0)
        del self.sink[:-50]


def churn_finalizers(stop, seed):
    sink = []
    while not stop.is_set():
        for _ in range(20):
            Finalizing(sink)
        pause()


def churn_gc(stop, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        gc.collect(rng.randrange(3))
        time.sleep(0.002)


# --- checks once the churn stops -------------------------------------------------------


def check_counts(sabotage=False):
    """The walk's counts equal gc.get_objects()'s, exactly; so do a snapshot's."""
    gc.collect()
    gc.disable()
    try:
        objs = gc.get_objects()
        stats = _core.typestats()                  # a C call: no frame, no new object
        snap = _core.Snapshot()                    # not a GC object; stats is untracked
        expected = collections.Counter(type(o).__name__ for o in objs)
        expected["list"] += 1                      # objs itself, seen by the walk
        if sabotage:
            expected["Marker"] += 1
        diff = {k: (stats.get(k, 0), expected.get(k, 0)) for k in set(stats) | set(expected)
                if stats.get(k, 0) != expected.get(k, 0)}
        assert not diff, f"typestats() != gc.get_objects() after the churn: {diff}"
        assert snap.counts() == stats, "Snapshot().counts() != typestats() after the churn"
        del objs
    finally:
        gc.enable()
    markers = [Marker() for _ in range(123)]
    ids = {id(m) for m in markers}
    assert _core.count("Marker") == 123
    assert len(_core.by_type("Marker")) == 123
    assert sorted(map(id, _core.at_addrs(ids))) == sorted(ids)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--walkers", default="all")
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--monitor", action="store_true")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--sabotage", choices=["counts", "deadlock"], default=None)
    opts = ap.parse_args(argv)

    faulthandler.dump_traceback_later(opts.timeout, exit=True)
    sys.setswitchinterval(5e-5)
    available = walkers()
    names = list(available) if opts.walkers == "all" else opts.walkers.split(",")
    calls = [(n, available[n][0], max(1, int(opts.iterations * available[n][1]))) for n in names]

    stop = threading.Event()
    shared_dict, shared_list = {}, SHARED_LIST
    threads = [
        threading.Thread(target=churn_objects, args=(stop, 1), name="churn-objects"),
        threading.Thread(target=churn_objects, args=(stop, 2), name="churn-objects-2"),
        threading.Thread(target=churn_containers, args=(stop, shared_dict, shared_list, 3),
                         name="churn-containers"),
        threading.Thread(target=churn_classes, args=(stop, 4), name="churn-classes"),
        threading.Thread(target=churn_gc, args=(stop, 5), name="churn-gc"),
        threading.Thread(target=churn_finalizers, args=(stop, 6), name="churn-finalizers"),
    ]
    for t in threads:
        t.start()

    monitor = None
    if opts.monitor:
        start_monitor = publicapi.find("start_monitor")
        if start_monitor is not None:
            monitor = start_monitor.func(interval=0.005, log=False)

    lock = threading.Lock()
    errors = []

    def walk_all(share):
        try:
            for name, call, n in calls:
                for _ in range(max(1, int(n * share))):
                    call()
                    if opts.sabotage == "deadlock":
                        lock.acquire()             # the second acquire never returns
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append((threading.current_thread().name, repr(exc)))
            raise

    second = threading.Thread(target=walk_all, args=(0.5,), name="walker-2")
    second.start()
    walk_all(0.5)
    second.join()
    stop.set()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), f"{t.name} did not stop"
    if monitor is not None:
        monitor.stop()
        errors.extend(("monitor", "error") for _ in range(getattr(monitor, "errors", 0)))
    assert not errors, errors
    check_counts(sabotage=opts.sabotage == "counts")
    faulthandler.cancel_dump_traceback_later()
    done = ", ".join(f"{n} x{k}" for n, _, k in calls)
    print(f"ok: {done}; monitor={'yes' if monitor else 'no'}")


if __name__ == "__main__":
    main()
