"""pympler-compatible summaries at native speed: :class:`SummaryTracker`, :func:`summarize`.

A summary is pympler's list of rows ``[type name, number of objects, total
size]``; type names are pympler's (``str(type)`` without the ``<class '...'>``
wrapper: ``dict``, ``mymodule.Outer.Inner``). Each summary runs a full
``gc.collect()`` first, as pympler does, then one native walk that sizes
every object with ``sys.getsizeof``'s rules in C.

Differences from pympler 1.1, all deliberate:

- functions and modules are one row per type (``function``, ``module``);
  pympler splits them per function or module name;
- ``deep=False`` (the default) counts the objects the garbage collector
  tracks; ``deep=True`` adds every untracked object reachable from them, at
  any depth (pympler adds only the direct referents of tracked objects);
- the tracker never reports its own bookkeeping: it is left out of every
  walk, and its stored summaries are not Python containers, so the first
  ``diff()`` after construction is empty;
- ``format_(rows, sort='type')`` sorts by type name (pympler 1.1 sorts by
  the name of ``str``, i.e. not at all).
"""

from __future__ import annotations

import gc
import re
import sys
from typing import IO, Any, Dict, Hashable, Iterable, List, Optional, Sequence, Union

from . import _core

__all__ = ["SummaryTracker", "format_", "print_", "summarize"]

Row = List[Any]  # [type name, count, total size]

_TYPE_REPR = re.compile(r"^<(type|class) '(\S+)'>$")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_SORTS = ("type", "#", "size")
_walked_once = False
_ORDERS = ("ascending", "descending")


def summarize(deep: bool = False, collect: bool = True) -> List[Row]:
    """Rows ``[type name, count, total size]`` for every live object, largest size first.

    ``collect`` runs ``gc.collect()`` first, so that only live objects are
    counted; ``deep`` adds the objects the garbage collector does not track
    (str, int, float, bytes, atomic-only containers...) reachable from those
    it does.

    Example:

        >>> rows = summarize()
        >>> row = [r for r in rows if r[0] == 'function'][0]
        >>> row[1] > 100 and row[2] > 100 * 100
        True
        >>> 'str' in [r[0] for r in summarize(deep=True)]
        True
    """
    _check_bool("deep", deep)
    _check_bool("collect", collect)
    return _rows_of(_take(deep, collect, None))


class SummaryTracker:
    """Tracks the change of per-type counts and sizes between summaries, as pympler's does.

    A first summary is taken when the tracker is made; each :meth:`diff`
    (:meth:`print_diff`, :meth:`format_diff`) compares a new summary with
    the previous one and keeps the new one. ``deep=True`` also counts the
    objects the garbage collector does not track.

    Example (under doctest, whose own bookkeeping adds a few lists):

        >>> tracker = SummaryTracker()
        >>> grown = [[i] for i in range(1000)]
        >>> name, count, size = [row for row in tracker.diff() if row[0] == 'list'][0]
        >>> count >= 1001 and size >= 1000 * 64
        True
        >>> lines = tracker.format_diff()
        >>> lines[0].split('|')[1:]
        ['   # objects ', '   total size']
    """

    __slots__ = ("ignore_self", "deep", "_stored", "_ignore", "_s0", "_s1", "__weakref__")

    def __init__(self, ignore_self: bool = True, deep: bool = False) -> None:
        """Take the first summary.

        ``ignore_self`` leaves the tracker and its stored summaries out of
        every summary (pympler's meaning); ``deep`` as in :func:`summarize`.
        """
        _check_bool("deep", deep)
        self.ignore_self = bool(ignore_self)
        self.deep = deep
        self._stored: Dict[Hashable, Any] = {}
        # Everything the tracker holds exists before its first walk.
        self._ignore = (self, self._stored)
        self._s1: Any = None
        self._s0: Any = None
        global _walked_once
        if not _walked_once:
            # CPython creates or drops a few objects the first time a
            # collection and a walk run (argument-parser caches and the
            # like); a throwaway first summary keeps them out of the diffs.
            self._take()
            _walked_once = True
        self._s0 = self._take()

    @property
    def s0(self) -> List[Row]:
        """The summary the next :meth:`diff` compares with (rows)."""
        return _rows_of(self._s0)

    @property
    def s1(self) -> Optional[List[Row]]:
        """The summary taken by the last :meth:`diff` (rows), or None."""
        return None if self._s1 is None else _rows_of(self._s1)

    @property
    def summaries(self) -> Dict[Hashable, List[Row]]:
        """The summaries kept by :meth:`store_summary`, by key (rows)."""
        return {key: _rows_of(snap) for key, snap in self._stored.items()}

    def create_summary(self) -> List[Row]:
        """A summary (rows) of the live objects now; the tracker's state is unchanged."""
        return _rows_of(self._take())

    def diff(self, summary1: Optional[Sequence[Row]] = None,
             summary2: Optional[Sequence[Row]] = None) -> List[Row]:
        """Rows ``[type name, count delta, size delta]`` of the types that changed.

        Without arguments: from the last summary to a new one (which becomes
        the last). With ``summary1``: from it to a new one (which becomes the
        last). With both: from ``summary1`` to ``summary2``. Summaries are
        rows as returned by :meth:`create_summary` or :func:`summarize`.
        Rows are sorted by size delta, largest first.
        """
        if summary2 is None:
            new = self._take()
            old = self._s0 if summary1 is None else _as_summary(summary1, "summary1")
            self._s1 = new
            self._s0 = new
            return _diff(old, new)
        if summary1 is None:
            raise ValueError("You cannot provide summary2 without summary1.")
        return _diff(_as_summary(summary1, "summary1"), _as_summary(summary2, "summary2"))

    def format_diff(self, summary1: Optional[Sequence[Row]] = None,
                    summary2: Optional[Sequence[Row]] = None, limit: int = 15,
                    sort: str = "size", order: str = "descending") -> List[str]:
        """The lines :meth:`print_diff` prints (same arguments as :meth:`diff`)."""
        _check_format_args(limit, sort, order)
        return format_(self.diff(summary1, summary2), limit=limit, sort=sort, order=order)

    def print_diff(self, summary1: Optional[Sequence[Row]] = None,
                   summary2: Optional[Sequence[Row]] = None, limit: int = 15,
                   sort: str = "size", order: str = "descending",
                   file: Optional[IO[str]] = None) -> None:
        """Print :meth:`diff` as pympler's table (to ``file``, default stdout)."""
        for line in self.format_diff(summary1, summary2, limit=limit, sort=sort, order=order):
            print(line, file=sys.stdout if file is None else file)

    def store_summary(self, key: Hashable) -> None:
        """Take a summary and keep it under ``key`` (see :attr:`summaries`).

        Stored summaries hold type names and numbers only, outside any Python
        container the walks would see: they never show in later summaries.
        """
        hash(key)
        self._stored[key] = self._take()

    def _take(self) -> Any:
        return _take(self.deep, True, self._ignore if self.ignore_self else None)


def format_(rows: Iterable[Sequence[Any]], limit: int = 15, sort: str = "size",
            order: str = "descending") -> List[str]:
    """pympler's summary table for ``rows``, as a list of lines.

    ``sort`` is 'size', '#' (count) or 'type' (name); ``order`` is
    'descending' or 'ascending'; at most ``limit`` rows are shown.

    Example:

        >>> for line in format_([['dict', 2, 560], ['list', 10, 2048]]):
        ...     print(line)
          types |   # objects |   total size
        ======= | =========== | ============
           list |          10 |      2.00 KB
           dict |           2 |    560     B
    """
    _check_format_args(limit, sort, order)
    local = [list(row) for row in rows]
    for row in local:
        if len(row) != 3:
            raise ValueError(f"each row must be [type name, count, size], not {row!r}")
    column = _SORTS.index(sort)
    local.sort(key=lambda r: str(r[0]) if column == 0 else r[column],
               reverse=order == "descending")
    local = local[:limit]
    for row in local:
        row[2] = _pp(row[2])
    local.insert(0, ["types", "# objects", "total size"])
    return _format_table(local)


def print_(rows: Iterable[Sequence[Any]], limit: int = 15, sort: str = "size",
           order: str = "descending", file: Optional[IO[str]] = None) -> None:
    """Print :func:`format_` of ``rows``.

    Example:

        >>> print_([['int', 3, 84]])
          types |   # objects |   total size
        ======= | =========== | ============
            int |           3 |     84     B
    """
    for line in format_(rows, limit=limit, sort=sort, order=order):
        print(line, file=sys.stdout if file is None else file)


# ---- private helpers ------------------------------------------------------


def _take(deep: bool, collect: bool, ignore: Optional[tuple]) -> Any:
    """One summary as a non-GC row table (pymemtrack._core.Snapshot)."""
    if collect:
        gc.collect()
    by_type = _core.type_sizes(deep=deep, ignore=ignore, skip_stack=True)
    rows = [(None, _label(tp), count, size) for tp, count, size in by_type]
    del by_type
    return _core.Snapshot._from_rows(rows, sizes=True, deep=deep)


def _label(tp: type) -> str:
    """pympler's name for a type: str(type) without "<class '...'>"."""
    try:
        text = str(tp)
    except Exception:  # a metaclass __repr__ that fails: name it plainly,
        # through type itself (the metaclass's __getattribute__ may fail too)
        try:
            module = type.__getattribute__(tp, "__module__")
        except AttributeError:
            module = "?"
        text = f"{module}.{type.__getattribute__(tp, '__qualname__')}"
    if " at 0x" in text:
        text = _ADDRESS.sub("", text)
    # match/group rather than sub(r"\2"): sub caches its compiled template
    # on first use, a new object the next summary would report.
    match = _TYPE_REPR.match(text)
    return match.group(2) if match else text


def _rows_of(summary: Any) -> List[Row]:
    rows = [[name, count, size] for _module, name, count, size in summary._rows()]
    rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    return rows


def _as_summary(rows: Any, argname: str) -> Any:
    if isinstance(rows, _core.Snapshot):
        return rows
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise TypeError(f"{argname} must be a summary (a list of [type name, count, size] "
                        f"rows), not {type(rows).__name__}")
    table = []
    for row in rows:
        if not isinstance(row, Sequence) or isinstance(row, str) or len(row) != 3:
            raise TypeError(f"{argname} must hold [type name, count, size] rows, not {row!r}")
        name, count, size = row
        if not isinstance(name, str) or not isinstance(count, int) or not isinstance(size, int):
            raise TypeError(f"{argname} rows must be [str, int, int], not {row!r}")
        table.append((None, name, count, size))
    return _core.Snapshot._from_rows(table)


def _diff(old: Any, new: Any) -> List[Row]:
    rows = [[name, dcount, dsize]
            for _module, name, _count, dcount, _size, dsize in new._diff(old)
            if dcount or dsize]
    rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    return rows


def _pp(i: Union[int, float], base: int = 1024) -> str:
    """pympler.util.stringutils.pp: a size as '%4d     B' or '%7.2f KB'."""
    degree = 0
    pattern = "%4d     %s"
    while i > base:
        pattern = "%7.2f %s"
        i = i / float(base)
        degree += 1
    return pattern % (i, ["B", "KB", "MB", "GB", "TB", "EB"][degree])


def _format_table(rows: List[List[Any]]) -> List[str]:
    """pympler.summary._format_table: right-justified columns, one '=' rule."""
    widths = [max(len(str(item)) + 2 for item in col) for col in zip(*rows)]
    lines = []
    for i, row in enumerate(rows):
        lines.append(" | ".join(str(item).rjust(w) for item, w in zip(row, widths)))
        if i == 0:
            lines.append(" | ".join("=" * w for w in widths))
    return lines


def _warm_up() -> None:
    """Run every code path of a diff once at import, on tiny data, so that
    lazily made objects (caches, interned names) exist before any tracker's
    first summary rather than showing in its first diff."""
    old = _core.Snapshot._from_rows([(None, _label(int), 1, 28)], sizes=True)
    new = _as_summary([[_label(dict), 1, 64]], "summary")
    format_(_diff(old, new) + _rows_of(new), sort="#")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def _check_format_args(limit: object, sort: object, order: object) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    if sort not in _SORTS:
        raise ValueError(f"invalid sort, should be one of {list(_SORTS)}, not {sort!r}")
    if order not in _ORDERS:
        raise ValueError(f"invalid order, should be one of {list(_ORDERS)}, not {order!r}")


_warm_up()
