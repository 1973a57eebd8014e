"""Reference cycles: which are garbage right now, what they hold, which have finalizers.

:func:`garbage_cycles` finds, in C, the objects that are cyclic garbage at
this moment -- what the next ``gc.collect()`` would free -- without
collecting, finalizing or moving anything, and groups them into cycles.
Each :class:`Cycle` has the loop's members, then whatever only the loop
keeps alive; together the cycles account for every garbage object once.
Printing the result gives a report, largest first, each cycle shown as its
loop of named references (``Node.parent -> Node.children[0] -> Node``) with
its finalizers.

:func:`explain_garbage` does the same for what sits in ``gc.garbage``, and
:func:`collected_cycles` reports the cycles a block of code created.
:func:`show_cycle` draws one cycle with graphviz.

Example:

    >>> import gc
    >>> class Node:
    ...     def __init__(self, parent=None):
    ...         self.parent, self.children = parent, []
    ...         if parent is not None:
    ...             parent.children.append(self)
    >>> was_enabled = gc.isenabled(); gc.disable()
    >>> root = Node(); leaf = Node(root)
    >>> del root, leaf
    >>> cycles = [c for c in garbage_cycles() if 'Node' in c.types]
    >>> [cycle.loop_text() for cycle in cycles]
    ['Node.children[0] -> Node.parent -> Node']
    >>> cycles[0].types['Node'], cycles[0].types['list']
    (2, 2)
    >>> del cycles; _ = gc.collect()
    >>> if was_enabled: gc.enable()
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, TextIO, Tuple

from . import _core
from .edges import edge_label, short_repr

__all__ = [
    "Cycle",
    "CycleReport",
    "Finalizer",
    "collected_cycles",
    "explain_garbage",
    "garbage_cycles",
    "show_cycle",
]

# Flags per object from the C core (pymemtrack/_core/scc.h).
_FINALIZE = 1
_LEGACY = 2
_FINALIZED = 4
_UNCOLLECTABLE = 8
_MEMBER = 16

# Containers a loop's text reads through: `Node.children[0]`, not
# `Node.children -> list[0]`.
_FOLDED = (list, tuple, dict, set, frozenset, types.CellType)
_LOOP_CANDIDATES = 8


class Finalizer(NamedTuple):
    """One object of a cycle whose type has a finalizer.

    ``kind`` is ``'__del__'`` (a Python ``__del__``), ``'tp_finalize'`` (a C
    finalizer: generators, coroutines, io objects) or ``'tp_del'`` (a legacy C
    finalizer: the collector will not free the cycle, it goes to
    ``gc.garbage``). ``finalized`` is true when the finalizer already ran (the
    object was resurrected; it will not run again). ``in_loop`` is false for
    objects the loop only keeps alive.

    Example:

        >>> def gen():
        ...     yield
        >>> Finalizer(gen(), 'tp_finalize', False, True).describe()
        'generator (C tp_finalize)'
    """

    obj: Any
    kind: str
    finalized: bool
    in_loop: bool

    @property
    def type_name(self) -> str:
        """``type(obj).__name__``."""
        return type(self.obj).__name__

    def describe(self) -> str:
        """``'Conn.__del__ (Python __del__)'``; ``', already ran'`` is added when finalized."""
        if self.kind == "__del__":
            text = f"{self.type_name}.__del__ (Python __del__"
        elif self.kind == "tp_finalize":
            text = f"{self.type_name} (C tp_finalize"
        else:
            text = f"{self.type_name} (legacy tp_del: uncollectable"
        return text + (", already ran)" if self.finalized else ")")


class Cycle:
    """A loop of garbage objects and whatever only it keeps alive.

    Attributes: ``objects`` (the loop's members first, then the objects only
    they keep alive), ``members`` (the loop itself), ``owned`` (non-GC objects
    such as str, bytes or bytearray that only this cycle refers to, freed
    with it; one level deep), ``types`` (objgraph type name -> count over
    ``objects``, most first), ``size`` (bytes of ``objects`` and ``owned``, as
    ``sys.getsizeof`` counts them), ``finalizers`` (:class:`Finalizer` per
    object with one; empty when none) and ``uncollectable`` (a legacy
    ``tp_del`` finalizer reaches it: ``gc.collect()`` keeps it in
    ``gc.garbage``).

    Holding a Cycle keeps its objects alive; drop it and they are garbage again.

    Example:

        >>> import gc
        >>> was_enabled = gc.isenabled(); gc.disable()
        >>> class Conn:
        ...     def __del__(self): pass
        >>> conn = Conn(); conn.self_ref = conn
        >>> del conn
        >>> [cycle] = [c for c in garbage_cycles() if 'Conn' in c.types]
        >>> cycle.loop_text()
        'Conn.self_ref -> Conn'
        >>> [f.describe() for f in cycle.finalizers]
        ['Conn.__del__ (Python __del__)']
        >>> del cycle; _ = gc.collect()
        >>> if was_enabled: gc.enable()
    """

    __slots__ = ("objects", "owned", "n_members", "is_loop", "_types", "_size", "_finalizers",
                 "_uncollectable", "_flags", "_loop")

    def __init__(self, objects: List[Any], n_members: int, is_loop: bool, flags: bytes,
                 owned: List[Any]) -> None:
        self.objects = objects
        self.owned = owned
        self.n_members = n_members
        self.is_loop = is_loop
        self._flags = flags
        # Filled on first use: a report of thousands of cycles costs little
        # more than the analysis until one is looked at or printed.
        self._loop: Optional[List[Any]] = None
        self._types: Optional[Dict[str, int]] = None
        self._size: Optional[int] = None
        self._finalizers: Optional[List[Finalizer]] = None
        self._uncollectable: Optional[bool] = None

    @property
    def types(self) -> Dict[str, int]:
        """objgraph type name -> count over ``objects``, most first."""
        if self._types is None:
            self._types = _ranked_types(self.objects)
        return self._types

    @types.setter
    def types(self, value: Dict[str, int]) -> None:
        self._types = value

    @property
    def size(self) -> int:
        """Bytes of ``objects`` and ``owned``, as ``sys.getsizeof`` counts them."""
        if self._size is None:
            self._size = _total_size(self.objects) + _total_size(self.owned)
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        self._size = value

    @property
    def finalizers(self) -> List[Finalizer]:
        """A :class:`Finalizer` per object with one; empty when none."""
        if self._finalizers is None:
            self._finalizers = _finalizers(self.objects, self._flags)
        return self._finalizers

    @finalizers.setter
    def finalizers(self, value: List[Finalizer]) -> None:
        self._finalizers = value

    @property
    def uncollectable(self) -> bool:
        """A legacy ``tp_del`` finalizer reaches it: ``gc.collect()`` keeps it in ``gc.garbage``."""
        if self._uncollectable is None:
            self._uncollectable = any(map(_UNCOLLECTABLE.__and__, self._flags))
        return self._uncollectable

    @uncollectable.setter
    def uncollectable(self, value: bool) -> None:
        self._uncollectable = value

    @property
    def members(self) -> List[Any]:
        """The objects of the loop itself (a strongly connected component)."""
        return self.objects[: self.n_members]

    def __len__(self) -> int:
        return len(self.objects)

    def loop(self) -> List[Any]:
        """One shortest loop through the members: ``[a, b, ..., a]``.

        It starts at the first member that is not a plain container (list,
        dict, tuple, set, cell) when there is one.
        """
        if self._loop is None:
            self._loop = _find_loop(self.members) if self.is_loop else list(self.members)
        return self._loop

    def loop_text(self, max_steps: int = 8) -> str:
        """The loop as named references: ``'Node.parent -> Node.children[0] -> Node'``.

        Loops longer than ``max_steps`` objects show their start and end.
        """
        return _loop_text(self.loop(), max_steps)

    def other_loops(self, limit: int = 2) -> List[List[Any]]:
        """Up to ``limit`` more loops, through members the first loop misses.

        Only members that are not plain containers are looked for, so each
        extra loop brings in another object of interest (say, a bound
        method's ``__self__`` loop beside an attribute loop).
        """
        covered = {id(o) for o in self.loop()}
        loops: List[List[Any]] = []
        for m in self.members:
            if len(loops) >= limit:
                break
            if id(m) in covered or isinstance(m, _FOLDED):
                continue
            path = _shortest_loop(m, self.members)
            if len(path) > 1:
                loops.append(path)
                covered.update(id(o) for o in path)
        return loops

    def signature(self) -> Tuple[Any, ...]:
        """What makes two cycles "the same" in a report: types and finalizers."""
        return (self.is_loop, tuple(self.types.items()),
                tuple(sorted({(f.type_name, f.kind, f.finalized) for f in self.finalizers})),
                self.uncollectable)

    def show(self, filename: Optional[str] = None, max_nodes: int = 50,
             file: Optional[TextIO] = None) -> str:
        """Draw this cycle; see :func:`show_cycle`."""
        return show_cycle(self, filename, max_nodes=max_nodes, file=file)

    def format(self) -> str:
        """This cycle as a report entry."""
        return "\n".join(_describe([self], 1))

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        names = ", ".join(f"{n} {t}" for t, n in list(self.types.items())[:3])
        return f"<Cycle of {len(self.objects)} objects ({names}), {self.size} bytes>"


class CycleReport(List[Cycle]):
    """The cycles found, in topological order (a loop before the loops it reaches).

    Printing it groups alike cycles and lists the largest first. Also holds
    ``gc_objects`` (how many GC objects the analysis looked at),
    ``side_bytes`` (the peak of its side memory), ``traverse_errors``
    (``(type, referent type)`` pairs for types whose ``tp_traverse`` reports
    more references than exist) and ``title``.

    Example:

        >>> report = CycleReport(title='Nothing here')
        >>> print(report)
        Nothing here: 0 cycles, 0 objects, 0 bytes
        >>> report.objects, report.size
        (0, 0)
    """

    def __init__(self, cycles: Sequence[Cycle] = (), title: str = "Garbage cycles") -> None:
        super().__init__(cycles)
        self.title = title
        self.gc_objects = 0
        self.side_bytes = 0
        self.traverse_errors: List[Tuple[str, str]] = []
        self.notes: List[str] = []

    @property
    def objects(self) -> int:
        """How many garbage objects the cycles hold (``owned`` not included)."""
        return sum(len(c.objects) for c in self)

    @property
    def size(self) -> int:
        """Bytes of all the cycles."""
        return sum(c.size for c in self)

    def format(self, limit: Optional[int] = 10) -> str:
        """The report: alike cycles together, most bytes first, ``limit`` groups (None: all)."""
        alike: Dict[Tuple[Any, ...], List[Cycle]] = {}
        for cycle in self:
            alike.setdefault(cycle.signature(), []).append(cycle)
        kinds = sorted(alike.values(), key=lambda cs: (-sum(c.size for c in cs), -len(cs)))
        with_fin = sum(1 for c in self if c.finalizers)
        uncollectable = sum(1 for c in self if c.uncollectable)
        head = (f"{self.title}: {_plural(len(self), 'cycle')}, "
                f"{_plural(self.objects, 'object')}, {self.size:,} bytes")
        if self.gc_objects:
            head += f" (of {self.gc_objects:,} GC objects)"
        lines = [head]
        if self:
            lines.append(f"{with_fin:,} with finalizers, {uncollectable:,} uncollectable")
        lines.extend(self.notes)
        for src, dst in self.traverse_errors:
            lines.append(f"warning: {src}'s tp_traverse visits more references to {dst} than "
                         f"exist (a bug in {src}); its referents were treated as alive")
        shown = kinds if limit is None else kinds[:limit]
        for i, group in enumerate(shown, 1):
            lines.append("")
            lines.extend(_describe(group, i))
        if len(kinds) > len(shown):
            rest = kinds[len(shown):]
            lines.append("")
            lines.append(f"<{_plural(sum(len(g) for g in rest), 'more cycle')} of "
                         f"{len(rest)} other kinds>")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"<CycleReport: {len(self)} cycles, {self.objects} objects, {self.size} bytes>"


def garbage_cycles() -> CycleReport:
    """The cycles that are garbage right now, without collecting them.

    Computed in C, with the collector disabled and no Python code running:
    the same objects the next ``gc.collect()`` would find unreachable.
    Nothing is collected, finalized or moved; the returned cycles hold the
    objects (drop the report and they are garbage again).

    Example:

        >>> import gc
        >>> was_enabled = gc.isenabled(); gc.disable(); _ = gc.collect()
        >>> ring = [[] for _ in range(3)]
        >>> for a, b in zip(ring, ring[1:] + ring[:1]): a.append(b)
        >>> del ring, a, b
        >>> report = garbage_cycles()
        >>> [(len(c.members), c.loop_text()) for c in report]
        [(3, 'list[0][0][0] -> list')]
        >>> print(report.format())  # doctest: +ELLIPSIS
        Garbage cycles: 1 cycle, 3 objects, ... bytes (of ... GC objects)
        0 with finalizers, 0 uncollectable
        <BLANKLINE>
        [1] 1 cycle: 3 objects, ... bytes
            loop:    list[0][0][0] -> list
            objects: 3 list
        >>> del report; _ = gc.collect()
        >>> if was_enabled: gc.enable()
    """
    return _report(_core.garbage_cycles(), "Garbage cycles")


def explain_garbage() -> CycleReport:
    """What is in ``gc.garbage``, grouped into cycles.

    ``gc.garbage`` holds the objects the collector could not free (a legacy
    ``tp_del`` finalizer in the cycle), or, under ``gc.DEBUG_SAVEALL``, every
    object it found unreachable. The analysis treats ``gc.garbage``'s own
    references as if the list were empty, so each cycle shows up whole.
    Objects in ``gc.garbage`` that something else also refers to are not
    part of any cycle; the report says how many.

    Example:

        >>> import gc
        >>> _ = gc.collect(); old_flags = gc.get_debug(); gc.set_debug(gc.DEBUG_SAVEALL)
        >>> d = {}; d['self'] = d; del d
        >>> _ = gc.collect()
        >>> print(explain_garbage().format())  # doctest: +ELLIPSIS
        gc.garbage: 1 cycle, 1 object, ... bytes (of ... GC objects)
        0 with finalizers, 0 uncollectable
        <BLANKLINE>
        [1] 1 cycle: 1 object, ... bytes
            loop:    dict['self'] -> dict
            objects: 1 dict
        >>> gc.set_debug(old_flags); gc.garbage.clear()
    """
    return _explain(gc.garbage, "gc.garbage")


@contextlib.contextmanager
def collected_cycles() -> Iterator[CycleReport]:
    """Run a block under ``gc.DEBUG_SAVEALL`` and report the cycles it created.

    On entry: one ``gc.collect()`` (with the current flags, so earlier
    garbage goes its usual way), then ``gc.garbage`` is set aside and
    ``DEBUG_SAVEALL`` turned on. On exit, even on error: ``gc.collect()``,
    the report (yielded empty, filled now), then the previous flags and the
    previous ``gc.garbage`` content come back. Cycles other threads create
    meanwhile are reported too. Finalizers ran during the collection, so
    they show as already run.

    Example:

        >>> class Job:
        ...     def __init__(self): self.callback = self.done
        ...     def done(self): pass
        >>> with collected_cycles() as report:
        ...     job = Job(); del job
        >>> [c.loop_text() for c in report]
        ['Job.callback -> method.__self__ -> Job']
        >>> del report
    """
    gc.collect()
    flags = gc.get_debug()
    saved = list(gc.garbage)
    del gc.garbage[:]
    report = CycleReport(title="Cycles the block created")
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        yield report
    finally:
        try:
            gc.collect()
            found = _explain(gc.garbage, report.title)
            report.extend(found)
            report.gc_objects, report.side_bytes = found.gc_objects, found.side_bytes
            report.traverse_errors, report.notes = found.traverse_errors, found.notes
            del found
        finally:
            gc.garbage[:] = saved
            gc.set_debug(flags)


def show_cycle(cycle: Cycle, filename: Optional[str] = None, max_nodes: int = 50,
               file: Optional[TextIO] = None) -> str:
    """Draw one cycle as a graphviz graph; returns the file written.

    Nodes are labelled as objgraph labels them (type name and short repr);
    the loop's members are shaded, those with a finalizer darker; edges are
    labelled with the reference's name. ``filename`` ending in ``.dot``
    writes DOT only; ``.png``/``.svg``/``.pdf`` also renders it with the
    graphviz ``dot`` program (the ``.dot`` file is kept beside it, and when
    ``dot`` is missing a message says so and the ``.dot`` file is returned).
    Without ``filename`` a temporary ``.png`` is made. At most ``max_nodes``
    objects are drawn, the members first.

    Example:

        >>> import gc, os, tempfile
        >>> was_enabled = gc.isenabled(); gc.disable()
        >>> d = {}; d['self'] = d; del d
        >>> [cycle] = [c for c in garbage_cycles() if c.loop_text() == "dict['self'] -> dict"]
        >>> path = os.path.join(tempfile.mkdtemp(), 'cycle.dot')
        >>> show_cycle(cycle, path) == path
        Graph written to ....dot (1 nodes)
        True
        >>> print(open(path).read())  # doctest: +ELLIPSIS
        digraph ObjectGraph {
          node[shape=box, style=filled, fillcolor=white];
          o... [label="dict\\n{'self': {...}}", fillcolor="#f4b9b2"];
          o... -> o... [label="['self']"];
        }
        <BLANKLINE>
        >>> del cycle; _ = gc.collect()
        >>> if was_enabled: gc.enable()
    """
    if not isinstance(cycle, Cycle):
        raise TypeError(f"cycle must be a Cycle, not {type(cycle).__name__}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, not {max_nodes!r}")
    out = file if file is not None else sys.stdout
    if filename is None:
        fd, filename = tempfile.mkstemp(prefix="pymemtrack-cycle-", suffix=".png")
        os.close(fd)
    base, ext = os.path.splitext(filename)
    ext = ext.lower()
    dot_path = filename if ext == ".dot" else base + ".dot"
    nodes = _write_dot(cycle, dot_path, max_nodes)
    print(f"Graph written to {dot_path} ({nodes} nodes)", file=out)
    if ext == ".dot":
        return dot_path
    dot = shutil.which("dot")
    if dot is None:
        print(f"Image renderer (graphviz 'dot') not found, so {filename} was not made; "
              f"install graphviz (apt-get install graphviz) or render {dot_path} yourself",
              file=out)
        return dot_path
    fmt = ext.lstrip(".") or "png"
    proc = subprocess.run([dot, f"-T{fmt}", "-o", filename, dot_path],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"graphviz 'dot' failed ({proc.stderr.strip()}); the graph is in {dot_path}",
              file=out)
        return dot_path
    print(f"Image generated as {filename}", file=out)
    return filename


# ---- helpers ---------------------------------------------------------------------


def _object_size(obj: Any) -> int:
    """Bytes of one object. The one place sizes come from (sys.getsizeof for now)."""
    try:
        return sys.getsizeof(obj)
    except Exception:  # a broken __sizeof__ must not break the report
        return 0


def _finalizer_kind(tp: type) -> str:
    """'__del__' when a Python class defines it, else 'tp_finalize' (a C finalizer)."""
    for klass in type.__getattribute__(tp, "__mro__"):
        d = type.__getattribute__(klass, "__dict__")
        if "__del__" in d:
            # A C type's tp_finalize shows in its dict as a slot wrapper.
            return "tp_finalize" if isinstance(d["__del__"], types.WrapperDescriptorType) \
                else "__del__"
    return "tp_finalize"


def _total_size(objs: List[Any]) -> int:
    """The sum of _object_size() over objs (one C call when no __sizeof__ fails)."""
    try:
        return sum(map(sys.getsizeof, objs))
    except Exception:
        return sum(_object_size(o) for o in objs)


def _by_count(kv: Tuple[str, int]) -> Tuple[int, str]:
    return -kv[1], kv[0]


def _ranked_types(objs: List[Any]) -> Dict[str, int]:
    """objgraph type name -> count, most first, then by name."""
    counts: Dict[str, int] = {}
    for o in objs:
        name = type(o).__name__
        counts[name] = counts.get(name, 0) + 1
    if len(counts) > 1:
        counts = dict(sorted(counts.items(), key=_by_count))
    return counts


def _finalizers(objects: List[Any], flags: bytes) -> List[Finalizer]:
    """A :class:`Finalizer` per object whose flags say its type has one."""
    found: List[Finalizer] = []
    if not any(map((_FINALIZE | _LEGACY).__and__, flags)):
        return found
    kinds: Dict[type, str] = {}
    for obj, f in zip(objects, flags):
        if f & (_FINALIZE | _LEGACY):
            tp = type(obj)
            kind = kinds.get(tp) if not f & _LEGACY else "tp_del"
            if kind is None:
                kind = kinds[tp] = _finalizer_kind(tp)
            found.append(Finalizer(obj, kind, bool(f & _FINALIZED), bool(f & _MEMBER)))
    return found


def _report(raw: Tuple[Any, ...], title: str, keep: Optional[set] = None) -> CycleReport:
    objects, groups, flags, owned, anomalies, stats = raw
    report = CycleReport(title=title)
    report.gc_objects, report.side_bytes = stats[0], stats[1]
    report.traverse_errors = [(t.__name__, v.__name__) for t, v in anomalies]
    start = owned_start = 0
    for n_members, n_objects, is_loop, n_owned in groups:
        end, owned_end = start + n_objects, owned_start + n_owned
        chunk = objects[start:end]
        if keep is None or any(id(o) in keep for o in chunk):
            report.append(Cycle(chunk, n_members, is_loop, flags[start:end],
                                owned[owned_start:owned_end]))
        start, owned_start = end, owned_end
    for src, dst in report.traverse_errors:
        warnings.warn(f"pymemtrack: {src}'s tp_traverse visits more references to {dst} than "
                      f"exist; treated as alive", RuntimeWarning, stacklevel=3)
    return report


def _explain(garbage: List[Any], title: str) -> CycleReport:
    keep = {id(o) for o in garbage}
    report = _report(_core.garbage_cycles(garbage), title, keep)
    found = {id(o) for c in report for o in c.objects}
    outside = len(keep - found)
    if outside:
        report.notes.append(f"{_plural(outside, 'object')} in {title} also referred to from "
                            f"elsewhere (alive; not shown)")
    return report


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _describe(cycles: List[Cycle], index: int) -> List[str]:
    first = cycles[0]
    n = len(cycles)
    total = sum(c.size for c in cycles)
    what = "cycle" if first.is_loop else "object kept by no loop"
    if n == 1:
        head = f"[{index}] 1 {what}: {_plural(len(first), 'object')}, {total:,} bytes"
    else:
        head = (f"[{index}] {n:,} {what}s like this: {_plural(len(first), 'object')}, "
                f"~{total // n:,} bytes each ({total:,} bytes in all)")
    lines = [head, f"    loop:    {first.loop_text()}"]
    lines += [f"    also:    {_loop_text(path, 8)}" for path in first.other_loops()]
    lines.append("    objects: " + ", ".join(f"{k:,} {t}" for t, k in first.types.items()))
    owned = [o for c in cycles for o in c.owned]
    if owned:
        tail = " (non-GC, freed with it)" if n == 1 else " in all (non-GC, freed with them)"
        lines.append("    owns:    " + _type_counts(owned) + tail)
    if first.finalizers:
        fin = collections.Counter(f.describe() for f in first.finalizers)
        lines.append("    finalizers: " + ", ".join(
            d if k == 1 else f"{k} x {d}" for d, k in fin.items()))
    if first.uncollectable:
        lines.append("    UNCOLLECTABLE: a legacy tp_del finalizer; gc.collect() moves it "
                     "to gc.garbage instead of freeing it")
    return lines


def _type_counts(objs: List[Any]) -> str:
    return ", ".join(f"{k:,} {t}" for t, k in _ranked_types(objs).items())


def _find_loop(members: List[Any]) -> List[Any]:
    """A shortest loop through the members, started so that its text is stable.

    The start is, among the first few members that are not plain containers
    (or the first few members when all are), the one whose loop reads first
    alphabetically: the same loop whatever the members' addresses.
    """
    if not members:
        return []
    candidates = [m for m in members if not isinstance(m, _FOLDED)] or members
    best: Optional[Tuple[str, List[Any]]] = None
    for start in candidates[:_LOOP_CANDIDATES]:
        path = _shortest_loop(start, members)
        text = _loop_text(path, len(path) + 1)
        if best is None or text < best[0]:
            best = (text, path)
    assert best is not None
    return best[1]


def _shortest_loop(start: Any, members: List[Any]) -> List[Any]:
    """Breadth-first search over referents, inside the members, back to start."""
    inside = {id(m) for m in members}
    parent: Dict[int, Any] = {id(start): None}
    queue = collections.deque([start])
    while queue:
        node = queue.popleft()
        for ref in gc.get_referents(node):
            if ref is start:
                path = [node]
                while parent[id(path[-1])] is not None:
                    path.append(parent[id(path[-1])])
                path.reverse()
                return path + [start]
            rid = id(ref)
            if rid not in parent and (rid in inside or _is_own_dict(node, ref)):
                parent[rid] = node
                queue.append(ref)
    return [start]


def _is_own_dict(obj: Any, ref: Any) -> bool:
    """Whether ref is obj's instance ``__dict__``. On 3.11+ naming an attribute
    (edges.py) materializes that dict after the analysis, so a loop found
    later may have to go through it."""
    if type(ref) is not dict or isinstance(obj, type):
        return False
    try:
        return object.__getattribute__(obj, "__dict__") is ref
    except Exception:
        return False


def _node_name(obj: Any) -> str:
    name = type(obj).__name__
    if isinstance(obj, types.FunctionType):
        return f"{name}({obj.__qualname__})"
    if isinstance(obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
        return f"{name}({obj.__qualname__})"
    if isinstance(obj, types.FrameType):
        return f"{name}({obj.f_code.co_name})"
    if isinstance(obj, type):
        return f"{name}({type.__getattribute__(obj, '__qualname__')})"
    return name


def _loop_text(path: List[Any], max_steps: int) -> str:
    if not path:
        return ""
    if len(path) == 1:
        return _node_name(path[0])
    steps: List[str] = []
    text = _node_name(path[0])
    i = 0
    last = len(path) - 1
    while i < last:
        src, dst = path[i], path[i + 1]
        label = edge_label(src, dst)
        # instance -> its __dict__ -> value reads as instance.name
        if label == ".__dict__" and i + 2 <= last and not isinstance(src, type):
            through = edge_label(src, path[i + 2])
            if through != "?":
                label, dst, i = through, path[i + 2], i + 1
        step = "" if label == "?" else label
        i += 1
        if i < last and isinstance(dst, _FOLDED) and step:
            text += step
            continue
        steps.append(text + step)
        text = _node_name(dst) if i < last else ""
    steps.append(_node_name(path[0]))
    if len(steps) > max_steps + 1:
        hidden = len(steps) - max_steps
        head, tail_n = max_steps // 2, max_steps - max_steps // 2
        steps = steps[:head] + [f"... ({hidden} more)"] + steps[-tail_n:]
    return " -> ".join(steps)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _write_dot(cycle: Cycle, path: str, max_nodes: int) -> int:
    """Writes the DOT file; returns the number of nodes drawn."""
    drawn = cycle.objects[:max_nodes]
    ids = {id(o) for o in drawn}
    fin = {id(f.obj) for f in cycle.finalizers}
    lines = ["digraph ObjectGraph {", "  node[shape=box, style=filled, fillcolor=white];"]
    for k, obj in enumerate(drawn):
        label = _quote(f"{_node_name(obj)}\n{short_repr(obj)}")
        color = ("#e8554e" if id(obj) in fin else "#f4b9b2") if k < cycle.n_members else \
            ("#f7d6a0" if id(obj) in fin else "white")
        lines.append(f'  o{id(obj)} [label="{label}", fillcolor="{color}"];')
    for obj in drawn:
        for ref in gc.get_referents(obj):
            if id(ref) in ids:
                label = _quote(edge_label(obj, ref))
                lines.append(f'  o{id(obj)} -> o{id(ref)} [label="{label}"];')
    if len(cycle.objects) > len(drawn):
        lines.append(f'  more [label="{len(cycle.objects) - len(drawn)} more objects", '
                     'shape=plaintext, fillcolor=white];')
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return len(drawn)
