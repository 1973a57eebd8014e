"""Leak checks for code you can call repeatedly: CPython's -R rule, confirmed by scaling.

The rule (used by the pytest plugin too, see :mod:`pymemtrack.pytest_plugin`):

1. Call the code ``warmup`` times (lazy imports, caches and freelists fill).
2. Clear the caches CPython's own refleak hunter clears (:func:`clear_caches`),
   collect, and count the objects the garbage collector tracks, per type.
3. ``runs`` times: call once, clear, collect, count again. A type is a
   candidate when its count grew by at least one in *every* run.
4. Confirm each candidate by scaling: 2 batches of ``scale`` calls each. A
   real leak grows in proportion; a cache that was filling up does not. A
   candidate is a leak when every batch grew by at least half of
   ``scale`` times its smallest per-run growth.
5. For each leak, one of the new objects is shown with what keeps it alive
   (``pymemtrack.why_alive`` when it exists, else its direct referrers).

Only objects the garbage collector tracks are counted (instances, dicts,
lists, tuples holding objects, functions, frames...): a leak made only of
str, bytes, int or float objects is not seen.

Example:

    >>> from pymemtrack.leakcheck import find_leaks
    >>> class Session: pass
    >>> sessions = []
    >>> report = find_leaks(lambda: sessions.append(Session()))
    >>> report.leaked_types()
    ['pymemtrack.leakcheck.Session']
    >>> find_leaks(lambda: [Session() for _ in range(10)]).ok
    True
"""

from __future__ import annotations

import collections
import contextlib
import fnmatch
import gc
import math
import reprlib
import sys
import types
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from . import _core

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_SCALE",
    "DEFAULT_WARMUP",
    "LeakChecker",
    "LeakError",
    "LeakReport",
    "TypeLeak",
    "assert_no_leaks",
    "clear_caches",
    "collect",
    "find_leaks",
]

DEFAULT_WARMUP = 3
DEFAULT_RUNS = 4
DEFAULT_SCALE = 4
#: Number of scaled batches (of ``scale`` calls each) that confirm a candidate.
CONFIRM_BATCHES = 2
#: Leaking types shown in full in a report; the rest are summarised.
REPORT_TYPES = 8
#: Objects examined at most when working out what the test's containers own.
OWNED_LIMIT = 200_000

TypeFilter = Optional[Callable[[str], bool]]


@dataclass(frozen=True)
class TypeLeak:
    """One type that leaked: its growth per run and per scaled batch, and a sample."""

    type_name: str
    run_deltas: Tuple[int, ...]
    batch_deltas: Tuple[int, ...]
    needed: int
    sample: str = ""
    held_by: str = ""

    @property
    def display_name(self) -> str:
        """The name without ``builtins.``, as objgraph shows it."""
        return _short(self.type_name)


@dataclass
class LeakReport:
    """What a leak check found; ``str()`` is the report shown when a test fails."""

    name: str
    warmup: int
    runs: int
    scale: int
    leaks: List[TypeLeak] = field(default_factory=list)
    #: candidates (grew in every run) that the scaled batches did not confirm
    unconfirmed: List[TypeLeak] = field(default_factory=list)
    calls: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing leaked."""
        return not self.leaks

    def leaked_types(self) -> List[str]:
        """Qualified names (``module.name``) of the leaking types."""
        return [leak.type_name for leak in self.leaks]

    def format(self) -> str:
        """The report as text, short enough to read in a terminal."""
        if self.ok:
            return f"{self.name}: no leak ({self.calls} calls)"
        names = ", ".join(leak.display_name for leak in self.leaks[:REPORT_TYPES])
        more = len(self.leaks) - REPORT_TYPES
        lines = [
            f"{self.name} leaks {len(self.leaks)} type(s): {names}"
            + (f" and {more} more" if more > 0 else ""),
            f"  rule: count grew in each of {self.runs} runs (after {self.warmup} warm-ups), "
            f"then by >= half of {self.scale}x that in each of {CONFIRM_BATCHES} batches "
            f"of {self.scale} calls",
        ]
        width = max(len(leak.display_name) for leak in self.leaks[:REPORT_TYPES])
        for leak in self.leaks[:REPORT_TYPES]:
            runs = " ".join("%+d" % d for d in leak.run_deltas)
            batches = " ".join("%+d" % d for d in leak.batch_deltas)
            lines.append(
                f"  {leak.display_name:<{width}}  per run: {runs}   "
                f"x{self.scale} calls: {batches} (>= {leak.needed})"
            )
        for leak in self.leaks[:REPORT_TYPES]:
            if leak.sample:
                lines.append(f"  sample {leak.sample}")
                if leak.held_by:
                    lines.append(f"    held by: {leak.held_by}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


class LeakError(AssertionError):
    """Raised by :meth:`LeakChecker.check` and :func:`assert_no_leaks`; ``report`` says what."""

    def __init__(self, report: "LeakReport | str") -> None:
        super().__init__(str(report))
        self.report = report


class LeakChecker:
    """The leak rule with its settings, for checks inside a test or a script.

    ``ignore`` holds fnmatch patterns matched against both the qualified
    (``mypkg.Cache``) and the short (``Cache``) type name; ``filter`` gets the
    qualified name and returns False for types not to count.

    Example:

        >>> checker = LeakChecker(warmup=1, runs=3, scale=3)
        >>> checker.find(lambda: None).ok
        True
        >>> kept = []
        >>> checker.check(lambda: kept.append([]))
        Traceback (most recent call last):
        ...
        pymemtrack.leakcheck.LeakError: <lambda> leaks 1 type(s): list
        ...
    """

    def __init__(
        self,
        warmup: int = DEFAULT_WARMUP,
        runs: int = DEFAULT_RUNS,
        scale: int = DEFAULT_SCALE,
        ignore: Iterable[str] = (),
        filter: TypeFilter = None,
    ) -> None:
        _check_settings(warmup, runs, scale)
        self.warmup = warmup
        self.runs = runs
        self.scale = scale
        self.ignore = tuple(ignore)
        self.filter = filter

    def find(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> LeakReport:
        """Apply the rule to ``fn(*args, **kwargs)`` and return the report."""
        name = getattr(fn, "__qualname__", None) or repr(fn)
        if args or kwargs:
            def call() -> None:
                fn(*args, **kwargs)
        else:
            call = fn
        return run_rule(call, name=name, warmup=self.warmup, runs=self.runs, scale=self.scale,
                        keep=type_filter(self.ignore, self.filter))

    def check(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> LeakReport:
        """Like :meth:`find`, but raise :class:`LeakError` when something leaks."""
        report = self.find(fn, *args, **kwargs)
        if not report.ok:
            raise LeakError(report)
        return report

    @contextlib.contextmanager
    def no_growth(self) -> Iterator[None]:
        """Fail (:class:`LeakError`) if the block leaves new objects behind.

        The block runs once, so nothing separates a leak from a cache that
        fills on first use: run the code once before the block to warm up.
        Example:

            >>> checker = LeakChecker()
            >>> with checker.no_growth():
            ...     size = len([object() for _ in range(10)])
        """
        keep = type_filter(self.ignore, self.filter)
        collect()
        before = _core.IdMap(False)
        yield
        collect()
        after = _core.IdMap(False)
        rows = [(name, ncur - nold, new) for name, nold, ncur, new in after.diff(before)
                if ncur > nold and keep(name)]
        del before, after
        if not rows:
            return
        rows.sort(key=lambda r: (-r[1], r[0]))
        leaks = [TypeLeak(name, (delta,), (), 0) for name, delta, _ in rows]
        leaks = _with_samples(leaks, {name: new for name, _, new in rows})
        del rows
        total = sum(leak.run_deltas[0] for leak in leaks)
        lines = [f"the block left {total} new object(s) of {len(leaks)} type(s):"]
        for leak in leaks[:REPORT_TYPES]:
            lines.append(f"  {leak.display_name} {leak.run_deltas[0]:+d}")
        for leak in leaks[:REPORT_TYPES]:
            if leak.sample:
                lines.append(f"  sample {leak.sample}")
                if leak.held_by:
                    lines.append(f"    held by: {leak.held_by}")
        raise LeakError("\n".join(lines))


def find_leaks(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> LeakReport:
    """Apply the rule with the default settings to ``fn(*args, **kwargs)``.

    Example:

        >>> find_leaks(dict.fromkeys, 'abc').ok
        True
    """
    return LeakChecker().find(fn, *args, **kwargs)


def assert_no_leaks(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> LeakReport:
    """Raise :class:`LeakError` if ``fn(*args, **kwargs)`` leaks (default settings).

    Example:

        >>> assert_no_leaks(sorted, [3, 1, 2]).ok
        True
    """
    return LeakChecker().check(fn, *args, **kwargs)


def type_filter(ignore: Iterable[str] = (), filter: TypeFilter = None) -> Callable[[str], bool]:
    """A predicate on qualified type names: False for ignored or filtered-out types.

    Example:

        >>> keep = type_filter(['dict', 'mypkg.*'])
        >>> keep('builtins.dict'), keep('mypkg.Cache'), keep('builtins.list')
        (False, False, True)
    """
    patterns = tuple(ignore)

    def keep(name: str) -> bool:
        short = name.rpartition(".")[2]
        for pattern in patterns:
            if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(short, pattern):
                return False
        return filter is None or bool(filter(name))

    return keep


def run_rule(
    call: Callable[[], Any],
    *,
    name: str,
    warmup: int = DEFAULT_WARMUP,
    runs: int = DEFAULT_RUNS,
    scale: int = DEFAULT_SCALE,
    keep: Callable[[str], bool] = lambda name: True,
    between: Callable[[], None] = lambda: None,
    owned: Optional[Callable[[], Tuple[Sequence[Any], Sequence[Any]]]] = None,
) -> LeakReport:
    """The rule itself: ``call()`` is the body, run with nothing else around it.

    ``between()`` runs after every call (the pytest plugin resets its own
    bookkeeping there). ``owned()`` returns ``(owners, containers)``: what
    only the owners hold, and what only the direct contents of the
    containers hold, is not a leak (the pytest plugin passes the test's own
    state, released with the test). Exceptions from ``call`` propagate.
    """
    _check_settings(warmup, runs, scale)
    report = LeakReport(name, warmup, runs, scale)
    lru_caches = _known_lru_caches()
    for _ in range(warmup):
        call()
        between()
    report.calls += warmup
    # The measured runs collect only what is new: everything alive now is
    # frozen (gc.freeze) until they end. A frozen object that dies cannot be
    # subtracted, which can only make a count look higher, never hide a leak;
    # the scaled confirmation below runs unfrozen and decides.
    _clear_caches(lru_caches)
    frozen = _freeze()
    counts: List[Dict[str, int]] = [{}] * (runs + 1)
    try:
        if not frozen:
            _collect()
        counts[0] = _core.typestats(None, False)     # (untracked dicts: not counted)
        for i in range(runs):
            call()
            between()
            _clear_caches(lru_caches)
            _collect()
            counts[i + 1] = _core.typestats(None, False)
    finally:
        if frozen:
            gc.unfreeze()
    report.calls += runs
    candidates = _grew_every_run(counts, keep)
    del counts
    if not candidates:
        return report
    # Scaled confirmation: address maps, so the new objects can be told apart.
    maps: List[Any] = [None] * (CONFIRM_BATCHES + 1)
    lru_caches = _known_lru_caches(refresh=True)    # also those made since they were listed
    _clear_caches(lru_caches)
    _collect()
    maps[0] = _core.IdMap(False)
    for j in range(CONFIRM_BATCHES):
        for _ in range(scale):
            call()
            between()
        _clear_caches(lru_caches)
        _collect()
        maps[j + 1] = _core.IdMap(False)
    lru_caches.clear()
    report.calls += CONFIRM_BATCHES * scale
    batches: Dict[str, List[Tuple[int, Set[int]]]] = {n: [] for n in candidates}
    for j in range(CONFIRM_BATCHES):
        for type_name, nold, ncur, new in maps[j + 1].diff(maps[j]):
            if type_name in batches:
                batches[type_name].append((ncur - nold, new))
    del maps
    owned_ids = _owned_ids(*owned()) if owned is not None else set()
    samples: Dict[str, Set[int]] = {}
    for type_name, run_deltas in sorted(candidates.items(), key=lambda kv: (-min(kv[1]), kv[0])):
        rows = batches[type_name]
        while len(rows) < CONFIRM_BATCHES:          # the type vanished in a batch
            rows.append((0, set()))
        adjusted = tuple(delta - len(new & owned_ids) for delta, new in rows)
        needed = math.ceil(scale * min(run_deltas) / 2)
        leak = TypeLeak(type_name, tuple(run_deltas), adjusted, needed)
        if all(d >= needed for d in adjusted):
            report.leaks.append(leak)
            samples[type_name] = rows[-1][1] - owned_ids
        else:
            report.unconfirmed.append(leak)
    del batches
    report.leaks = _with_samples(report.leaks, samples)
    return report


def collect() -> None:
    """Clear the known caches (:func:`clear_caches`), then collect until nothing is freed.

    At most three collections, as CPython's ``support.gc_collect()`` runs:
    finalizers and weakref callbacks can free more after the first.

    Example:

        >>> collect()
    """
    clear_caches()
    _collect()


def clear_caches() -> None:
    """Clear the caches that fill on their own, as CPython's refleak hunter does.

    Our version of ``Lib/test/libregrtest/utils.py:clear_caches()`` and the
    cache part of ``refleak.py:dash_R_cleanup()``: module warning registries,
    ``re``, ``_strptime``, ``urllib.parse``, ``linecache`` (entries for files
    it can read again), ``filecmp``, ``struct``, ``doctest.master``,
    ``typing``'s caches, ABC caches of ``typing`` and ``collections.abc``
    classes, ``inspect``'s module maps and the interpreter's type cache. Also
    every *bounded* ``functools.lru_cache`` (a bounded cache cannot leak, so
    clearing it hides nothing; unbounded ones, ``functools.cache``, are left:
    their growth is real). Nothing that changes results is reset (no
    ``mimetypes``, ``ctypes`` or ``copyreg`` state, no installed URL opener).

    Example:

        >>> import re
        >>> _ = re.compile('leakcheck-example')
        >>> clear_caches()
        >>> len(re._cache)
        0
    """
    _clear_caches(_bounded_lru_caches())


# --- private helpers ----------------------------------------------------------------------

def _clear_caches(lru_caches: List[Any]) -> None:
    modules = list(sys.modules.values())
    for mod in modules:
        try:
            namespace = vars(mod)
            if "__warningregistry__" in namespace:
                del namespace["__warningregistry__"]
        except Exception:   # objects in sys.modules that are not modules
            pass
    del modules
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    for modname, clear in _MODULE_CACHES:
        mod = sys.modules.get(modname)
        if mod is not None:
            with contextlib.suppress(Exception):
                clear(mod)
    for wrapper in lru_caches:
        wrapper.cache_clear()
    clear_type_cache = getattr(sys, "_clear_internal_caches", None) or getattr(
        sys, "_clear_type_cache", None)
    if clear_type_cache is not None:
        clear_type_cache()


def _collect() -> None:
    for _ in range(3):
        if gc.collect() == 0:
            break


def _freeze() -> bool:
    """gc.freeze() unless something is frozen already (then leave it alone)."""
    if gc.get_freeze_count() != 0:
        return False
    gc.freeze()
    return True

def _short(type_name: str) -> str:
    return type_name[len("builtins."):] if type_name.startswith("builtins.") else type_name


def _check_settings(warmup: int, runs: int, scale: int) -> None:
    for label, value, least in (("warmup", warmup, 0), ("runs", runs, 1), ("scale", scale, 2)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{label} must be an int, not {type(value).__name__}")
        if value < least:
            raise ValueError(f"{label} must be >= {least}, not {value}")


def _grew_every_run(counts: Sequence[Dict[str, int]],
                    keep: Callable[[str], bool]) -> Dict[str, List[int]]:
    grown: Dict[str, List[int]] = {}
    for type_name in counts[-1]:
        deltas = [counts[i + 1].get(type_name, 0) - counts[i].get(type_name, 0)
                  for i in range(len(counts) - 1)]
        if all(d >= 1 for d in deltas) and keep(type_name):
            grown[type_name] = deltas
    return grown


def _linecache(mod: types.ModuleType) -> None:
    cache = mod.cache
    for filename in [f for f, entry in cache.items() if len(entry) == 4 and entry[1] is not None]:
        cache.pop(filename, None)


def _typing(mod: types.ModuleType) -> None:
    for cleanup in list(getattr(mod, "_cleanups", ())):
        cleanup()


def _abc_caches(mod: types.ModuleType) -> None:
    names = getattr(mod, "__all__", None) or list(vars(mod))
    for attr in names:
        cls = getattr(mod, attr, None)
        if isinstance(cls, type) and hasattr(cls, "_abc_caches_clear"):
            for sub in [cls, *type.__subclasses__(cls)]:
                clear = getattr(sub, "_abc_caches_clear", None)
                if clear is not None:
                    clear()


def _inspect(mod: types.ModuleType) -> None:
    mod._filesbymodname.clear()
    mod.modulesbyfile.clear()


def _doctest(mod: types.ModuleType) -> None:
    mod.master = None


_MODULE_CACHES: Tuple[Tuple[str, Callable[[Any], None]], ...] = (
    ("re", lambda m: m.purge()),
    ("_strptime", lambda m: m._regex_cache.clear()),
    ("urllib.parse", lambda m: m.clear_cache()),
    ("linecache", _linecache),
    ("filecmp", lambda m: m._cache.clear()),
    ("struct", lambda m: m._clearcache()),
    ("doctest", _doctest),
    ("typing", _typing),
    ("typing", _abc_caches),
    ("collections.abc", _abc_caches),
    ("inspect", _inspect),
)


_lru_seen: "weakref.WeakSet[Any]" = weakref.WeakSet()
_lru_modules = [-1]


def _known_lru_caches(refresh: bool = False) -> List[Any]:
    """The bounded lru caches, found by a heap walk only when modules were imported since."""
    if refresh or len(sys.modules) != _lru_modules[0]:
        _lru_seen.clear()
        _lru_seen.update(_bounded_lru_caches())
        _lru_modules[0] = len(sys.modules)
    return list(_lru_seen)


def _bounded_lru_caches() -> List[Any]:
    """Every functools.lru_cache with a maxsize (its cache cannot grow without bound)."""
    bounded = []
    for wrapper in _core.by_type("functools._lru_cache_wrapper"):
        with contextlib.suppress(Exception):
            if wrapper.cache_parameters()["maxsize"] is not None:
                bounded.append(wrapper)
    return bounded


def _referents_for_walk(obj: Any) -> List[Any]:
    """What a function owns is its closure, defaults and attributes, not its globals."""
    if isinstance(obj, types.FunctionType):
        return [x for x in (obj.__closure__, obj.__defaults__, obj.__kwdefaults__,
                            getattr(obj, "__dict__", None)) if x is not None]
    return gc.get_referents(obj)


def _is_boundary(obj: Any, module_dicts: Set[int]) -> bool:
    return (isinstance(obj, (type, types.ModuleType, types.CodeType, types.FrameType))
            or id(obj) in module_dicts)


def _elements(container: Any) -> List[Any]:
    if isinstance(container, dict):
        return [*container.keys(), *container.values()]
    try:
        return list(container)
    except Exception:
        return []


def _owned_ids(owners: Sequence[Any], containers: Sequence[Any] = ()) -> Set[int]:
    """Ids of the GC objects that only the ``owners`` and ``containers`` keep alive.

    Walks what each owner refers to, and the direct contents of each
    container, then what those refer to (not into classes, modules, module
    globals, code or frames). Keeps the objects whose every reference comes
    from the owners, the containers or other walked objects, and that no
    object referenced from elsewhere reaches: what would be freed with them.
    """
    roots = [*owners, *containers]
    if not roots:
        return set()
    module_dicts = set()
    for mod in list(sys.modules.values()):
        with contextlib.suppress(Exception):
            module_dicts.add(id(vars(mod)))
    root_ids = {id(r) for r in roots}
    seen: Dict[int, Any] = {}
    order: List[Any] = []
    stack: List[Any] = [e for r in containers for e in _elements(r)]
    for owner in owners:
        stack.extend(_referents_for_walk(owner))
    while stack:
        obj = stack.pop()
        key = id(obj)
        if key in seen or key in root_ids or not gc.is_tracked(obj) or \
                _is_boundary(obj, module_dicts):
            continue
        if len(order) >= OWNED_LIMIT:       # too big to tell: own nothing (report it)
            seen.clear()
            order.clear()
            stack.clear()
            return set()
        seen[key] = obj
        order.append(obj)
        stack.extend(_referents_for_walk(obj))
    obj = None
    internal = _internal_references([*roots, *order], seen)
    # Calibrate what our own references add to sys.getrefcount: probe is held
    # by `order` and a name, as every walked object is held by `order` and `seen`.
    probe: List[Any] = []
    order.append(probe)
    refcounts = [sys.getrefcount(o) for o in order]
    overhead = refcounts.pop()
    order.pop()
    del probe
    shared: Set[int] = set()
    pending = [o for o, rc in zip(order, refcounts) if rc - overhead - internal[id(o)] > 0]
    while pending:
        obj = pending.pop()
        if id(obj) in shared:
            continue
        shared.add(id(obj))
        pending.extend(r for r in _referents_for_walk(obj) if id(r) in seen)
    owned = set(seen) - shared
    seen.clear()
    order.clear()
    return owned


def _internal_references(holders: List[Any], seen: Dict[int, Any]) -> Dict[int, int]:
    """How many references to each walked object come from the holders."""
    internal: Dict[int, int] = collections.Counter()
    for holder in holders:
        for ref in gc.get_referents(holder):
            if id(ref) in seen:
                internal[id(ref)] += 1
    return internal


def _describe(obj: Any) -> str:
    limits = reprlib.Repr()
    limits.maxstring = limits.maxother = 60
    try:
        text = limits.repr(obj)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    return f"{_short(type(obj).__module__ + '.' + type(obj).__qualname__)} at {id(obj):#x}: {text}"


def _held_by(obj: Any) -> str:
    """One line saying what keeps ``obj`` alive."""
    why_alive = getattr(sys.modules.get("pymemtrack"), "why_alive", None)
    if why_alive is not None:
        try:
            return str(why_alive(obj))
        except Exception as exc:   # fall back to the referrers
            note = f" (why_alive failed: {type(exc).__name__})"
        else:
            note = ""
    else:
        note = ""
    return _referrer_summary(obj) + note


def _referrer_summary(obj: Any) -> str:
    # No comprehension or lambda here may use obj: it would hold it in a cell.
    module_names: Dict[int, str] = {}
    global_names: Dict[int, str] = {}
    for mod in list(sys.modules.values()):
        try:
            namespace = vars(mod)
            modname = mod.__name__
        except Exception:
            continue
        module_names[id(namespace)] = modname
        for key, value in list(namespace.items()):
            global_names.setdefault(id(value), f"{modname}.{key}")
    here = sys._getframe()
    referrers = gc.get_referrers(obj)     # one call, for this one object
    parts = []
    for ref in referrers:
        if isinstance(ref, types.FrameType) or ref is here:
            continue
        part = _edge(ref, obj, module_names)
        if id(ref) in global_names and id(ref) not in module_names:
            part = f"{global_names[id(ref)]}: {part}"
        parts.append(part)
    ref = None
    referrers.clear()
    if not parts:
        return "no referrer the collector can see (held from C, or by a frame)"
    shown = "; ".join(parts[:3])
    return shown + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")


def _edge(holder: Any, obj: Any, module_names: Dict[int, str]) -> str:
    kind = _short(type(holder).__module__ + "." + type(holder).__qualname__)
    try:
        if isinstance(holder, dict):
            where = " (as a key)"
            for key, value in holder.items():
                if value is obj:
                    where = f"[{key!r}]"
                    break
            if id(holder) in module_names:
                return f"module {module_names[id(holder)]} global{where}"
            return f"{kind}{where}"
        if isinstance(holder, (list, tuple)):
            for index, value in enumerate(holder):
                if value is obj:
                    return f"{kind}[{index}] (len {len(holder)})"
            return kind
        attrs = getattr(holder, "__dict__", None)
        if isinstance(attrs, dict):
            for name, value in attrs.items():
                if value is obj:
                    return f"{kind}.{name}"
    except Exception:
        pass
    return kind


def _with_samples(leaks: List[TypeLeak], new_ids: Dict[str, Set[int]]) -> List[TypeLeak]:
    """Fill in a sample object and its holder for each leak (one heap walk in all)."""
    wanted: Dict[int, str] = {}
    for leak in leaks[:REPORT_TYPES]:
        ids = new_ids.get(leak.type_name)
        if ids:
            wanted[min(ids)] = leak.type_name
    if not wanted:
        return leaks
    found = _core.at_addrs(set(wanted))
    by_name: Dict[str, Tuple[str, str]] = {}
    while found:
        obj = found.pop()     # so only this name holds it, not a list
        by_name[wanted[id(obj)]] = (_describe(obj), _held_by(obj))
        obj = None
    return [TypeLeak(leak.type_name, leak.run_deltas, leak.batch_deltas, leak.needed,
                     *by_name.get(leak.type_name, ("", "")))
            for leak in leaks]
