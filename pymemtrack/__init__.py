"""pymemtrack: find memory leaks inside a running Python process.

A C core walks the garbage collector's objects natively and keeps per-type
counts in native tables; this package exposes it as a drop-in for objgraph's
counting API and as snapshots you can diff.

Example:

    >>> import pymemtrack
    >>> class Leak: pass
    >>> before = pymemtrack.snapshot()
    >>> leak = [Leak() for _ in range(1000)]
    >>> [(r.name, r.count_delta) for r in pymemtrack.snapshot() - before if r.name == 'Leak']
    [('Leak', 1000)]
"""

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "pymemtrack cannot run without its C core, pymemtrack._core, which did not import "
        f"({exc}). There is no pure-Python fallback: build it with 'pip install .' "
        "(it needs a C compiler, the Python headers and uthash: 'apt-get install uthash-dev')."
    ) from exc

from .counting import (
    at,
    at_addrs,
    by_type,
    count,
    get_new_ids,
    growth,
    most_common_types,
    show_growth,
    show_most_common_types,
    typestats,
)
from .memory import MemoryUsage, TrimResult, malloc_trim, memory_usage
from .monitor import Monitor, Sample, Verdict, start_monitor
from .snapshot import Snapshot, SnapshotDiff, TypeDiff, TypeStat, snapshot

__version__ = "0.1.0"

__all__ = [
    "MemoryUsage",
    "Monitor",
    "Sample",
    "TrimResult",
    "Verdict",
    "malloc_trim",
    "memory_usage",
    "start_monitor",
    "Snapshot",
    "SnapshotDiff",
    "TypeDiff",
    "TypeStat",
    "at",
    "at_addrs",
    "by_type",
    "count",
    "get_new_ids",
    "growth",
    "most_common_types",
    "show_growth",
    "show_most_common_types",
    "snapshot",
    "typestats",
]
