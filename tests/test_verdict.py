"""Monitor.verdict() on real programs that produce each kind of growth.

Each program runs in its own interpreter (same Python), with the monitor
sampling every 50 ms while it works, and prints the verdict as JSON.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from pymemtrack import _core
from pymemtrack.monitor import _verdict, Sample, TypeRow
from pymemtrack.memory import MemoryUsage

HAVE_MALLINFO2 = _core.memory_stats()[1] is not None
NO_MALLINFO2 = "no glibc >= 2.33 mallinfo2() on this platform: native and allocator look alike"

PRELUDE = """
import ctypes, json, time
import pymemtrack
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
monitor = pymemtrack.start_monitor(interval=0.05, log=False)
"""

EPILOGUE = """
time.sleep(0.2)
monitor.stop()
verdict = monitor.verdict()
out = {"kind": verdict.kind, "explanation": verdict.explanation, "deltas": verdict.deltas,
       "growth": [row.type for row in verdict.growth]}
if verdict.kind == "allocator":
    out["trim"] = pymemtrack.malloc_trim()._asdict()
print(json.dumps(out))
"""

PROGRAMS = {
    # A list that grows: a request log that keeps every request.
    "python-objects": """
class Request:
    def __init__(self, i):
        self.path = "/item/%d" % i
        self.headers = [("accept", "*/*")]
log = []
for i in range(150_000):
    log.append(Request(i))
""",
    # ctypes malloc without free: what a leaking C extension does.
    "native": """
for i in range(2500):
    p = libc.malloc(32768)
    libc.memset(p, 1, 32768)      # touched, so resident
""",
    # Many mid-sized blocks (1-64 KiB, below the mmap threshold), written,
    # then freed except every 16th: the freed chunks stay resident.
    "allocator": """
blocks = []
for i in range(3000):
    size = 1024 * (1 + (i * 37) % 64)
    p = libc.malloc(size)
    libc.memset(p, 1, size)
    blocks.append(p)
kept = blocks[15::16]
for i, p in enumerate(blocks):
    if i % 16 != 15:
        libc.free(p)
del blocks
""",
    # Steady work that keeps nothing.
    "stable": """
for round in range(40):
    batch = [{"id": [i]} for i in range(5000)]
    del batch
""",
}


def _run(kind):
    code = PRELUDE + textwrap.dedent(PROGRAMS[kind]) + EPILOGUE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_growing_list_is_python_objects():
    verdict = _run("python-objects")
    assert verdict["kind"] == "python-objects", verdict["explanation"]
    assert set(verdict["growth"][:2]) == {"__main__.Request", "list"}
    assert "__main__.Request +150,000" in verdict["explanation"]


@pytest.mark.skipif(not HAVE_MALLINFO2, reason=NO_MALLINFO2)
def test_malloc_without_free_is_native():
    verdict = _run("native")
    assert verdict["kind"] == "native", verdict["explanation"]
    assert verdict["deltas"]["malloc_in_use"] >= 2500 * 32768
    assert "memray" in verdict["explanation"]


@pytest.mark.skipif(not HAVE_MALLINFO2, reason=NO_MALLINFO2)
def test_fragmentation_is_allocator_and_malloc_trim_gives_it_back():
    verdict = _run("allocator")
    assert verdict["kind"] == "allocator", verdict["explanation"]
    assert verdict["deltas"]["malloc_free"] > 32 * 1024 * 1024
    assert "malloc_trim" in verdict["explanation"]
    assert "MALLOC_ARENA_MAX" in verdict["explanation"]
    trim = verdict["trim"]
    assert trim["trimmed"] is True
    assert trim["rss_before"] - trim["rss_after"] > 32 * 1024 * 1024


def test_steady_work_is_stable():
    verdict = _run("stable")
    assert verdict["kind"] == "stable", verdict["explanation"]
    assert "Nothing grew" in verdict["explanation"]


MIB = 1024 * 1024


def _sample(index, rss, objects=100_000, **memory):
    fields = dict(rss=rss, python_bytes=None, gc_objects=objects, malloc_in_use=None,
                  malloc_free=None, pymalloc_blocks=None, pymalloc_in_use=None,
                  pymalloc_free=None, pymalloc_arenas=None)
    fields.update(memory)
    return Sample(index, 0.0, float(index), "interval", MemoryUsage(**fields), 0, None, None,
                  (), ())


def test_verdict_without_allocator_figures_says_it_cannot_tell():
    verdict = _verdict(_sample(0, 100 * MIB), _sample(5, 300 * MIB), [], None)
    assert verdict.kind == "native"
    assert "cannot be told apart" in verdict.explanation


def test_verdict_counts_objects_when_no_bytes_are_measured():
    growth = [TypeRow("Session", 50_000, 50_000, None, None)]
    verdict = _verdict(_sample(0, 100 * MIB), _sample(5, 100 * MIB, objects=300_000), growth,
                       None)
    assert verdict.kind == "python-objects"
    assert "Session +50,000" in verdict.explanation


def test_verdict_threshold_and_python_bytes():
    a = _sample(0, 100 * MIB, python_bytes=10 * MIB, malloc_in_use=50 * MIB, malloc_free=MIB)
    b = _sample(3, 103 * MIB, python_bytes=13 * MIB, malloc_in_use=50 * MIB, malloc_free=MIB)
    assert _verdict(a, b, [], None).kind == "stable"            # under the 5 MiB default
    assert _verdict(a, b, [], 2 * MIB).kind == "python-objects"
    assert str(_verdict(a, b, [], 2 * MIB)).startswith("python-objects: ")
