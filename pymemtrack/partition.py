"""guppy-style heap partitions: :func:`heap`, :func:`set_reference`, :func:`clear_reference`.

``heap()`` walks the heap natively (by default deep: objects the garbage
collector does not track are counted too) and partitions the objects by
kind, printing as guppy's ``hpy().heap()`` does::

    Partition of a set of 52370 objects. Total size = 6285290 bytes.
     Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)
         0  15009  29  1381840  22   1381840  22 str
     ...
    <94 more rows. Type e.g. '_.more' to view.>

Kinds are named as guppy names them (``str``, ``types.CodeType``,
``function``, ``module``, ``mymodule.MyClass``); a ``dict`` that is some
object's ``__dict__`` is ``dict of <kind of its owner>``, other dicts are
``dict (no owner)``. Unlike guppy, a ``__dict__`` that was never created
(3.11+ keeps instance attributes inline until someone asks for the dict) is
not created by the walk, and so not counted.

:func:`set_reference` records which objects exist now (by address and type,
holding none of them); later ``heap()`` calls count only objects new since
then, until :func:`clear_reference`. The Partition objects, the reference
and pymemtrack's other results are never counted.
"""

from __future__ import annotations

import builtins
import gc
import textwrap
import types
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Union, overload

from . import _core

__all__ = ["Partition", "PartitionRow", "clear_reference", "heap", "set_reference"]

_SHOWN = 10          # rows per page, as guppy
_LINE_LENGTH = 100   # guppy's Part line_length
_STAT_HEADER = " Index  Count   %     Size   % Cumulative  % "
_KIND_HEADER = "Kind (class / dict of class)"
_DICT_NO_OWNER = "dict (no owner)"


def _guppy_names() -> Dict[type, str]:
    # guppy's Summary_str: types module names ('types.CodeType'), then
    # builtins names ('str'), then 'module' and 'function' shortened.
    names: Dict[type, str] = {}
    for key, value in sorted(vars(types).items()):
        if isinstance(value, type):
            names[value] = "types." + key
    for key, value in sorted(vars(builtins).items()):
        if isinstance(value, type):
            names[value] = key
    names[types.ModuleType] = "module"
    names[types.FunctionType] = "function"
    return names


# Made at import, before any reference point, holding only builtin types.
_NAMES = _guppy_names()
_reference: Optional[Any] = None


class PartitionRow(NamedTuple):
    """One row of a :class:`Partition`: a kind and its objects' count and bytes."""

    index: int
    count: int
    size: int
    cumulative: int
    kind: str


class _PartitionMethods:
    """A set of objects partitioned by kind, largest total size first (see :func:`heap`).

    Indexing gives a :class:`PartitionRow`; ``count`` and ``size`` are the
    set's totals; ``more`` shows the next rows.

    Example:

        >>> p = heap()
        >>> str(p).splitlines()[0].startswith('Partition of a set of ')
        True
        >>> p[0].index, p[0].size >= p[1].size
        (0, True)
        >>> sum(row.count for row in p) == p.count
        True
    """

    @overload
    def __getitem__(self, index: int) -> PartitionRow: ...
    @overload
    def __getitem__(self, index: slice) -> List[PartitionRow]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[PartitionRow, List[PartitionRow]]:
        rows = self.rows()
        if isinstance(index, slice):
            return rows[index]
        if not isinstance(index, int):
            raise TypeError(f"Partition indices must be integers or slices, "
                            f"not {type(index).__name__}")
        if not -len(rows) <= index < len(rows):
            raise IndexError("Partition index out of range")
        return rows[index]

    def __iter__(self) -> Iterator[PartitionRow]:
        return iter(self.rows())

    def rows(self) -> List[PartitionRow]:
        """Every row, with its index and cumulative size."""
        out, cumulative = [], 0
        for i, (_module, kind, count, size) in enumerate(self._rows()):
            cumulative += size
            out.append(PartitionRow(i, count, size, cumulative, kind))
        return out

    @property
    def more(self) -> "Partition":
        """The same partition, printed from the next page of rows on."""
        start = min(self.start + _SHOWN, len(self))
        return Partition._from_rows(self._rows(), sizes=True, deep=self.deep,
                                    relative=self.relative, keyed=False, start=start)

    def format(self, rows: Optional[int] = _SHOWN) -> str:
        """guppy's table from row ``start`` on, at most ``rows`` rows (None: all)."""
        lines = []
        if self.start == 0:
            s = "" if self.count == 1 else "s"
            lines.append(f"Partition of a set of {self.count} object{s}. "
                         f"Total size = {self.size} bytes.")
        all_rows = self.rows()
        shown = all_rows[self.start:] if rows is None else all_rows[self.start:self.start + rows]
        if self.start > 0 and not shown:
            return ""                   # paged past the end, as guppy's .more
        if self.count or self.size:
            lines.append(textwrap.fill(_STAT_HEADER + _KIND_HEADER, width=_LINE_LENGTH,
                                       subsequent_indent=" " * len(_STAT_HEADER)))
        for row in shown:
            stat = "%6d %6d %3d %8d %3d %9d %3d " % (
                row.index, row.count, _percent(row.count, self.count),
                row.size, _percent(row.size, self.size),
                row.cumulative, _percent(row.cumulative, self.size))
            lines.extend(textwrap.wrap(stat + row.kind, width=_LINE_LENGTH,
                                       subsequent_indent=" " * len(stat)))
        left = len(all_rows) - self.start - len(shown)
        if left > 0:
            lines.append(f"<{left} more rows. Type e.g. '_.more' to view.>")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return self.format()


# A Python subclass of a C type is a GC type and would show in walks; the
# methods are installed on the non-GC C type instead (as snapshot.py does).
Partition = _core.Partition
for _name, _value in vars(_PartitionMethods).items():
    if _name not in ("__dict__", "__weakref__", "__module__", "__qualname__"):
        setattr(Partition, _name, _value)
del _name, _value


def heap(deep: bool = True, collect: bool = False) -> Partition:
    """Partition the objects on the heap by kind, as guppy's ``hpy().heap()``.

    ``deep`` counts the objects the garbage collector does not track as
    well. Like :func:`snapshot`, no collection runs unless ``collect`` is
    true: then a full ``gc.collect()`` runs first, as guppy's always does,
    so that garbage cycles not yet collected are not counted (it costs about
    as much as the walk itself). After :func:`set_reference`, only objects
    new since the reference are counted.

    Example:

        >>> p = heap()
        >>> p.count > 1000 and p.size > 100000
        True
        >>> 'str' in [row.kind for row in p]
        True
    """
    _check_bool("deep", deep)
    _check_bool("collect", collect)
    if collect:
        gc.collect()
    reference = _reference
    by_type = _core.type_sizes(deep=deep, skip_stack=True, reference=reference, owners=True)
    totals: Dict[str, List[int]] = {}
    for tp, owner, count, size in by_type:
        kind = _kind(tp, owner)
        if kind in totals:
            totals[kind][0] += count
            totals[kind][1] += size
        else:
            totals[kind] = [count, size]
    del by_type
    rows = [(None, kind, count, size) for kind, (count, size) in totals.items()]
    rows.sort(key=lambda r: (-r[3], -r[2], r[1]))
    return Partition._from_rows(rows, sizes=True, deep=deep, relative=reference is not None,
                                keyed=False)


def set_reference(deep: bool = True, collect: bool = True) -> Any:
    """Make later :func:`heap` calls count only objects created from now on.

    Runs ``gc.collect()`` first unless ``collect`` is false, then records
    every object by address and a tag of its type (a byte per 16 bytes of
    the address space they span, in raw memory), holding none of them
    alive. A new object that reuses the address of a recorded one freed
    since, with the same type, passes for old. Returns the reference (a
    ``pymemtrack._core.HeapReference``).

    Example:

        >>> ref = set_reference()
        >>> new = [[i] for i in range(100)]
        >>> [(row.count, row.kind) for row in heap(collect=True) if row.kind == 'list']
        [(101, 'list')]
        >>> clear_reference()
    """
    global _reference
    _check_bool("deep", deep)
    _check_bool("collect", collect)
    if collect:
        gc.collect()
    # Replaced only once the new one exists: a MemoryError keeps the old one.
    # (The old one is not counted: pymemtrack's own objects never are.)
    reference = _core.HeapReference(deep=deep, skip_stack=True)
    _reference = reference
    return reference


def clear_reference() -> None:
    """Forget the reference point: :func:`heap` counts every object again.

    Example:

        >>> clear_reference()
        >>> heap().relative
        False
    """
    global _reference
    _reference = None


def _kind(tp: type, owner: Optional[type]) -> str:
    if tp is dict:
        return _DICT_NO_OWNER if owner is None else "dict of " + _type_name(owner)
    return _type_name(tp)


def _type_name(tp: type) -> str:
    # A class's metaclass may define __hash__/__eq__/__getattribute__: look
    # builtins up only for plain types, and read names through type itself.
    name = _NAMES.get(tp) if type(tp) is type else None
    if name is not None:
        return name
    try:
        module = type.__getattribute__(tp, "__module__")
    except AttributeError:
        module = None
    qual = type.__getattribute__(tp, "__name__")
    if module is None:
        return f"<unknown module>.{qual}"
    return f"{module}.{qual}"


def _percent(part: int, whole: int) -> int:
    # guppy: int('%.0f' % (part * 100.0 / whole)), round half to even
    return int("%.0f" % (part * 100.0 / whole)) if whole else 0


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
