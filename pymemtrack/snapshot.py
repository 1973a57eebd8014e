"""Native snapshots of the heap: per-type counts (and bytes) you can keep and diff.

A :class:`Snapshot` is taken by one native walk and holds only type names
and numbers (memory proportional to the number of types). It keeps no
object or class alive, and is not itself tracked by the garbage collector,
so it never appears in any snapshot, its own included.

``sizes=True`` adds each type's total bytes, ``sys.getsizeof`` of every
object, computed in C. ``deep=True`` also counts the objects the garbage
collector does not track (str, int, float, bytes, empty or atomic-only
containers...) reachable from the ones it tracks.
"""

from __future__ import annotations

import time
from operator import attrgetter
from typing import List, NamedTuple, Optional

from . import _core

__all__ = ["Snapshot", "SnapshotDiff", "TypeDiff", "TypeStat", "snapshot"]

_SORT_KEYS = ("count", "size")
_SORT_ALIASES = {"bytes": "size"}


def _display(module: Optional[str], name: str) -> str:
    if module is None:
        return name
    if module == "builtins":
        return name
    return f"{module}.{name}"


class TypeStat(NamedTuple):
    """One type's row in a snapshot."""

    module: Optional[str]
    name: str
    count: int
    size: int

    @property
    def type_name(self) -> str:
        """``name`` for builtins, else ``module.name``."""
        return _display(self.module, self.name)


class TypeDiff(NamedTuple):
    """One type's change between two snapshots."""

    module: Optional[str]
    name: str
    count: int
    count_delta: int
    size: int
    size_delta: int

    @property
    def type_name(self) -> str:
        """``name`` for builtins, else ``module.name``."""
        return _display(self.module, self.name)


class SnapshotDiff(List[TypeDiff]):
    """Rows of :meth:`Snapshot.compare_to`, largest growth first.

    Printing shows the types whose count changed, in show_growth's format.
    """

    def format(self, limit: Optional[int] = 10) -> str:
        """The changed rows as text, at most ``limit`` of them (None: all)."""
        changed = [row for row in self if row.count_delta or row.size_delta]
        shown = changed if limit is None else changed[:limit]
        if not shown:
            return "No change in object counts."
        width = max(len(row.type_name) for row in shown)
        with_sizes = any(row.size for row in shown)
        lines = []
        for row in shown:
            line = "%-*s%9d %+9d" % (width, row.type_name, row.count, row.count_delta)
            if with_sizes:
                line += " %12d B %+12d B" % (row.size, row.size_delta)
            lines.append(line)
        if len(changed) > len(shown):
            lines.append(f"<{len(changed) - len(shown)} more changed types>")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


class _SnapshotMethods:
    """Per-type object counts of the whole heap, taken when constructed.

    Example:

        >>> old = Snapshot()
        >>> grown = [{'id': [i]} for i in range(100)]
        >>> diff = Snapshot().compare_to(old)
        >>> diff[0].type_name, diff[0].count_delta
        ('list', 101)
        >>> [row.count_delta for row in diff if row.name == 'dict']
        [100]
    """

    def rows(self, sort_by: str = "count") -> List[TypeStat]:
        """All types, most objects (or bytes, ``sort_by='size'`` or ``'bytes'``) first."""
        key = _sort_key(sort_by)
        rows = [TypeStat(*row) for row in self._rows()]
        rows.sort(key=lambda r: (-getattr(r, key), r.type_name))
        return rows

    def counts(self, shortnames: bool = True) -> dict:
        """``{type_name: count}`` named as objgraph's :func:`typestats` names them."""
        out: dict = {}
        for module, name, n, _size in self._rows():
            key = name if shortnames or module is None else f"{module}.{name}"
            out[key] = out.get(key, 0) + n
        return out

    def compare_to(self, old: "_core.Snapshot", sort_by: str = "count") -> SnapshotDiff:
        """Rows for every type in either snapshot, largest growth first.

        ``sort_by`` is 'count' (count delta) or 'size' (byte delta, also
        spelled 'bytes'); ties go to the larger type, then the name. Both
        snapshots must have been taken with the same ``sizes`` and ``deep``.
        """
        if not isinstance(old, _core.Snapshot):
            raise TypeError(f"old must be a Snapshot, not {type(old).__name__}")
        if (self.sizes, self.deep) != (old.sizes, old.deep):
            raise ValueError(
                "cannot compare snapshots taken with different options: "
                f"sizes={self.sizes}, deep={self.deep} and sizes={old.sizes}, deep={old.deep}")
        key = _sort_key(sort_by)
        rows = [TypeDiff(*row) for row in self._diff(old)]
        # attrgetter interns its names: a fresh "..._delta" string per call
        # would be kept by the interpreter's type attribute cache and read as
        # a leak by a -R style check.
        by_delta, by_total = attrgetter(key + "_delta"), attrgetter(key)
        rows.sort(key=lambda r: (-by_delta(r), -by_total(r), r.type_name))
        return SnapshotDiff(rows)

    def __sub__(self, old: object) -> SnapshotDiff:
        if not isinstance(old, _core.Snapshot):
            return NotImplemented
        return self.compare_to(old)

    def format(self, limit: Optional[int] = 10) -> str:
        """A table of the types with the most objects (most bytes when sizes
        were measured), ``limit`` rows (None: all)."""
        rows = self.rows(sort_by="size" if self.sizes else "count")
        shown = rows if limit is None else rows[:limit]
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.timestamp))
        what = "objects" if not self.deep else "objects (deep)"
        lines = [f"Snapshot at {when}: {self.total_count} {what} of {len(self)} types"]
        if self.sizes:
            lines[0] += f", {self.total_size} bytes"
        if self.frozen:
            lines[0] += f" ({self.frozen} objects frozen by gc.freeze() not walked)"
        if shown:
            width = max(len("Type"), max(len(r.type_name) for r in shown))
            if self.sizes:
                lines.append("%-*s %9s %14s" % (width, "Type", "Count", "Bytes"))
                lines.extend("%-*s %9d %14d" % (width, r.type_name, r.count, r.size)
                             for r in shown)
            else:
                lines.append("%-*s %9s" % (width, "Type", "Count"))
                lines.extend("%-*s %9d" % (width, r.type_name, r.count) for r in shown)
        if len(rows) > len(shown):
            lines.append(f"<{len(rows) - len(shown)} more types>")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        size = f", {self.total_size} bytes" if self.sizes else ""
        deep = " (deep)" if self.deep else ""
        return f"<Snapshot of {self.total_count} objects{deep} in {len(self)} types{size}>"


# A Python subclass of a C type is always a GC type (type_new sets
# Py_TPFLAGS_HAVE_GC for every heap class), which would make snapshots show up
# in walks. So the Python-level methods are installed on the C type itself.
Snapshot = _core.Snapshot
for _name, _value in vars(_SnapshotMethods).items():
    if _name not in ("__dict__", "__weakref__", "__module__", "__qualname__"):
        setattr(Snapshot, _name, _value)
del _name, _value


def snapshot(sizes: bool = False, deep: bool = False) -> Snapshot:
    """Take a :class:`Snapshot` of the heap now (no collection is run).

    ``sizes`` measures each type's bytes (``sys.getsizeof`` of every object,
    in C); ``deep`` also counts objects the garbage collector does not track
    that are reachable from those it does, each once.

    Example:

        >>> s = snapshot()
        >>> s.counts()['function'] > 0
        True
        >>> big = snapshot(sizes=True, deep=True)
        >>> big.counts()['str'] > 1000 and big.total_size > 0
        True
    """
    if not isinstance(sizes, bool) or not isinstance(deep, bool):
        raise TypeError("sizes and deep must be bools")
    return Snapshot(sizes=sizes, deep=deep)


def _sort_key(sort_by: str) -> str:
    sort_by = _SORT_ALIASES.get(sort_by, sort_by) if isinstance(sort_by, str) else sort_by
    if sort_by not in _SORT_KEYS:
        raise ValueError(f"sort_by must be one of {_SORT_KEYS + tuple(_SORT_ALIASES)}, "
                         f"not {sort_by!r}")
    return sort_by
