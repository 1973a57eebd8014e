"""Process memory as the OS, the C allocator and pymalloc see it.

:func:`memory_usage` puts the resident set size next to the bytes of the
Python objects and the allocators' own figures, so growing memory can be
told apart: Python objects, native allocations (a C extension, ctypes), or
memory the allocator keeps but does not use (fragmentation). Every figure is
read, never estimated: what the platform cannot give is None.

Example:

    >>> usage = memory_usage()
    >>> usage.rss > 0 and usage.gc_objects > 0
    True
    >>> trim = malloc_trim()
    >>> trim.rss_dropped == trim.rss_before - trim.rss_after
    True
"""

from __future__ import annotations

import sys
from typing import NamedTuple, Optional, Tuple

from . import _core
from .snapshot import Snapshot, snapshot

__all__ = ["MemoryUsage", "TrimResult", "malloc_trim", "memory_usage"]

#: Set on the first sized snapshot: whether ``snapshot(sizes=True)`` exists.
_sizes_supported: Optional[bool] = None


class MemoryUsage(NamedTuple):
    """Process memory at one moment, in bytes; None where the platform cannot say.

    ``rss``: resident set size (``/proc/self/statm``, else psutil).
    ``python_bytes``: sum of ``sys.getsizeof`` of the objects the walk saw
    (None when this build does not measure sizes). ``gc_objects``: objects
    the garbage collector tracks. ``malloc_in_use`` / ``malloc_free``: bytes
    glibc's malloc has handed out / holds free in its arenas (``mallinfo2``,
    glibc >= 2.33). ``pymalloc_blocks``: blocks pymalloc has handed out
    (``sys.getallocatedblocks()``); ``pymalloc_in_use`` / ``pymalloc_free`` /
    ``pymalloc_arenas``: bytes in its used blocks / free blocks and pools /
    arenas (None when pymalloc is not the object allocator, e.g. under
    ``PYTHONMALLOC=malloc`` or while tracemalloc traces).
    """

    rss: Optional[int]
    python_bytes: Optional[int]
    gc_objects: int
    malloc_in_use: Optional[int]
    malloc_free: Optional[int]
    pymalloc_blocks: Optional[int]
    pymalloc_in_use: Optional[int]
    pymalloc_free: Optional[int]
    pymalloc_arenas: Optional[int]


class TrimResult(NamedTuple):
    """What :func:`malloc_trim` did: ``trimmed`` is glibc's answer (True: it
    returned memory to the OS; None: no glibc), RSS in bytes around the call."""

    trimmed: Optional[bool]
    rss_before: Optional[int]
    rss_after: Optional[int]

    @property
    def rss_dropped(self) -> Optional[int]:
        """Bytes RSS went down by (negative if it went up), None if RSS is unknown."""
        if self.rss_before is None or self.rss_after is None:
            return None
        return self.rss_before - self.rss_after


def memory_usage(deep: bool = False) -> MemoryUsage:
    """Measure the process's memory now: one native heap walk plus allocator figures.

    ``deep`` asks the walk to add the sizes of objects the GC does not track
    (strings, bytes, numbers held by containers), where sizes are measured.

    Example:

        >>> usage = memory_usage()
        >>> usage.rss is None or usage.rss > 1_000_000
        True
        >>> sorted(usage._fields)[:3]
        ['gc_objects', 'malloc_free', 'malloc_in_use']
    """
    snap, sized = _take_snapshot(deep)
    return _usage_from(snap, sized)


def malloc_trim() -> TrimResult:
    """Ask glibc to return free memory to the OS (``malloc_trim(0)``) and report RSS around it.

    After a burst of allocations is freed, glibc keeps the free memory in its
    arenas; trimming releases the whole free pages. It does not move live
    blocks, so fragmented memory is released only where whole pages are free.

    Example:

        >>> blocks = [bytearray(100_000) for _ in range(50)]
        >>> del blocks
        >>> result = malloc_trim()
        >>> result.trimmed in (True, False, None)
        True
    """
    before = _rss()
    trimmed = _core.malloc_trim()
    return TrimResult(trimmed, before, _rss())


# --- helpers -------------------------------------------------------------------


def _take_snapshot(deep: bool = False) -> Tuple[Snapshot, bool]:
    """A snapshot with object sizes where this build measures them: (snapshot, sized).

    The one place that knows the sizes contract, ``snapshot(sizes=True,
    deep=...)``. Builds without it give a count-only snapshot (sized False),
    and a deep walk, which needs sizes, is refused.
    """
    global _sizes_supported
    if _sizes_supported is not False:
        try:
            snap = snapshot(sizes=True, deep=deep)  # type: ignore[call-arg]
        except TypeError:
            if _sizes_supported:
                raise
            _sizes_supported = False
        else:
            _sizes_supported = True
            return snap, True
    if deep:
        raise ValueError("deep=True needs object sizes, which this pymemtrack build "
                         "does not measure")
    return snapshot(), False


def _sizes_available() -> bool:
    """Whether snapshots measure sizes here (probes once)."""
    if _sizes_supported is None:
        _take_snapshot(False)
    return bool(_sizes_supported)


def _rss() -> Optional[int]:
    rss = _core.memory_stats()[0]
    if rss is None:  # pragma: no cover - Linux always has /proc/self/statm
        try:
            import psutil
        except ImportError:
            return None
        rss = psutil.Process().memory_info().rss
    return rss


def _usage_from(snap: Snapshot, sized: bool) -> MemoryUsage:
    """MemoryUsage for a snapshot just taken (its walk gives the object figures)."""
    rss, m_used, m_free, p_used, p_free, p_arenas = _core.memory_stats()
    if rss is None:  # pragma: no cover - Linux always has /proc/self/statm
        rss = _rss()
    blocks = sys.getallocatedblocks() if p_used is not None else None
    return MemoryUsage(
        rss=rss,
        python_bytes=snap.total_size if sized else None,
        gc_objects=snap.total_count,
        malloc_in_use=m_used,
        malloc_free=m_free,
        pymalloc_blocks=blocks,
        pymalloc_in_use=p_used,
        pymalloc_free=p_free,
        pymalloc_arenas=p_arenas,
    )
