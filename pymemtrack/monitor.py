"""Periodic growth logging for services, and a verdict on what is growing.

:func:`start_monitor` starts a daemon thread that takes a native snapshot
every ``interval`` seconds and emits the growth since the previous one (top
types with counts, bytes and deltas) plus process memory, to any mix of the
:mod:`logging` module (logger ``pymemtrack``), a CSV file, a JSON-lines file
and Prometheus gauges. :meth:`Monitor.verdict` reads the trend and says
whether Python objects, native allocations or the allocator (fragmentation)
account for the growth.

The monitor keeps its samples as JSON strings, which the garbage collector
does not track, so its own bookkeeping never shows up in the growth it
reports.

Example:

    >>> import pymemtrack
    >>> with pymemtrack.start_monitor(interval=3600, log=False) as monitor:
    ...     grown = [[i] for i in range(20_000)]
    >>> [s.reason for s in monitor.samples]
    ['start', 'stop']
    >>> last = monitor.samples[-1]
    >>> last.growth[0].type, last.growth[0].count_delta >= 20_000
    ('list', True)
    >>> monitor.verdict().kind in ('python-objects', 'stable')
    True
"""

from __future__ import annotations

import atexit
import collections
import csv
import datetime
import gc
import json
import logging
import math
import os
import select
import signal as _signal
import threading
import time
from typing import IO, Any, Deque, Dict, List, NamedTuple, Optional, Set, Tuple, Union

from .memory import MemoryUsage, _sizes_available, _take_snapshot, _usage_from
from .snapshot import Snapshot

__all__ = ["Monitor", "Sample", "TypeRow", "Verdict", "start_monitor"]

logger = logging.getLogger("pymemtrack")

#: Columns of the CSV output, one row per sample and type.
CSV_FIELDS = ("time", "elapsed", "sample", "type", "count", "count_delta", "bytes",
              "bytes_delta", "rss")

VERDICT_KINDS = ("python-objects", "allocator", "native", "stable")

_MIB = 1024 * 1024


class TypeRow(NamedTuple):
    """One type in a sample: objects now, bytes now (None when sizes are not
    measured), and the change since the previous sample."""

    type: str
    count: int
    count_delta: int
    bytes: Optional[int]
    bytes_delta: Optional[int]


class Sample(NamedTuple):
    """One measurement of the monitor.

    ``reason`` is 'start' (the baseline), 'interval', 'signal' (an on-demand
    dump) or 'stop' (the final sample). ``growth``: the types whose count
    grew most since the previous sample, at most ``top``. ``top``: the types
    with the most objects now, with their deltas.
    """

    index: int
    time: float
    elapsed: float
    reason: str
    memory: MemoryUsage
    objects_delta: int
    python_bytes_delta: Optional[int]
    rss_delta: Optional[int]
    growth: Tuple[TypeRow, ...]
    top: Tuple[TypeRow, ...]

    def format(self) -> str:
        """The one-line summary the monitor logs."""
        mem = self.memory
        parts = [f"sample {self.index} ({self.reason}, +{self.elapsed:.1f}s):",
                 f"{mem.gc_objects:,} objects ({self.objects_delta:+,})"]
        if mem.python_bytes is not None:
            parts.append(f"python {_mib(mem.python_bytes)} ({_mib(self.python_bytes_delta, True)})")
        if mem.rss is not None:
            parts.append(f"rss {_mib(mem.rss)} ({_mib(self.rss_delta, True)})")
        line = " ".join(parts[:2]) + (", " + ", ".join(parts[2:]) if parts[2:] else "")
        if self.index == 0:
            shown = ", ".join(f"{r.type} {r.count}" for r in self.top[:5])
            return f"{line}; top: {shown}" if shown else line
        shown = ", ".join(f"{r.type} {r.count_delta:+d}" for r in self.growth)
        return f"{line}; growth: {shown or 'none'}"


class Verdict(NamedTuple):
    """What the samples say grows: ``kind`` is one of 'python-objects',
    'allocator', 'native', 'stable'; ``explanation`` gives the numbers;
    ``deltas`` holds them (bytes, None where unknown); ``growth`` the top
    growing types since the first sample."""

    kind: str
    explanation: str
    deltas: Dict[str, Optional[int]]
    growth: Tuple[TypeRow, ...]

    def __str__(self) -> str:
        return f"{self.kind}: {self.explanation}"


class Monitor:
    """A daemon thread that samples the heap and process memory every ``interval`` seconds.

    Create it with :func:`start_monitor` (or construct and call
    :meth:`start`). Arguments are checked and files opened in the calling
    thread, so mistakes raise there, never later in the thread.

    ``interval``: seconds between samples (> 0). ``top``: types per sample
    in the growth and top lists. ``log``: True for the ``pymemtrack``
    logger, a :class:`logging.Logger`, or False. ``log_level``: level of the
    per-sample line. ``csv`` / ``jsonl``: paths appended to (created if
    missing; ``truncate=True`` starts them afresh). ``signal``: a signal
    name or number (e.g. ``'SIGUSR1'``) that triggers an immediate sample;
    installed only when given, only from the main thread. ``prometheus``:
    True (default registry) or a ``prometheus_client`` registry, to export
    gauges. ``deep``: add untracked referents' sizes (needs sizes).
    ``collect``: run ``gc.collect()`` before each sample (costly at large
    heaps: off by default). ``max_samples``: samples kept in memory (the
    first is always kept for :meth:`verdict`).

    Example:

        >>> monitor = Monitor(interval=3600, log=False).start()
        >>> monitor.running
        True
        >>> monitor.stop()
        >>> len(monitor.samples), monitor.running
        (2, False)
    """

    def __init__(
        self,
        interval: float = 60.0,
        top: int = 10,
        *,
        log: Union[bool, logging.Logger] = True,
        log_level: int = logging.INFO,
        csv: Optional[Union[str, "os.PathLike[str]"]] = None,
        jsonl: Optional[Union[str, "os.PathLike[str]"]] = None,
        truncate: bool = False,
        signal: Optional[Union[str, int]] = None,
        prometheus: Any = False,
        deep: bool = False,
        collect: bool = False,
        max_samples: int = 1000,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise TypeError(f"interval must be a number of seconds, not {type(interval).__name__}")
        if not math.isfinite(interval) or interval <= 0:
            raise ValueError(f"interval must be a positive, finite number of seconds, not {interval!r}")
        _check_count("top", top)
        _check_count("max_samples", max_samples)
        if not isinstance(log, (bool, logging.Logger)):
            raise TypeError(f"log must be True, False or a logging.Logger, not {type(log).__name__}")
        if isinstance(log_level, bool) or not isinstance(log_level, int):
            raise TypeError(f"log_level must be a logging level (int), not {type(log_level).__name__}")
        if deep and not _sizes_available():
            raise ValueError("deep=True needs object sizes, which this pymemtrack build does not "
                             "measure")
        self.interval = float(interval)
        self.top = top
        self.deep = bool(deep)
        self.collect = bool(collect)
        self.errors = 0
        self._logger: Optional[logging.Logger] = (
            logger if log is True else (log if isinstance(log, logging.Logger) else None))
        self._log_level = log_level
        self._csv_path = _check_path("csv", csv)
        self._jsonl_path = _check_path("jsonl", jsonl)
        self._truncate = bool(truncate)
        self._signum = _resolve_signal(signal) if signal is not None else None
        self._prometheus_registry = _check_prometheus(prometheus)
        self._records: Deque[str] = collections.deque(maxlen=max_samples)
        self._first_record: Optional[str] = None
        self._count = 0
        self._baseline: Optional[Snapshot] = None
        self._last: Optional[Snapshot] = None
        self._sized = False
        self._start_time = 0.0
        self._files: List[IO[str]] = []
        self._csv_writer: Any = None
        self._csv_file: Optional[IO[str]] = None
        self._jsonl_file: Optional[IO[str]] = None
        self._gauges: Optional[_Gauges] = None
        self._errors_seen: Set[Tuple[str, str, str]] = set()
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._pipe: Optional[Tuple[int, int]] = None
        self._old_handler: Any = None
        self._state = "new"
        self._final = True

    # --- public ---------------------------------------------------------------

    def start(self) -> "Monitor":
        """Open the outputs, take the baseline sample and start the thread; returns self."""
        if self._state != "new":
            raise RuntimeError(f"this Monitor is {self._state}; create a new one to start again")
        if self._signum is not None and threading.current_thread() is not threading.main_thread():
            raise ValueError("signal= can only be installed from the main thread; start the "
                             "monitor there or leave signal out")
        try:
            self._open_outputs()
            self._pipe = os.pipe()
            os.set_blocking(self._pipe[1], False)
            if self._signum is not None:
                self._old_handler = _signal.signal(self._signum, self._on_signal)
        except BaseException:
            self._close()
            raise
        self._state = "running"
        atexit.register(self._at_exit)
        self._thread = threading.Thread(target=self._run, name="pymemtrack-monitor", daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    def stop(self, final: bool = True) -> None:
        """Stop the thread (after a last sample unless ``final`` is false),
        flush and close the files, restore the signal handler. Idempotent."""
        if self._state != "running":
            return
        self._state = "stopped"
        atexit.unregister(self._at_exit)
        self._final = final
        self._wake(b"s")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._close()

    @property
    def running(self) -> bool:
        """Whether the monitor thread is sampling."""
        return self._state == "running"

    @property
    def samples(self) -> List[Sample]:
        """The samples kept, oldest first (the first sample is always kept)."""
        records = list(self._records)
        if self._count > len(records) and self._first_record is not None:
            records.insert(0, self._first_record)
        return [_sample_from_json(r) for r in records]

    def dump(self) -> None:
        """Ask the thread for a sample now (what the signal does)."""
        self._wake(b"d")

    def growth_since_start(self, limit: Optional[int] = 10) -> List[TypeRow]:
        """Types whose count grew most between the first and the latest sample."""
        if self._baseline is None or self._last is None:
            return []
        sized = self._sized
        rows = [_row(d, sized) for d in self._last.compare_to(self._baseline)
                if d.count_delta > 0 or (sized and d.size_delta > 0)]
        return rows if limit is None else rows[:limit]

    def verdict(self, threshold: Optional[int] = None) -> Verdict:
        """Say what grows over the samples: Python objects, native memory, the allocator, or nothing.

        Compares the first and the latest sample. Each candidate's share of
        the growth is measured in bytes: Python objects (object bytes, or
        pymalloc's in-use bytes), native memory (malloc's in-use bytes) and
        retained memory (RSS growth beyond the growth of the bytes in use).
        The largest share above ``threshold`` (default: 4 MiB or 5% of the
        first RSS, the larger) names the kind; with no bytes for Python
        objects, an object count grown by 10% (at least 10,000) says
        'python-objects'. Nothing above the threshold: 'stable'.
        """
        first, last = self._ends()
        return _verdict(first, last, self.growth_since_start(5), threshold)

    def report(self, limit: int = 10) -> str:
        """A short text report: samples taken, top growth since start, the verdict."""
        _, last = self._ends()
        lines = [f"pymemtrack: {self._count} samples over {last.elapsed:.1f}s"
                 if last else "pymemtrack: no samples"]
        growth = self.growth_since_start(limit)
        if growth:
            width = max(len(r.type) for r in growth)
            lines.append("Growth since start:")
            for r in growth:
                line = "  %-*s%10d %+10d" % (width, r.type, r.count, r.count_delta)
                if r.bytes is not None and r.bytes_delta is not None:
                    line += f" {_mib(r.bytes_delta, True):>14}"
                lines.append(line)
        elif last:
            lines.append("Growth since start: none")
        lines.append("Verdict: " + str(self.verdict()))
        return "\n".join(lines)

    def __enter__(self) -> "Monitor":
        if self._state == "new":
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Monitor {self._state}, interval={self.interval:g}s, {self._count} samples>"

    def _ends(self) -> Tuple[Optional[Sample], Optional[Sample]]:
        """The first and the latest sample (None, None before any)."""
        if self._first_record is None or not self._records:
            return None, None
        return _sample_from_json(self._first_record), _sample_from_json(self._records[-1])

    # --- the thread -----------------------------------------------------------

    def _run(self) -> None:
        self._start_time = time.monotonic()
        try:
            self._guarded("sample", self._sample, "start")
        finally:
            self._ready.set()
        assert self._pipe is not None
        poller = select.poll()
        poller.register(self._pipe[0], select.POLLIN)
        deadline = time.monotonic() + self.interval
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            if poller.poll(timeout * 1000.0):
                wanted = os.read(self._pipe[0], 4096)
                if b"s" in wanted:
                    if self._final:
                        self._guarded("sample", self._sample, "stop")
                    return
                if b"d" in wanted:
                    self._guarded("sample", self._sample, "signal")
                continue
            self._guarded("sample", self._sample, "interval")
            deadline += self.interval
            now = time.monotonic()
            if deadline <= now:          # a slow sample or a suspended process: skip ahead
                deadline = now + self.interval

    def _sample(self, reason: str) -> None:
        if self.collect:
            gc.collect()
        snap, sized = _take_snapshot(self.deep)
        usage = _usage_from(snap, sized)
        wall = time.time()
        elapsed = time.monotonic() - self._start_time
        previous = self._last
        if previous is None:
            rows = [_row(_as_diff(s), sized) for s in snap.rows()]
            growth: List[TypeRow] = []
            top_rows = rows[:self.top]
        else:
            diff = snap.compare_to(previous)
            growth = [_row(d, sized) for d in diff
                      if d.count_delta > 0 or (sized and d.size_delta > 0)][:self.top]
            top_rows = [_row(d, sized) for d in sorted(diff, key=lambda d: -d.count)[:self.top]]
        before = _sample_from_json(self._records[-1]).memory if self._records else None
        sample = Sample(
            index=self._count,
            time=wall,
            elapsed=elapsed,
            reason=reason,
            memory=usage,
            objects_delta=usage.gc_objects - before.gc_objects if before else 0,
            python_bytes_delta=_delta(usage.python_bytes, before.python_bytes if before else None,
                                      before is None),
            rss_delta=_delta(usage.rss, before.rss if before else None, before is None),
            growth=tuple(growth),
            top=tuple(top_rows),
        )
        fields = _sample_to_dict(sample)
        record = json.dumps(fields)
        if self._baseline is None:
            self._baseline = snap
            self._first_record = record
        self._last = snap
        self._sized = sized
        self._records.append(record)
        self._count += 1
        self._emit(sample, record, fields)

    def _emit(self, sample: Sample, record: str, fields: Dict[str, Any]) -> None:
        if self._jsonl_file is not None:
            self._guarded("jsonl output", self._write_jsonl, record)
        if self._csv_writer is not None:
            self._guarded("csv output", self._write_csv, sample)
        if self._logger is not None:
            # No %-args: LogRecord's isinstance(args[0], Mapping) check would fill
            # the ABC caches (weakrefs, sets) on first use, noise in the next sample.
            self._logger.log(self._log_level, "pymemtrack: " + sample.format(),
                             extra={"pymemtrack": fields})
        if self._gauges is not None:
            self._guarded("prometheus output", self._gauges.update, sample)

    def _write_jsonl(self, record: str) -> None:
        assert self._jsonl_file is not None
        self._jsonl_file.write(record + "\n")
        self._jsonl_file.flush()

    def _write_csv(self, sample: Sample) -> None:
        when = datetime.datetime.fromtimestamp(sample.time).astimezone().isoformat(
            timespec="milliseconds")
        seen = set()
        for row in sample.top + sample.growth:
            if row.type in seen:
                continue
            seen.add(row.type)
            self._csv_writer.writerow((when, f"{sample.elapsed:.3f}", sample.index, row.type,
                                       row.count, row.count_delta, _blank(row.bytes),
                                       _blank(row.bytes_delta), _blank(sample.memory.rss)))
        self._csv_file.flush()

    def _guarded(self, what: str, fn: Any, *args: Any) -> None:
        """Run fn; an exception is counted, logged the first time it is seen, and swallowed."""
        try:
            fn(*args)
        except Exception as exc:
            self.errors += 1
            key = (what, type(exc).__name__, str(exc))
            if key not in self._errors_seen:
                self._errors_seen.add(key)
                logger.error("pymemtrack monitor: %s failed (the monitor keeps running; the same "
                             "error is not logged again): %s", what, exc, exc_info=exc)

    # --- plumbing -------------------------------------------------------------

    def _open_outputs(self) -> None:
        mode = "w" if self._truncate else "a"
        if self._jsonl_path is not None:
            self._jsonl_file = _open(self._jsonl_path, mode, "jsonl")
            self._files.append(self._jsonl_file)
        if self._csv_path is not None:
            self._csv_file = _open(self._csv_path, mode, "csv", newline="")
            self._files.append(self._csv_file)
            self._csv_writer = csv.writer(self._csv_file)
            if self._csv_file.tell() == 0:
                self._csv_writer.writerow(CSV_FIELDS)
                self._csv_file.flush()
            else:
                _check_csv_header(self._csv_path)
        if self._prometheus_registry is not None:
            self._gauges = _Gauges.for_registry(self._prometheus_registry)

    def _close(self) -> None:
        for f in self._files:
            try:
                f.flush()
                f.close()
            except OSError as exc:  # pragma: no cover - a disk that fails at close
                logger.error("pymemtrack monitor: closing %s failed: %s", f.name, exc)
        self._files = []
        self._jsonl_file = None
        self._csv_writer = None
        if self._signum is not None and self._old_handler is not None:
            if threading.current_thread() is threading.main_thread():
                if _signal.getsignal(self._signum) == self._on_signal:
                    _signal.signal(self._signum, self._old_handler)
                self._old_handler = None
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def _wake(self, what: bytes) -> None:
        pipe = self._pipe
        if pipe is None:
            return
        try:
            os.write(pipe[1], what)
        except OSError:          # full (a wake-up is already pending) or closed
            pass

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._wake(b"d")

    def _at_exit(self) -> None:
        self.stop()


def start_monitor(interval: float = 60.0, top: int = 10, **options: Any) -> Monitor:
    """Start a :class:`Monitor` (see there for the options) and return it.

    The baseline sample is taken before this returns. Stop it with
    :meth:`Monitor.stop`, or use it as a context manager; it also stops, with
    a last sample, when the interpreter exits.

    Example:

        >>> monitor = start_monitor(interval=3600, top=3, log=False)
        >>> monitor.samples[0].reason, len(monitor.samples[0].top)
        ('start', 3)
        >>> monitor.stop()
    """
    return Monitor(interval, top, **options).start()


# --- verdict -------------------------------------------------------------------


def _verdict(first: Optional[Sample], last: Optional[Sample], growth: List[TypeRow],
             threshold: Optional[int]) -> Verdict:
    if first is None or last is None or first.index == last.index:
        return Verdict("stable", "only one sample so far: no trend to judge", {}, ())
    a, b = first.memory, last.memory
    if threshold is None:
        threshold = max(4 * _MIB, (a.rss or 0) // 20)
    obj_threshold = max(10_000, a.gc_objects // 10)

    def d(field: str) -> Optional[int]:
        x, y = getattr(a, field), getattr(b, field)
        return None if x is None or y is None else y - x

    in_use_a, in_use_b = _sum(a.malloc_in_use, a.pymalloc_in_use), _sum(b.malloc_in_use, b.pymalloc_in_use)
    free_a, free_b = _sum(a.malloc_free, a.pymalloc_free), _sum(b.malloc_free, b.pymalloc_free)
    deltas: Dict[str, Optional[int]] = {f: d(f) for f in MemoryUsage._fields}
    deltas["in_use"] = None if in_use_a is None or in_use_b is None else in_use_b - in_use_a
    deltas["allocator_free"] = None if free_a is None or free_b is None else free_b - free_a
    gap = (None if deltas["rss"] is None or deltas["in_use"] is None
           else deltas["rss"] - deltas["in_use"])
    deltas["retained"] = gap
    span = f"over {last.elapsed - first.elapsed:.1f}s ({last.index - first.index + 1} samples)"
    numbers = _numbers(a, b)

    # Each candidate's share of the growth in bytes (None: not measurable here);
    # the largest share above the threshold names the kind.
    python = max((x for x in (deltas["python_bytes"], deltas["pymalloc_in_use"]) if x is not None),
                 default=None)
    shares = {"python-objects": python, "native": deltas["malloc_in_use"], "allocator": gap}
    known = {k: v for k, v in shares.items() if v is not None}
    objs = deltas["gc_objects"]
    rss = deltas["rss"]
    limit = f"growth threshold {_mib(threshold)}"
    if python is None and objs is not None and objs > obj_threshold:
        kind = "python-objects"          # no bytes to weigh: the object count says it
    elif known and max(known.values()) > threshold:
        kind = max(known, key=lambda k: known[k])
    elif rss is not None and rss > threshold:
        text = (f"RSS grew by {_mib(rss)} {span} while Python objects did not ({limit}): "
                f"{numbers}. This platform gives no allocator figures, so native allocations "
                "and fragmentation cannot be told apart here.")
        return Verdict("native", text, deltas, tuple(growth))
    else:
        text = f"Nothing grew by more than {_mib(threshold)} {span}: {numbers}."
        return Verdict("stable", text, deltas, tuple(growth))

    if kind == "python-objects":
        top = ", ".join(f"{r.type} {r.count_delta:+,}" + (f" ({_mib(r.bytes_delta, True)})"
                                                          if r.bytes_delta is not None else "")
                        for r in growth) or "none by count"
        text = (f"Python objects grew {span}: {numbers}. Top growing types: {top}. "
                "Find who holds the new objects of these types.")
        if any((shares[k] or 0) > threshold for k in ("native", "allocator")):
            text += " Memory outside Python objects grew too (see malloc and RSS above)."
    elif kind == "native":
        text = (f"Memory handed out by malloc grew by {_mib(deltas['malloc_in_use'])} {span}, "
                f"more than Python objects or retained free memory ({limit}): {numbers}. "
                "A C extension, ctypes or a native library allocates without freeing; "
                "tracemalloc does not see it, a native tracker (memray --native, valgrind, "
                "heaptrack) does. Objects the GC does not track (bytes, str held in containers) "
                "count here too" + ("." if b.python_bytes is None else
                                     "; a deep walk (deep=True) adds their sizes to the "
                                     "Python bytes."))
    else:
        text = (f"RSS changed by {_mib(rss, True)} while the memory in use changed by "
                f"{_mib(deltas['in_use'], True)} {span}: {_mib(gap)} more stays resident than "
                f"is in use, more than Python objects or native allocations grew ({limit}): "
                f"{numbers}. The allocators keep freed memory instead of returning it to the "
                "OS: fragmentation. Try pymemtrack.malloc_trim() (returns whole free pages), "
                "MALLOC_ARENA_MAX=2 for threaded programs, or jemalloc/tcmalloc via LD_PRELOAD.")
    return Verdict(kind, text, deltas, tuple(growth))


def _numbers(a: MemoryUsage, b: MemoryUsage) -> str:
    parts = []
    for field, label in (("rss", "RSS"), ("python_bytes", "Python object bytes"),
                         ("malloc_in_use", "malloc in-use"), ("malloc_free", "malloc free"),
                         ("pymalloc_in_use", "pymalloc in-use"), ("pymalloc_free", "pymalloc free")):
        x, y = getattr(a, field), getattr(b, field)
        if x is not None and y is not None:
            parts.append(f"{label} {_mib(x)} -> {_mib(y)} ({_mib(y - x, True)})")
    parts.append(f"GC objects {a.gc_objects:,} -> {b.gc_objects:,} ({b.gc_objects - a.gc_objects:+,})")
    return ", ".join(parts)


# --- outputs -------------------------------------------------------------------


class _Gauges:
    """The Prometheus gauges, one set per registry (names must be unique in one)."""

    _by_registry: Dict[Any, "_Gauges"] = {}

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Gauge

        def gauge(name: str, doc: str, labels: Tuple[str, ...] = ()) -> Any:
            return Gauge(name, doc, labels, registry=registry)

        self.objects = gauge("pymemtrack_objects", "Objects of the top types", ("type",))
        self.bytes = gauge("pymemtrack_object_bytes", "Bytes of the top types' objects", ("type",))
        self.rss = gauge("pymemtrack_rss_bytes", "Resident set size")
        self.python = gauge("pymemtrack_python_bytes", "Bytes of the Python objects walked")
        self.gc_objects = gauge("pymemtrack_gc_objects", "Objects the garbage collector tracks")
        self.malloc_in_use = gauge("pymemtrack_malloc_in_use_bytes", "Bytes malloc has handed out")
        self.malloc_free = gauge("pymemtrack_malloc_free_bytes", "Bytes free inside malloc's arenas")
        self.types: Set[str] = set()

    @classmethod
    def for_registry(cls, registry: Any) -> "_Gauges":
        if registry not in cls._by_registry:
            cls._by_registry[registry] = cls(registry)
        return cls._by_registry[registry]

    def update(self, sample: Sample) -> None:
        mem = sample.memory
        for gauge, value in ((self.rss, mem.rss), (self.python, mem.python_bytes),
                             (self.gc_objects, mem.gc_objects),
                             (self.malloc_in_use, mem.malloc_in_use),
                             (self.malloc_free, mem.malloc_free)):
            if value is not None:
                gauge.set(value)
        rows = {r.type: r for r in sample.top + sample.growth}
        for name in self.types - set(rows):
            self.objects.remove(name)
            try:
                self.bytes.remove(name)
            except KeyError:
                pass
        for name, row in rows.items():
            self.objects.labels(name).set(row.count)
            if row.bytes is not None:
                self.bytes.labels(name).set(row.bytes)
        self.types = set(rows)


# --- helpers -------------------------------------------------------------------


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")


def _check_path(name: str, path: Any) -> Optional[str]:
    if path is None:
        return None
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name} must be a path, not {type(path).__name__}") from None
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty path, not {path!r}")
    return path


def _open(path: str, mode: str, name: str, **kw: Any) -> IO[str]:
    try:
        return open(path, mode, encoding="utf-8", **kw)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot open the {name} output {path!r} for writing: "
                                 f"{exc.strerror}") from exc


def _check_csv_header(path: str) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    if header != list(CSV_FIELDS):
        raise ValueError(f"{path!r} exists and is not a pymemtrack CSV (its first row is "
                         f"{header!r}); pass truncate=True to start it afresh, or another path")


def _resolve_signal(sig: Union[str, int]) -> int:
    if isinstance(sig, bool) or not isinstance(sig, (str, int)):
        raise TypeError(f"signal must be a signal name or number, not {type(sig).__name__}")
    if isinstance(sig, str):
        name = sig.upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        num = getattr(_signal.Signals, name, None) if not name.startswith("SIG_") else None
        if num is None:
            raise ValueError(f"unknown signal {sig!r}; use a name such as 'SIGUSR1'")
        return int(num)
    if sig not in set(_signal.valid_signals()):
        raise ValueError(f"unknown signal number {sig}")
    if sig in (_signal.SIGKILL, _signal.SIGSTOP):
        raise ValueError(f"signal {sig} cannot be caught")
    return sig


def _check_prometheus(prometheus: Any) -> Any:
    if prometheus is False or prometheus is None:
        return None
    try:
        import prometheus_client
    except ImportError:
        raise ImportError("prometheus= needs prometheus_client, which is not installed: "
                          "pip install 'pymemtrack[prometheus]'") from None
    if prometheus is True:
        return prometheus_client.REGISTRY
    if not callable(getattr(prometheus, "register", None)):
        raise TypeError("prometheus must be True, False or a prometheus_client registry, not "
                        f"{type(prometheus).__name__}")
    return prometheus


def _as_diff(stat: Any) -> Any:
    """A snapshot row as a diff row against nothing (deltas 0)."""
    from .snapshot import TypeDiff

    return TypeDiff(stat.module, stat.name, stat.count, 0, stat.size, 0)


def _row(d: Any, sized: bool) -> TypeRow:
    return TypeRow(d.type_name, d.count, d.count_delta,
                   d.size if sized else None, d.size_delta if sized else None)


def _delta(now: Optional[int], before: Optional[int], first: bool) -> Optional[int]:
    if first:
        return 0 if now is not None else None
    return None if now is None or before is None else now - before


def _sum(x: Optional[int], y: Optional[int]) -> Optional[int]:
    """x + y where pymalloc's figure (y) may be missing; None when malloc's (x) is."""
    if x is None:
        return None
    return x + (y or 0)


def _blank(value: Optional[int]) -> Any:
    return "" if value is None else value


def _mib(n: Optional[int], sign: bool = False) -> str:
    if n is None:
        return "?"
    return f"{n / _MIB:{'+' if sign else ''}.1f} MiB"


def _sample_to_dict(s: Sample) -> Dict[str, Any]:
    out: Dict[str, Any] = {"sample": s.index, "time": round(s.time, 6),
                           "elapsed": round(s.elapsed, 6), "reason": s.reason}
    out.update(s.memory._asdict())
    out.update(objects_delta=s.objects_delta, python_bytes_delta=s.python_bytes_delta,
               rss_delta=s.rss_delta, growth=[r._asdict() for r in s.growth],
               top=[r._asdict() for r in s.top])
    return out


def _sample_from_json(record: str) -> Sample:
    # Tuples of known size (from lists), never tuple(generator): that one is
    # resized once built, which fails while another thread's walk holds every
    # GC object (a filter running in typestats(filter=...), say).
    d = json.loads(record)
    return Sample(
        index=d["sample"], time=d["time"], elapsed=d["elapsed"], reason=d["reason"],
        memory=MemoryUsage(**{f: d[f] for f in MemoryUsage._fields}),
        objects_delta=d["objects_delta"], python_bytes_delta=d["python_bytes_delta"],
        rss_delta=d["rss_delta"], growth=tuple([TypeRow(**r) for r in d["growth"]]),
        top=tuple([TypeRow(**r) for r in d["top"]]),
    )
