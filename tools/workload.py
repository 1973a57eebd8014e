"""A representative pymemtrack workload, for valgrind and LeakSanitizer runs.

Builds a small heap with the shapes the C core must handle (cycles, many
classes, deep chains, a class with a hostile metaclass, frames, generators),
then calls every public function the tests know how to call (found at run
time, tests/publicapi.py): with good arguments, with a hostile object in
each argument, and with raw allocations failing (the fault injector). Exits
0 when every call behaved (only documented exceptions).

    PYTHONMALLOC=malloc valgrind --tool=memcheck python tools/workload.py
"""

from __future__ import annotations

import gc
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import hostile  # noqa: E402
import publicapi  # noqa: E402
from pymemtrack import _core  # noqa: E402


def build_heap():
    keep = []
    ring = [[] for _ in range(50)]
    for a, b in zip(ring, ring[1:] + ring[:1]):
        a.append(b)
    keep.append(ring)
    keep.append([type(f"Shape{i}", (), {"n": i})() for i in range(300)])
    keep.append(hostile._linked_chain(2000))
    keep.append([factory() for _, factory in hostile.FACTORIES])
    garbage = [[] for _ in range(3)]
    garbage[0].append(garbage[1])
    garbage[1].append(garbage[0])
    return keep


def main() -> int:
    warnings.simplefilter("ignore")
    keep = build_heap()
    api = publicapi.public_api()
    called = failed = 0
    problems = []
    for qualname, entry in api.items():
        if entry.skip_reason or publicapi.uncovered(entry):
            continue
        call = publicapi.safe_call(entry)
        allowed = publicapi.ALLOWED + publicapi.extra_allowed(entry.name)
        try:
            call()
            called += 1
            # every raw allocation of the first few, then a spread, fails once
            _core._fail_after(None)
            call()
            total = _core._fail_after(None)
            for n in sorted(n for n in {1, 2, 3, total // 2, total - 1, total} if 0 < n <= total):
                _core._fail_after(n)
                try:
                    call()
                except MemoryError:
                    failed += 1
                finally:
                    _core._fail_after(None)
            params = [p for p in entry.required + entry.optional if not p.startswith("_")]
            for bad in params:
                args = {p: publicapi._value(entry, p) for p in entry.required}
                args[bad] = hostile.Hostile()
                args.update(publicapi.FIXED_KWARGS.get(entry.name, {}))
                try:
                    entry.func(**args)
                except allowed:
                    pass
        except Exception as exc:  # noqa: BLE001 - reported, the run fails
            problems.append(f"{qualname}: {type(exc).__name__}: {exc}")
    del keep
    gc.collect()
    print(f"workload: {called} functions called, {failed} MemoryError paths taken, "
          f"raw blocks left {_core._raw_blocks()}")
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
