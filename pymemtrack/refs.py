"""objgraph's reference chains, answered by pymemtrack's reference index.

``find_backref_chain``, ``find_ref_chain``, ``get_leaking_objects`` and
``is_proper_module`` have objgraph 3.7's names, parameters, defaults and
results, so ``import pymemtrack as objgraph`` works for them.

objgraph expands each node of a backwards search with ``gc.get_referrers``,
a scan of the whole heap, so a chain N links long costs N heap scans.
pymemtrack builds a reverse-reference index in C with one ``tp_traverse``
pass over the heap and searches that, so a chain thousands of links deep
costs about one scan: pass a large ``max_depth`` without fear (the default
stays objgraph's 20). Like objgraph, the chain and graph functions run
``gc.collect()`` first.

What the index holds: every object the garbage collector tracks, plus the
objects a query is about (so the referrers of an int or a str are found, as
``gc.get_referrers`` finds them). References to untracked objects are not
recorded: those cannot hold tracked objects (CPython untracks a dict or
tuple only while it holds none), so no path between tracked objects passes
through them. Backwards, referrers are therefore tracked objects, as with
``gc.get_referrers``; forwards, referents come from ``tp_traverse`` as with
``gc.get_referents``, untracked ones included. The index is built, searched
and freed inside one C call with collection disabled (its previous state
restored, errors included); it holds each object only until the call
returns, and the caller's own frames and the lists passed in are left out.

Example:

    >>> class Node: pass
    >>> head = Node()
    >>> node = head
    >>> for _ in range(100):
    ...     node.next = Node()
    ...     node = node.next
    >>> chain = find_backref_chain(node, lambda o: o is head, max_depth=1000)
    >>> chain[0] is head, chain[-1] is node, len(chain) > 100   # (101 links, or 201 with __dict__s)
    (True, True, True)
"""

from __future__ import annotations

import gc
import sys
import types
from typing import Any, Callable, Iterable, List, Optional, Set

from . import _core

__all__ = ["find_backref_chain", "find_ref_chain", "get_leaking_objects", "is_proper_module"]

Predicate = Callable[[Any], object]


def find_backref_chain(
    obj: Any, predicate: Predicate, max_depth: int = 20, extra_ignore: Iterable[int] = ()
) -> List[Any]:
    """Find a shortest chain of references leading to ``obj``.

    The chain starts at an object for which ``predicate(o)`` is true and
    ends at ``obj``; ``[obj]`` when there is none within ``max_depth``
    links. ``extra_ignore`` holds ids of objects the search must not pass
    through. With ``predicate=is_proper_module`` the test runs natively.

    Example:

        >>> import json
        >>> json.leak_demo = [{'x': []}]
        >>> chain = find_backref_chain(json.leak_demo[0]['x'], is_proper_module)
        >>> chain[0] is json, len(chain)
        (True, 5)
        >>> del json.leak_demo
    """
    return _find_chain(obj, predicate, max_depth, extra_ignore, True, sys._getframe())


def find_ref_chain(
    obj: Any, predicate: Predicate, max_depth: int = 20, extra_ignore: Iterable[int] = ()
) -> List[Any]:
    """Find a shortest chain of references leading from ``obj``.

    The chain starts at ``obj`` and ends at an object for which
    ``predicate(o)`` is true; ``[obj]`` when there is none within
    ``max_depth`` links. Referents come from ``tp_traverse`` as in
    ``gc.get_referents`` (so untracked objects such as ints appear too).

    Example:

        >>> class Leaf: pass
        >>> tree = {'a': [1, (2, Leaf())]}
        >>> [type(o).__name__ for o in find_ref_chain(tree, lambda o: isinstance(o, Leaf))]
        ['dict', 'list', 'tuple', 'Leaf']
    """
    return _find_chain(obj, predicate, max_depth, extra_ignore, False, sys._getframe())


def get_leaking_objects(objects: Optional[Iterable[Any]] = None) -> List[Any]:
    """Return the objects that no object tracked by the garbage collector refers to.

    These can be reference-counting bugs in C code, or legitimate roots.
    With ``objects``, return the subset of those with no GC referrer
    (``objects`` itself does not count); otherwise look among all the
    objects the garbage collector tracks. Runs ``gc.collect()`` first.

    Example:

        >>> held = ['referred to by this module']
        >>> get_leaking_objects([held, ['referred to by nothing']])
        [['referred to by nothing']]
    """
    gc.collect()
    return _core.leaking_objects(objects)


def is_proper_module(obj: Any) -> bool:
    """Whether ``obj`` is a module in ``sys.modules``: a root of the reference graph.

    Example:

        >>> import types
        >>> is_proper_module([]), is_proper_module(types), is_proper_module(types.ModuleType('x'))
        (False, True, False)
    """
    return (isinstance(obj, types.ModuleType)
            and obj is sys.modules.get(getattr(obj, "__name__", None)))


# ---- helpers -----------------------------------------------------------------


def _find_chain(obj: Any, predicate: Predicate, max_depth: int, extra_ignore: Iterable[int],
                backrefs: bool, caller: types.FrameType) -> List[Any]:
    if not callable(predicate):
        raise TypeError(f"predicate must be callable, not {type(predicate).__name__}")
    _check_depth(max_depth)
    ignore = _ignore_ids(extra_ignore, caller, sys._getframe())
    stop_ids = None
    if _is_module_predicate(predicate):
        stop_ids = proper_module_ids()
        predicate = None  # type: ignore[assignment]
    gc.collect()
    return _core.find_chain(obj, predicate, max_depth, ignore, backrefs, stop_ids)


def _check_depth(max_depth: Any, minimum: int = 1) -> None:
    if not isinstance(max_depth, int) or isinstance(max_depth, bool):
        raise TypeError(f"max_depth must be an int, not {type(max_depth).__name__}")
    if max_depth < minimum:
        raise ValueError(f"max_depth must be >= {minimum}, not {max_depth}")


def _ignore_ids(extra_ignore: Iterable[int], *frames: Any) -> Set[int]:
    """extra_ignore's ids (checked to be ints) plus the ids of our own frames."""
    if isinstance(extra_ignore, (str, bytes)):
        raise TypeError("extra_ignore must be an iterable of object ids (ints)")
    try:
        ids = set(extra_ignore)
    except TypeError:
        raise TypeError("extra_ignore must be an iterable of object ids (ints), not "
                        f"{type(extra_ignore).__name__}") from None
    for i in ids:
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError("extra_ignore must hold object ids (ints, as id() returns), "
                            f"not {type(i).__name__}")
    ids.update(id(f) for f in frames)
    return ids


def _is_module_predicate(predicate: Any) -> bool:
    """True for our is_proper_module and objgraph's (same semantics, run natively)."""
    if predicate is is_proper_module:
        return True
    return (getattr(predicate, "__module__", None) == "objgraph"
            and getattr(predicate, "__name__", None) == "is_proper_module")


def proper_module_ids() -> Set[int]:
    """The ids of the modules for which :func:`is_proper_module` is true."""
    return {id(m) for m in list(sys.modules.values()) if is_proper_module(m)}
