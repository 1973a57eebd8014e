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
from .partition import Partition, PartitionRow, clear_reference, heap, set_reference
from .cycles import (
    Cycle,
    CycleReport,
    Finalizer,
    collected_cycles,
    explain_garbage,
    garbage_cycles,
    show_cycle,
)
from .leakcheck import LeakChecker, LeakError, assert_no_leaks, find_leaks
from .memory import MemoryUsage, TrimResult, malloc_trim, memory_usage
from .monitor import Monitor, Sample, Verdict, start_monitor
from .snapshot import Snapshot, SnapshotDiff, TypeDiff, TypeStat, snapshot
from .summary import SummaryTracker, summarize
from .refs import find_backref_chain, find_ref_chain, get_leaking_objects, is_proper_module
from .graphs import show_backrefs, show_chain, show_refs
from .why import (
    Culprit,
    Link,
    RetentionPath,
    WhyAlive,
    growth_culprits,
    mark_objects,
    show_growth_culprits,
    why_alive,
)

__version__ = "0.1.0"

__all__ = [
    "Partition",
    "PartitionRow",
    "Culprit",
    "Link",
    "RetentionPath",
    "WhyAlive",
    "find_backref_chain",
    "find_ref_chain",
    "get_leaking_objects",
    "growth_culprits",
    "is_proper_module",
    "mark_objects",
    "show_backrefs",
    "show_chain",
    "show_growth_culprits",
    "show_refs",
    "why_alive",
    "Cycle",
    "CycleReport",
    "Finalizer",
    "collected_cycles",
    "explain_garbage",
    "garbage_cycles",
    "show_cycle",
    "LeakChecker",
    "LeakError",
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
    "SummaryTracker",
    "TypeDiff",
    "TypeStat",
    "at",
    "assert_no_leaks",
    "at_addrs",
    "by_type",
    "clear_reference",
    "count",
    "find_leaks",
    "get_new_ids",
    "growth",
    "heap",
    "most_common_types",
    "set_reference",
    "show_growth",
    "show_most_common_types",
    "snapshot",
    "summarize",
    "typestats",
]
