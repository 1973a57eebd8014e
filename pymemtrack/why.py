"""Why is this object alive? Retention paths from the roots, in words.

:func:`why_alive` answers "who holds this object?" with the shortest paths
of references from a root to it: a module in ``sys.modules``, a class, a
running function's local variable, or an object nothing the garbage
collector sees refers to (held from C). The search runs in C over a
reverse-reference index built with one pass over the heap, so a path
thousands of links deep is found as fast as a short one, and it keeps no
object alive afterwards. Paths read like code::

    imaging.IMAGE_FORMAT_EXCEPTION .__traceback__ .tb_next x1998 .tb_frame .f_locals['req'] -> ImageRequest

Repeated links of one kind are folded with a count. When ``tracemalloc``
is tracing, each object on the path also shows where it was allocated.
:func:`show_growth_culprits` goes from "these types grew" to such a path for
a sample new object of each type, in one call.

Example:

    >>> class Session: pass
    >>> import types, sys
    >>> registry = types.ModuleType('registry')
    >>> sys.modules['registry'] = registry
    >>> registry.ACTIVE = {'s1': Session()}
    >>> print(why_alive(registry.ACTIVE['s1']))
    registry.ACTIVE ['s1'] -> Session
    >>> del sys.modules['registry']
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import tracemalloc
import types
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, TextIO, Tuple

from . import _core
from .edges import edge_label
from .refs import _ignore_ids

__all__ = ["Culprit", "Link", "RetentionPath", "WhyAlive", "growth_culprits", "mark_objects",
           "show_growth_culprits", "why_alive"]


class Link(NamedTuple):
    """One object on a retention path and how the previous object refers to it."""

    step: str                   #: e.g. ``.attr``, ``['key']``, ``[3]``; '' for the root
    type_name: str
    address: int
    allocated: Optional[str]    #: ``file.py:12`` when tracemalloc saw the allocation


class RetentionPath(NamedTuple):
    """A chain of references from a root to the object, root first.

    ``kind`` is 'module', 'class', 'frame' (a running function's local
    variables) or 'outside' (an object no GC-tracked object refers to:
    held from C code). ``links[0]`` is the root, ``links[-1]`` the object.
    """

    kind: str
    root: str
    links: Tuple[Link, ...]

    def steps(self) -> List[Tuple[str, int, Tuple[Link, ...]]]:
        """The links after the root, runs of the same step folded: (step, count, links)."""
        runs: List[List[Link]] = []
        for link in self.links[1:]:
            if runs and runs[-1][0].step == link.step:
                runs[-1].append(link)
            else:
                runs.append([link])
        return [(run[0].step, len(run), tuple(run)) for run in runs]

    @property
    def text(self) -> str:
        """The path on one line, e.g. ``mod.CACHE ['k'] .items x3 -> Foo``."""
        if len(self.links) == 1:
            return f"{self.root} -> {self.links[0].type_name} (it is a root itself: {self.kind})"
        words = [self.root]
        for i, (step, n, _) in enumerate(self.steps()):
            word = step if n == 1 else f"{step} x{n}"
            if i == 0 and self.kind in ("module", "class") and step.startswith("."):
                words[0] += word
            else:
                words.append(word)
        return " ".join(words) + f" -> {self.links[-1].type_name}"

    def allocation_lines(self) -> List[str]:
        """One line per folded step: its type and where tracemalloc saw it allocated."""
        rows = [(self.root, self.links[0].type_name, _sites((self.links[0],)))]
        rows += [(step if n == 1 else f"{step} x{n}", links[0].type_name, _sites(links))
                 for step, n, links in self.steps()]
        width = max(len(r[0]) for r in rows)
        twidth = max(len(r[1]) for r in rows)
        return ["%-*s  %-*s  %s" % (width, a, twidth, b, c) for a, b, c in rows]


class WhyAlive:
    """The answer of :func:`why_alive`: ``str()`` is the text, ``paths`` the data.

    It holds no reference to the objects on the paths (only their type
    names, addresses and allocation sites), so keeping it keeps nothing alive.
    """

    def __init__(self, type_name: str, address: int, paths: List[RetentionPath],
                 note: str, traced: bool) -> None:
        self.type_name = type_name      #: the object's type name
        self.address = address          #: id() of the object
        self.paths = paths              #: shortest first
        self.note = note                #: why no path was found, or what else holds it
        self.traced = traced            #: tracemalloc was tracing

    def __bool__(self) -> bool:
        return bool(self.paths)

    def __str__(self) -> str:
        if not self.paths:
            return self.note
        lines = []
        for path in self.paths:
            lines.append(path.text)
            if self.traced:
                lines.extend("    " + line for line in path.allocation_lines())
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<WhyAlive {self.type_name} at {self.address:#x}: "
                f"{len(self.paths)} path(s)>")


def why_alive(obj: Any, limit: int = 1, extra_ignore: Iterable[int] = ()) -> WhyAlive:
    """Why is ``obj`` alive: the shortest retention path(s) from the roots to it.

    Returns up to ``limit`` paths from different roots, shortest first.
    Roots are modules in ``sys.modules``, classes, the local variables of
    running functions (any thread) and objects nothing the garbage
    collector tracks refers to. References straight from the calling
    thread's running frames to ``obj`` (how you handed it in) are not
    counted; ``extra_ignore`` holds ids of other objects to leave out.
    When nothing but C code holds ``obj``, the answer says so: that is the
    signature of a missing ``Py_DECREF`` in an extension. No collection is
    run.

    Example:

        >>> cache = {'recent': [object()]}
        >>> answer = why_alive(cache['recent'][0])
        >>> answer.paths[0].text.endswith("['cache'] ['recent'] [0] -> object")
        True
    """
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    return _why(obj, limit, extra_ignore)   # (_calibration_entry mirrors this frame)


class Culprit(NamedTuple):
    """A type that grew, and why one of its new objects is alive."""

    type_name: str
    count: int
    delta: int
    why: WhyAlive


def mark_objects() -> "_core.IdMap":
    """Record the ids of every GC-tracked object now (natively, 8 bytes each).

    Pass it to :func:`growth_culprits` or :func:`show_growth_culprits` to
    sample exactly the objects created after it.

    Example:

        >>> mark = mark_objects()
        >>> len(mark) > 0
        True
    """
    gc.collect()
    return _core.IdMap(True)


def growth_culprits(since: Any, limit: int = 5) -> List[Culprit]:
    """For each of the ``limit`` types that grew most since ``since``: why a new one is alive.

    ``since`` is a mark from :func:`mark_objects` (the sample is an object
    created after it) or a :class:`~pymemtrack.Snapshot` (the sample is the
    newest tracked object of the type). Runs ``gc.collect()`` first.

    Example:

        >>> class Job: pass
        >>> mark = mark_objects()
        >>> QUEUE = [Job() for _ in range(50)]
        >>> top = [c for c in growth_culprits(mark, limit=10) if c.type_name == 'Job'][0]
        >>> top.delta, top.why.paths[0].text.endswith('] -> Job')
        (50, True)
    """
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"limit must be an int, not {type(limit).__name__}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    gc.collect()
    if isinstance(since, _core.IdMap):
        rows = [(name, cur, cur - old, new) for name, old, cur, new in _core.IdMap(True).diff(since)
                if cur > old and new]
        rows.sort(key=lambda r: (-r[2], r[0]))
        grown = [(name, cur, delta, lambda new=new: _core.at_addrs(sorted(new)[-1:]))
                 for name, cur, delta, new in rows[:limit]]
    elif isinstance(since, _core.Snapshot):
        diff = _core.Snapshot().compare_to(since)   # type: ignore[attr-defined]
        grown = [(r.type_name, r.count, r.count_delta,
                  lambda name=r.type_name: _core.by_type(name)[-1:])
                 for r in diff[:limit] if r.count_delta > 0]
    else:
        raise TypeError("since must be a mark from mark_objects() or a Snapshot, not "
                        f"{type(since).__name__}")
    out = []
    for name, count, delta, sample in grown:
        objs = sample()
        if objs:
            answer = _why(objs[0], 1, (id(objs),))
        else:
            answer = WhyAlive(name, 0, [], "(no sample object left)", False)
        del objs
        out.append(Culprit(name, count, delta, answer))
    return out


def show_growth_culprits(since: Any, limit: int = 5, file: Optional[TextIO] = None) -> None:
    """Print the types that grew since ``since`` and, for each, why a new object is alive.

    Example:

        >>> class Job: pass
        >>> mark = mark_objects()
        >>> QUEUE = [Job() for _ in range(50)]
        >>> show_growth_culprits(mark, limit=1)  # doctest: +ELLIPSIS
        Job  +50 (50 now)
            ...['QUEUE'] [...] -> Job
    """
    culprits = growth_culprits(since, limit)
    out = file if file is not None else sys.stdout
    if not culprits:
        out.write("No type grew.\n")
        return
    width = max(len(c.type_name) for c in culprits)
    for c in culprits:
        out.write("%-*s  %+d (%d now)\n" % (width, c.type_name, c.delta, c.count))
        for line in str(c.why).splitlines():
            out.write("    " + line + "\n")


# ---- the search ----------------------------------------------------------------

_OWN_FILE = os.path.normcase(os.path.abspath(__file__))


def _own_frame(frame: types.FrameType) -> bool:
    return os.path.normcase(os.path.abspath(frame.f_code.co_filename)) == _OWN_FILE


class _Roots:
    """The roots handed to the search, and how to name them."""

    def __init__(self) -> None:
        self.ids: set = set()
        self.frames: Dict[int, Tuple[types.FrameType, str]] = {}   # locals dict id -> frame
        self.skip_direct: set = set()
        self.keep: List[Any] = []          # the locals dicts, alive for the search
        self.local_refs: Dict[int, int] = {}


def _collect_roots(obj: Any, own: set) -> _Roots:
    """Modules and running frames (their locals); ``own`` gets the ids of our own
    frames (ids only: holding a finished frame of ours would make a cycle)."""
    roots = _Roots()
    for module in list(sys.modules.values()):
        if isinstance(module, types.ModuleType):
            roots.ids.add(id(module))
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    for ident, frame in sys._current_frames().items():
        while frame is not None:
            if _own_frame(frame):
                own.add(id(frame))
            else:
                _add_frame_root(roots, frame, names.get(ident, str(ident)), ident == me, obj)
            frame = frame.f_back
    return roots


def _add_frame_root(roots: _Roots, frame: types.FrameType, thread: str, mine: bool,
                    obj: Any) -> None:
    """A running frame is not GC-tracked: its locals become a root through a dict of them.

    Function frames are read with _core.frame_locals (frame.f_locals would
    leave a snapshot in the frame that keeps the locals alive); a module or
    class body's f_locals is its real namespace, read as it is.
    """
    if frame.f_code.co_flags & _CO_OPTIMIZED:
        snapshot = _core.frame_locals(frame)
    else:
        snapshot = frame.f_locals
        if snapshot is frame.f_globals or type(snapshot) is not dict:
            return                          # module level: the module is the root
    roots.keep.append(snapshot)
    roots.ids.add(id(snapshot))
    roots.frames[id(snapshot)] = (frame, thread)
    holds = sum(1 for value in snapshot.values() if value is obj)
    roots.local_refs[id(frame)] = holds
    if mine:
        roots.skip_direct.add(id(snapshot))


_CALIBRATION: List[int] = []
_CO_OPTIMIZED = 0x0001      # inspect.CO_OPTIMIZED: a function's frame, locals in fast slots


def _why(obj: Any, limit: int, extra_ignore: Iterable[int], calibrating: bool = False) -> Any:
    own = {id(sys._getframe())}
    roots = _collect_roots(obj, own)
    ignore = _ignore_ids(extra_ignore)
    ignore.update(own)
    ignore.update((id(roots.keep), id(roots)))
    unexplained, direct, raw = _core.retention_paths(obj, roots.ids, ignore, roots.skip_direct,
                                                     limit)
    if calibrating:
        return unexplained
    traced = tracemalloc.is_tracing()
    # Named roots first: an object no GC object refers to explains the least.
    raw.sort(key=lambda r: (_kind_of(r[0], r[1][0], roots) == "outside", len(r[1]),
                            _KIND_ORDER.index(_kind_of(r[0], r[1][0], roots))))
    paths = [_describe(kind, chain, roots, traced) for kind, chain in raw[:limit]]
    # Objects held from outside the GC graph that lead to obj by a route of
    # their own (not by holding something on a path shown) are worth a word.
    shown = {id(x) for _, chain in raw[:limit] for x in chain[:-1]}
    others = [chain for kind, chain in raw[limit:]
              if kind == "unreferenced" and id(chain[1]) not in shown]
    note = "" if paths else _no_path_note(obj, unexplained, direct, roots)
    if paths and others:
        first = others[0]
        note = (f"(also held through {len(others)} object(s) no GC object refers to (from C "
                f"or a running frame), e.g. <{type(first[0]).__name__} at {id(first[0]):#x}>, "
                f"{len(first) - 1} link(s) away; raise limit to list them)")
    del raw, others
    return WhyAlive(type(obj).__name__, id(obj), paths, note, traced)


_KIND_ORDER = ("module", "class", "frame", "outside")


def _kind_of(kind: str, root: Any, roots: _Roots) -> str:
    if kind == "root":
        return "frame" if id(root) in roots.frames else "module"
    return "class" if kind == "class" else "outside"


def _no_path_note(obj: Any, unexplained: int, direct: int, roots: _Roots) -> str:
    name = type(obj).__name__
    if not _CALIBRATION:
        _CALIBRATION.append(_calibrate())
    # References no GC-tracked object explains: ours (calibrated), the running
    # frames' local variables, and the rest, which only C code can hold.
    outside = unexplained - _CALIBRATION[0] + 1 - sum(roots.local_refs.values())
    caller = (f" (besides {direct} running frame(s) of this thread, the calling code)"
              if direct else "")
    if outside > 0:
        return (f"Nothing the garbage collector can see holds this {name}{caller}: about "
                f"{outside} reference(s) come from outside the GC graph, from C code (an "
                "extension's static or cache, or a missing Py_DECREF).")
    if direct:
        return (f"Only the calling code holds this {name}: {direct} running frame(s) of this "
                "thread refer to it directly, and no other path leads to it.")
    return (f"Nothing holds this {name} but the reference you passed in: it is freed once "
            "you drop it.")


class _Probe:
    pass


def _calibrate() -> int:
    """The unexplained references of an object held by one local, asked about as
    a caller of why_alive would: our own call path's share, measured."""
    probe = _Probe()
    return _calibration_entry(probe)


def _calibration_entry(obj: Any) -> int:
    return _why(obj, 1, (), True)   # the same frames and calls as why_alive


def _describe(kind: str, chain: List[Any], roots: _Roots, traced: bool) -> RetentionPath:
    root = chain[0]
    kind = _kind_of(kind, root, roots)
    if kind == "frame":
        root_text = _frame_text(*roots.frames[id(root)])
    elif kind == "module":
        root_text = getattr(root, "__name__", "?")
    elif kind == "class":
        root_text = "%s.%s" % (getattr(root, "__module__", "?"),
                               getattr(root, "__qualname__", root.__name__))
    else:
        root_text = "<%s at %#x, held from outside the GC graph>" % (type(root).__name__,
                                                                       id(root))
    links = [Link("", type(root).__name__, id(root), _site(root) if traced else None)]
    plain: Dict[Tuple[type, str], bool] = {}    # (type, name): a plain attribute to read
    i = 1
    while i < len(chain):
        src, dst = chain[i - 1], chain[i]
        step = links[-1].step
        if not (step[1:].isidentifier() and step[0] == "." and len(links) > 1
                and _plain_attribute(plain, type(src), step[1:])
                and _reads(src, step[1:]) is dst):
            merged = _attribute_step(src, dst, chain[i + 1]) if i + 1 < len(chain) else None
            if merged is not None:
                i += 1
                dst = chain[i]
                step = merged
            elif kind == "frame" and i == 1:
                step = ".f_locals" + edge_label(src, dst)
            else:
                step = edge_label(src, dst)
        links.append(Link(step, type(dst).__name__, id(dst), _site(dst) if traced else None))
        i += 1
    return RetentionPath(kind, root_text, tuple(links))


_NOTHING = object()


def _reads(obj: Any, name: str) -> Any:
    # Interned: on 3.10/3.11 the type attribute cache keeps the name it is
    # given, so a fresh string per call would stay behind (a -R check sees it).
    try:
        return object.__getattribute__(obj, sys.intern(name))
    except Exception:
        return _NOTHING


def _plain_attribute(cache: Dict[Tuple[type, str], bool], tp: type, name: str) -> bool:
    """Whether object.__getattribute__(x, name) runs no user code for x of type tp:
    the name is not defined by a Python class (a property could run), or is a slot."""
    key = (tp, name)
    if key not in cache:
        ok = True
        for klass in tp.__mro__:
            if name in vars(klass):
                descr = vars(klass)[name]
                ok = (not klass.__flags__ & _HEAPTYPE
                      or type(descr) is types.MemberDescriptorType)
                break
        cache[key] = ok
    return cache[key]


_HEAPTYPE = 1 << 9      # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


def _attribute_step(owner: Any, d: Any, value: Any) -> Optional[str]:
    """``.name`` for owner -> owner.__dict__ -> value, when the key is an identifier."""
    if type(d) is not dict or not _is_namespace_of(owner, d):
        return None
    for key, item in dict.items(d):
        if item is value and isinstance(key, str) and key.isidentifier():
            return "." + key
    return None


def _is_namespace_of(owner: Any, d: dict) -> bool:
    if isinstance(owner, types.ModuleType):
        return vars(owner) is d
    if isinstance(owner, type):
        return edge_label(owner, d) == ".__dict__"
    try:
        return object.__getattribute__(owner, "__dict__") is d
    except Exception:
        return False


def _frame_text(frame: types.FrameType, thread: str) -> str:
    code = frame.f_code
    return "%s() at %s:%d [thread %s]" % (code.co_name, os.path.basename(code.co_filename),
                                          frame.f_lineno, thread)


def _site(obj: Any) -> Optional[str]:
    frames = _core.object_traceback(obj)
    if not frames:
        return None
    filename, lineno = frames[0]
    return "%s:%d" % (os.path.basename(filename), lineno)


def _sites(links: Tuple[Link, ...]) -> str:
    seen: Dict[str, int] = {}
    for link in links:
        if link.allocated:
            seen[link.allocated] = seen.get(link.allocated, 0) + 1
    if not seen:
        return "allocation not traced"
    ranked = sorted(seen.items(), key=lambda kv: -kv[1])
    text = "allocated at " + ranked[0][0]
    if len(ranked) > 1:
        text += " (and %d other sites)" % (len(ranked) - 1)
    return text

