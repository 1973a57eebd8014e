"""Who holds this object: pymemtrack's reference index against objgraph 3.7, in one process.

Three measurements, each on a heap built here (medians of several runs,
time.perf_counter):

1. A backref chain several hundred links long (the cached-exception story)
   on a heap of a few hundred thousand objects: find_backref_chain, ours
   and objgraph's, both with max_depth large enough (target: >= 20x).
2. Building the reverse-reference index over ~1M GC objects, against a
   counts-only snapshot of the same heap (target: at most 3x).
3. show_backrefs(max_depth=6) on a ~1M-object heap. Both tools run
   gc.collect() first: a bare gc.collect() is timed beside the whole calls,
   and each tool's own work is timed with gc.collect() made a no-op right
   after a real collection (target: >= 5x).

Usage: python benchmarks/bench_refs.py [--objects N] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import sys
import time
from typing import Callable, List

import objgraph

import pymemtrack
from pymemtrack import _core

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import leaky_imaging  # noqa: E402  (the cached-exception story, tests/leaky_imaging.py)


class Session:
    def __init__(self, i: int) -> None:
        self.i = i
        self.chunks = [b"x", i]
        self.headers = {"id": i, "chunks": self.chunks}


FILLER: List[object] = []


def build_heap(target: int) -> None:
    """Adds Sessions (an instance, a dict and a list each) until ~target GC objects."""
    gc.collect()
    while len(gc.get_objects()) < target:
        start = len(FILLER)
        FILLER.extend(Session(i) for i in range(start, start + 20_000))
    gc.collect()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def bench_index(repeat: int) -> None:
    n = len(gc.get_objects())
    gc.collect()
    snap = median_ms(_core.Snapshot, repeat)
    index = median_ms(_core.refindex_info, repeat)
    info = _core.refindex_info()
    print(f"2. reference index over {n:,} GC objects ({info['edges']:,} edges)")
    print(f"   counts-only snapshot (pymemtrack.snapshot)  {snap:9.1f} ms")
    print(f"   reverse-reference index build + free        {index:9.1f} ms")
    print(f"   ratio index / snapshot                      {index / snap:9.2f}x   (target <= 3x)")


def bench_chain(repeat: int, raises: int) -> None:
    leaky_imaging.serve_bad_images(raises)
    try:
        req = leaky_imaging.SEEN[0]()
        n = len(gc.get_objects())
        ours_chain = pymemtrack.find_backref_chain(req, pymemtrack.is_proper_module,
                                                   max_depth=10 * raises)
        theirs_chain = objgraph.find_backref_chain(req, objgraph.is_proper_module,
                                                   max_depth=10 * raises)
        assert [id(o) for o in ours_chain] == [id(o) for o in theirs_chain]
        links = len(ours_chain) - 1
        del ours_chain, theirs_chain
        ours = median_ms(lambda: pymemtrack.find_backref_chain(
            req, pymemtrack.is_proper_module, max_depth=10 * raises), repeat)
        theirs = median_ms(lambda: objgraph.find_backref_chain(
            req, objgraph.is_proper_module, max_depth=10 * raises), max(1, repeat // 2))
        collect = median_ms(gc.collect, repeat)
        why = median_ms(lambda: pymemtrack.why_alive(req), repeat)
        default = objgraph.find_backref_chain(req, objgraph.is_proper_module)
        print(f"1. backref chain of {links} links on {n:,} GC objects "
              f"({raises} raises of one cached exception)")
        print(f"   objgraph.find_backref_chain                 {theirs:9.1f} ms")
        print(f"   pymemtrack.find_backref_chain               {ours:9.1f} ms")
        print(f"   ratio objgraph / pymemtrack                 {theirs / ours:9.1f}x   "
              "(target >= 20x)")
        print(f"   (both include a gc.collect() of            {collect:9.1f} ms; without it "
              f"{max(theirs - collect, 0.01) / max(ours - collect, 0.01):.1f}x)")
        print(f"   pymemtrack.why_alive (names every link)     {why:9.1f} ms")
        print(f"   objgraph with its default max_depth=20 finds: "
              f"{'nothing' if len(default) == 1 else 'a chain'}")
        del default
    finally:
        leaky_imaging.reset()


class User:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sessions: List["WebSession"] = []


class WebSession:
    def __init__(self, user: User) -> None:
        self.user = user
        self.requests: List["Request"] = []
        user.sessions.append(self)


class Request:
    def __init__(self, session: WebSession, n: int) -> None:
        self.session = session
        self.path = "/item/%d" % n
        self.callbacks = [self.on_done]
        session.requests.append(self)

    def on_done(self) -> None:
        pass


USERS: dict = {}


def build_web(users: int = 20, sessions: int = 5, requests: int = 20) -> Request:
    """A web of users, their sessions and requests (back-references, bound methods)."""
    for u in range(users):
        user = USERS["user%d" % u] = User("user%d" % u)
        for _ in range(sessions):
            session = WebSession(user)
            for r in range(requests):
                Request(session, r)
    return USERS["user7"].sessions[2].requests[11]


def bench_graph(repeat: int) -> None:
    target = build_web()
    n = len(gc.get_objects())
    kw = {"max_depth": 6, "filter": lambda o: o is not FILLER}

    def ours() -> str:
        out = io.StringIO()
        pymemtrack.show_backrefs([target], output=out, **kw)
        return out.getvalue()

    def theirs() -> str:
        out = io.StringIO()
        objgraph.show_backrefs([target], output=out, **kw)
        return out.getvalue()

    nodes = ours().count('[label="')
    assert nodes == theirs().count('[label="'), "the two graphs differ"
    t_ours = median_ms(ours, repeat)
    t_theirs = median_ms(theirs, max(2, repeat // 2))
    collect = median_ms(gc.collect, repeat)
    # Their own work, measured directly: the same calls right after a
    # collection, with gc.collect() made a no-op for the duration.
    real_collect = gc.collect
    gc.collect()
    gc.collect = lambda *a: 0  # type: ignore[assignment]
    try:
        own_ours = median_ms(ours, repeat)
        own_theirs = median_ms(theirs, max(2, repeat // 2))
    finally:
        gc.collect = real_collect  # type: ignore[assignment]
    print(f"3. show_backrefs(max_depth=6) on {n:,} GC objects, {nodes} nodes "
          "(a request in a web of users, sessions, requests)")
    print(f"   bare gc.collect() (both run one first)      {collect:9.1f} ms")
    print(f"   objgraph.show_backrefs, whole call          {t_theirs:9.1f} ms")
    print(f"   pymemtrack.show_backrefs, whole call        {t_ours:9.1f} ms")
    print(f"   ratio, whole calls                          {t_theirs / t_ours:9.1f}x")
    print(f"   objgraph, own work (collect made a no-op)   {own_theirs:9.1f} ms")
    print(f"   pymemtrack, own work (collect a no-op)      {own_ours:9.1f} ms")
    print(f"   ratio, work beyond gc.collect()             {own_theirs / own_ours:9.1f}x   "
          "(target >= 5x)")
    USERS.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000,
                        help="GC objects for the index and graph runs (default 1000000)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    print(f"Python {sys.version.split()[0]}, objgraph {objgraph.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    build_heap(300_000)
    bench_chain(repeat, raises=250)
    build_heap(args.objects)
    bench_index(repeat)
    bench_graph(repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
