"""objgraph's counting API, answered by pymemtrack's native heap walk.

Every function here has objgraph 3.7's name, parameters, defaults, return
value and printed format, so ``import pymemtrack as objgraph`` works for
them. The counting happens in C: one walk over the garbage collector's
objects, counted per type, with no Python object created per object.

Like objgraph, these functions see only objects the garbage collector
tracks (``gc.is_tracked``): ints, strs and empty dicts are not counted.
"""

from __future__ import annotations

import collections
import collections.abc
import gc
import operator
import sys
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, TextIO, Tuple

from . import _core

__all__ = [
    "at",
    "at_addrs",
    "by_type",
    "count",
    "get_new_ids",
    "growth",
    "most_common_types",
    "show_growth",
    "show_most_common_types",
    "typestats",
]

Filter = Optional[Callable[[Any], bool]]

_NEW_IDS_LOCK = threading.RLock()    # get_new_ids: one state update at a time
_SORTBY = {"old": 1, "current": 2, "new": 3, "deltas": 4}


def count(typename: str, objects: Optional[Iterable[Any]] = None) -> int:
    """Count objects tracked by the garbage collector with a given class name.

    ``typename`` is ``type(obj).__name__``, or ``module.name`` when it holds a
    dot (then ``module`` is the class's ``__module__``). With ``objects``,
    count among those instead of the whole heap.

    Example:

        >>> class Widget: pass
        >>> widgets = [Widget() for _ in range(3)]
        >>> count('Widget')
        3
        >>> count('builtins.list', [[], {}, []])
        2
    """
    return _core.count(typename, objects)


def typestats(
    objects: Optional[Iterable[Any]] = None, shortnames: bool = True, filter: Filter = None
) -> Dict[str, int]:
    """Count the number of instances for each type tracked by the GC.

    Classes with the same name in different modules are lumped together
    unless ``shortnames`` is false (then names are ``module.name``). Objects
    for which ``filter(obj)`` is false are skipped.

    While ``filter`` runs, every GC object is held (as with
    ``gc.get_objects()``, which objgraph uses), so the filter may free
    objects safely. Objects another thread is still building are held too:
    if that thread was in the middle of ``tuple(generator)`` when the walk
    began, the tuple cannot be resized while the walk holds it, and that
    thread gets ``SystemError`` should it finish first. Without a filter
    no Python code runs during the walk, and no other thread can run.

    Example:

        >>> typestats([[], [], {}])
        {'list': 2, 'dict': 1}
        >>> typestats([[], {}], shortnames=False)['builtins.dict']
        1
    """
    return _core.typestats(objects, shortnames, filter)


def most_common_types(
    limit: Optional[int] = 10,
    objects: Optional[Iterable[Any]] = None,
    shortnames: bool = True,
    filter: Filter = None,
) -> List[Tuple[str, int]]:
    """The names of the types with the most instances, most frequent first.

    Returns a list of ``(type_name, count)``, at most ``limit`` long (``None``
    or 0 for all of them).

    Example:

        >>> most_common_types(limit=1, objects=[[], [], {}])
        [('list', 2)]
    """
    _check_limit(limit)
    stats = sorted(
        typestats(objects, shortnames=shortnames, filter=filter).items(),
        key=operator.itemgetter(1),
        reverse=True,
    )
    if limit:
        stats = stats[:limit]
    return stats


def show_most_common_types(
    limit: Optional[int] = 10,
    objects: Optional[Iterable[Any]] = None,
    shortnames: bool = True,
    file: Optional[TextIO] = None,
    filter: Filter = None,
) -> None:
    """Print the table of the types with the most instances.

    Example:

        >>> show_most_common_types(objects=[[], [], {}])
        list 2
        dict 1
    """
    _check_file(file)
    stats = most_common_types(limit, objects, shortnames=shortnames, filter=filter)
    if not stats:
        return
    if file is None:
        file = sys.stdout
    width = max(len(name) for name, _ in stats)
    for name, n in stats:
        file.write("%-*s %i\n" % (width, name, n))


def growth(
    limit: Optional[int] = 10,
    peak_stats: Dict[str, int] = {},  # noqa: B006 - shared on purpose, as in objgraph
    shortnames: bool = True,
    filter: Filter = None,
) -> List[Tuple[str, int, int]]:
    """Count the increase in peak object counts since the last call.

    Runs ``gc.collect()``, counts the heap, and returns
    ``(type_name, total_count, increase)`` for the types now above their
    peak in ``peak_stats`` (which it updates), largest increase first, at
    most ``limit`` rows (``None`` or 0 for all). The default ``peak_stats``
    is one dict shared by every call, as in objgraph.

    Example:

        >>> class Job: pass
        >>> peaks = {}
        >>> only_jobs = lambda o: isinstance(o, Job)
        >>> growth(peak_stats=peaks, filter=only_jobs)
        []
        >>> jobs = [Job(), Job()]
        >>> growth(peak_stats=peaks, filter=only_jobs)
        [('Job', 2, 2)]
        >>> growth(peak_stats=peaks, filter=only_jobs)
        []
    """
    _check_limit(limit)
    if not isinstance(peak_stats, collections.abc.MutableMapping):
        raise TypeError(
            f"peak_stats must be a dict (or mutable mapping), not {type(peak_stats).__name__}"
        )
    gc.collect()
    stats = typestats(shortnames=shortnames, filter=filter)
    deltas = {}
    for name, n in stats.items():
        old = peak_stats.get(name, 0)
        if n > old:
            deltas[name] = n - old
            peak_stats[name] = n
    ranked = sorted(deltas.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        ranked = ranked[:limit]
    return [(name, stats[name], delta) for name, delta in ranked]


def show_growth(
    limit: Optional[int] = 10,
    peak_stats: Optional[Dict[str, int]] = None,
    shortnames: bool = True,
    file: Optional[TextIO] = None,
    filter: Filter = None,
) -> None:
    """Print the increase in peak object counts since the last call.

    With ``peak_stats`` None, peaks are kept in :func:`growth`'s shared dict.
    Each line is ``'%-*s%9d %+9d'`` of name, count and increase.

    Example:

        >>> class Session: pass
        >>> peaks = {}
        >>> show_growth(peak_stats=peaks, filter=lambda o: isinstance(o, Session))
        >>> sessions = [Session() for _ in range(5)]
        >>> show_growth(peak_stats=peaks, filter=lambda o: isinstance(o, Session))
        Session        5        +5
    """
    _check_file(file)
    if peak_stats is None:
        result = growth(limit, shortnames=shortnames, filter=filter)
    else:
        result = growth(limit, peak_stats, shortnames, filter)
    if result:
        if file is None:
            file = sys.stdout
        width = max(len(name) for name, _, _ in result)
        for name, n, delta in result:
            file.write("%-*s%9d %+9d\n" % (width, name, n, delta))


def get_new_ids(
    skip_update: bool = False,
    limit: Optional[int] = 10,
    sortby: str = "deltas",
    shortnames: Optional[bool] = None,
    file: Optional[TextIO] = None,
    _state: Dict[str, Any] = {},  # noqa: B006 - the state between calls, as in objgraph
) -> Dict[str, Set[int]]:
    """Find and display new objects allocated since the last call.

    Prints a table of old, current and new object counts per type and
    returns a dict from type name to the set of ids (addresses) of the
    objects created since the previous call; :func:`at_addrs` turns those
    back into objects. ``skip_update`` returns the previous result without
    looking at the heap; ``limit`` rows are printed (0: none, None: all),
    sorted by ``sortby`` ('old', 'current', 'new' or 'deltas');
    ``shortnames`` None keeps the previous choice (True at first). The ids
    are kept natively, 8 bytes per object, not as Python sets.

    Example:

        >>> _ = get_new_ids(limit=0)
        >>> _ = get_new_ids(limit=0)
        >>> a = [0, 1, 2]
        >>> new_ids = get_new_ids(limit=0)
        >>> a in at_addrs(new_ids['list'])
        True
    """
    if sortby not in _SORTBY:
        raise ValueError(f"sortby must be one of {sorted(_SORTBY)}, not {sortby!r}")
    _check_limit(limit)
    _check_file(file)
    # One call at a time updates the shared state (objgraph's is not
    # thread-safe: two threads would change new_ids under each other).
    with _NEW_IDS_LOCK:
        if not _state:
            _state["new"] = collections.defaultdict(set)
            _state["ids"] = None
            _state["shortnames"] = True
        new_ids = _state["new"]
        if skip_update:
            return new_ids
        # Nothing is stored until the walk succeeded: a bad shortnames (its
        # __bool__ raises) or a MemoryError must not poison the next call.
        shortnames = _state["shortnames"] if shortnames is None else bool(shortnames)
        gc.collect()
        current = _core.IdMap(shortnames)
        raw = current.diff(_state["ids"])
        _state["ids"] = current
        _state["shortnames"] = shortnames
        seen = set()
        rows = []
        for name, num_old, num_current, new in raw:
            seen.add(name)
            ids = new_ids[name]
            ids.clear()
            ids.update(new)
            rows.append((name, num_old, num_current, len(new), num_current - num_old))
        for name in [n for n in new_ids if n not in seen]:
            del new_ids[name]
    rows.sort(key=operator.itemgetter(_SORTBY[sortby], 0), reverse=True)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return new_ids
    if file is None:
        file = sys.stdout
    width = max(len(row[0]) for row in rows)
    rule = "=" * (width + 13 * 4)
    print(rule, file=file)
    print(
        "%-*s%13s%13s%13s%13s"
        % (width, "Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"),
        file=file,
    )
    print(rule, file=file)
    for row_class, old, cur, new_n, delta in rows:
        print("%-*s%13d%13d%+13d%+13d" % (width, row_class, old, cur, new_n, delta), file=file)
    print(rule, file=file)
    return new_ids


def by_type(typename: str, objects: Optional[Iterable[Any]] = None) -> List[Any]:
    """Return the objects tracked by the garbage collector with a class name.

    ``typename`` is short (``'MyClass'``) or qualified (``'mymodule.MyClass'``).

    Example:

        >>> class Marker: pass
        >>> m = Marker()
        >>> by_type('Marker') == [m]
        True
    """
    return _core.by_type(typename, objects)


def at(addr: int) -> Any:
    """Return the GC-tracked object at a memory address, or None.

    The reverse of ``id(obj)`` for objects the garbage collector tracks.

    Example:

        >>> obj = []
        >>> at(id(obj)) is obj
        True
        >>> at(id(12345)) is None   # ints are not tracked
        True
    """
    return _core.at(addr)


def at_addrs(address_set: Iterable[int]) -> List[Any]:
    """Return the GC-tracked objects at the given memory addresses.

    The reverse of ``[id(obj1), id(obj2), ...]``, in heap order.

    Example:

        >>> a, b = [], {'key': []}    # (an empty dict is not tracked)
        >>> sorted(map(type, at_addrs({id(a), id(b)})), key=str)
        [<class 'dict'>, <class 'list'>]
    """
    return _core.at_addrs(address_set)


def _check_limit(limit: Optional[int]) -> None:
    if limit is None:
        return
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"limit must be an int or None, not {type(limit).__name__}")
    if limit < 0:
        raise ValueError(f"limit must be >= 0 or None, not {limit}")


def _check_file(file: Optional[TextIO]) -> None:
    # Checked before any work, so a bad file cannot leave peaks or ids updated
    # with nothing printed.
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"file must have a write() method or be None, not {type(file).__name__}")
