"""memory_usage() and malloc_trim(): real figures read from the OS and the allocators."""

import ctypes
import gc
import json
import os
import subprocess
import sys

import psutil
import pytest

import pymemtrack
from pymemtrack import _core
from pymemtrack.memory import _sizes_available

MIB = 1024 * 1024
HAVE_MALLINFO2 = _core.memory_stats()[1] is not None


def _libc():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    return libc


def test_memory_usage_fields_are_real():
    usage = pymemtrack.memory_usage()
    assert usage._fields == ("rss", "python_bytes", "gc_objects", "malloc_in_use", "malloc_free",
                             "pymalloc_blocks", "pymalloc_in_use", "pymalloc_free",
                             "pymalloc_arenas")
    # the same /proc figure psutil reads, a moment apart
    assert abs(usage.rss - psutil.Process().memory_info().rss) < 16 * MIB
    assert usage.gc_objects > 1000
    if _sizes_available():
        assert usage.python_bytes > 0
    else:
        assert usage.python_bytes is None      # never invented
    if usage.pymalloc_in_use is not None:
        assert 0 < usage.pymalloc_in_use <= usage.pymalloc_arenas
        assert usage.pymalloc_free <= usage.pymalloc_arenas
        assert usage.pymalloc_blocks > 0


@pytest.mark.skipif(not HAVE_MALLINFO2, reason="no glibc >= 2.33 mallinfo2() on this platform")
def test_malloc_in_use_follows_native_allocations():
    libc = _libc()
    before = pymemtrack.memory_usage().malloc_in_use
    blocks = [libc.malloc(MIB) for _ in range(32)]
    try:
        during = pymemtrack.memory_usage().malloc_in_use
        assert during - before >= 32 * MIB
    finally:
        for p in blocks:
            libc.free(p)
    after = pymemtrack.memory_usage().malloc_in_use
    assert during - after >= 32 * MIB


def test_pymalloc_figures_are_none_without_pymalloc():
    code = ("import json, pymemtrack; u = pymemtrack.memory_usage(); "
            "print(json.dumps(u._asdict()))")
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    usage = json.loads(proc.stdout)
    assert usage["pymalloc_blocks"] is None
    assert usage["pymalloc_in_use"] is None and usage["pymalloc_free"] is None
    assert usage["rss"] > 0


def test_pymalloc_in_use_follows_small_objects():
    gc.collect()
    before = pymemtrack.memory_usage()
    if before.pymalloc_in_use is None:
        pytest.skip("pymalloc is not the object allocator in this process (tracemalloc?)")
    held = [[i] for i in range(200_000)]
    after = pymemtrack.memory_usage()
    assert after.pymalloc_in_use - before.pymalloc_in_use > 200_000 * 56
    assert after.gc_objects - before.gc_objects > 195_000    # other garbage may go meanwhile
    del held


@pytest.mark.skipif(not HAVE_MALLINFO2, reason="no glibc >= 2.33 mallinfo2() on this platform")
def test_malloc_trim_returns_freed_memory_to_the_os():
    # Mid-sized blocks below the mmap threshold, written to, then freed except
    # every 16th: the free chunks stay resident until malloc_trim.
    libc = _libc()
    kept = []
    blocks = []
    for i in range(1500):
        size = 1024 * (16 + i % 48)
        p = libc.malloc(size)
        libc.memset(p, 1, size)
        blocks.append(p)
    for i, p in enumerate(blocks):
        if i % 16 == 15:
            kept.append(p)
        else:
            libc.free(p)
    try:
        result = pymemtrack.malloc_trim()
        assert result.trimmed is True
        assert result.rss_dropped > 8 * MIB
        assert result.rss_dropped == result.rss_before - result.rss_after
    finally:
        for p in kept:
            libc.free(p)


def test_trim_result_without_rss():
    assert pymemtrack.TrimResult(None, None, 5).rss_dropped is None
