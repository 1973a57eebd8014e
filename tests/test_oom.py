"""Out of memory anywhere in a sized or deep walk: MemoryError, no crash, nothing broken after.

CPython's _testcapi.set_nomemory(start, stop) makes allocations number
start..stop-1 fail (stop=0: all from start on), in every domain: our raw
tables, the objects we build, CPython's own. The script makes each
allocation of each entry point fail in turn, in a subprocess so that a crash
fails the test instead of killing the run.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import _testcapi, gc, warnings
    import pymemtrack
    from pymemtrack import _core

    class Sized:
        def __sizeof__(self):
            return 64

    keep = [[{"k": [i]}, "s%d" % i, float(i), Sized()] for i in range(2000)]
    for obj in keep[:100]:
        obj[3].__dict__
    REF = _core.HeapReference()
    calls = {
        "type_sizes": lambda: _core.type_sizes(deep=True, owners=True),
        "snapshot": lambda: _core.Snapshot(sizes=True, deep=True),
        "heapref": lambda: _core.HeapReference(deep=True),
        "relative": lambda: _core.type_sizes(deep=True, reference=REF, owners=True),
        "getsizeof": lambda: _core.getsizeof(keep[0][3]),
        "from_rows": lambda: _core.Partition._from_rows([(None, "a", 1, 2)] * 50, keyed=False),
        "summarize": lambda: pymemtrack.summarize(deep=True, collect=False),
    }

    def attempt(fn, start, stop):
        gc.collect()
        _testcapi.set_nomemory(start, stop)
        try:
            fn()
        except MemoryError:
            return False
        finally:
            _testcapi.remove_mem_hooks()
        return True

    warnings.simplefilter("error")      # no __sizeof__ may be taken for broken
    for name, fn in calls.items():
        fn()
        failed = k = streak = 0
        while streak < 5 and k < 5000:  # the k-th allocation fails
            if attempt(fn, k, k + 1):
                streak += 1
            else:
                failed += 1
                streak = 0
            k += 1 if k < 200 else 17
        for start in range(0, k, max(1, k // 40)):   # every allocation from start on
            attempt(fn, start, 0)
        assert fn() is not None or name == "snapshot"
        print(name, "allocations tried:", k, "MemoryErrors:", failed)
        assert failed > 0, name
    assert pymemtrack.heap().count > 0
    print("usable")
''')


def test_out_of_memory_raises_memoryerror_and_leaves_the_process_usable():
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=1800, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.splitlines()[-1] == "usable"
