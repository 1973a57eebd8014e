"""Odd objects for the bad-input and stress tests: each factory makes a fresh one.

Hostile objects raise ``publicapi.Boom`` from every special method a careless
caller might touch (``__eq__``, ``__hash__``, ``__repr__``, ``__sizeof__``,
``__len__``, ``__iter__``, ``__getattr__``...); their metaclass does the same
for the class itself. Then proxies (live and dead), mocks, and objects of C
types whose ``tp_traverse`` is unusual (frames, generators, cells, partials,
tees, deques with hostile items, defaultdicts with hostile factories...).
"""

from __future__ import annotations

import array
import ast
import collections
import contextvars
import ctypes
import functools
import io
import itertools
import re
import sys
import threading
import types
import weakref
from typing import Any, Callable, List, Tuple
from unittest import mock

from publicapi import Boom


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise Boom("hostile special method")


class Hostile:
    """Every special method a caller might touch raises Boom."""

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _boom
    __hash__ = _boom  # type: ignore[assignment]
    __repr__ = __str__ = __format__ = __bytes__ = _boom
    __sizeof__ = _boom
    __len__ = __iter__ = __next__ = __contains__ = __getitem__ = __setitem__ = _boom
    __bool__ = __index__ = __int__ = __float__ = __complex__ = _boom
    __call__ = __fspath__ = __reduce__ = __reduce_ex__ = __dir__ = _boom

    def __getattr__(self, name: str) -> Any:
        raise Boom(f"__getattr__({name})")


class HostileMeta(type):
    """A metaclass whose classes raise Boom from comparisons, hashing, repr,
    isinstance checks and every attribute lookup on the class."""

    __eq__ = __ne__ = __hash__ = __repr__ = __str__ = _boom  # type: ignore[assignment]
    __instancecheck__ = __subclasscheck__ = __sizeof__ = _boom

    def __getattribute__(cls, name: str) -> Any:
        raise Boom(f"metaclass __getattribute__({name})")


def hostile_class() -> Any:
    """A fresh class (so it dies with the test) whose metaclass is HostileMeta."""

    class HostileClass(Hostile, metaclass=HostileMeta):
        pass

    return HostileClass


class LyingClass:
    """Claims to be an int; has a non-str __module__."""

    __class__ = property(lambda self: int)  # type: ignore[assignment]


LyingClass.__module__ = 5  # type: ignore[assignment]


class Slotted:
    __slots__ = ("a", "b")


class Plain:
    pass


def _dead_proxy() -> Any:
    target = Plain()
    proxy = weakref.proxy(target)
    del target
    return proxy


_LIVE_TARGET = Plain()


def _frame() -> Any:
    marker = Hostile()  # noqa: F841 - a hostile local in the frame
    return sys._getframe()


def _generator(state: str) -> Any:
    def gen() -> Any:
        local = Hostile()  # noqa: F841
        yield 1
        yield 2

    g = gen()
    if state in ("suspended", "finished"):
        next(g)
    if state == "finished":
        g.close()
    return g


def _closed_coroutine() -> Any:
    async def coro() -> None:
        return None

    c = coro()
    c.close()
    return c


def _async_generator() -> Any:
    async def agen() -> Any:
        yield 1

    return agen()


def _traceback() -> Any:
    try:
        raise Boom("for a traceback")
    except Boom as exc:
        return exc.__traceback__


def _cell(contents: Any) -> Any:
    return (lambda: contents).__closure__[0]  # type: ignore[index]


def _raising_iterator() -> Any:
    def gen() -> Any:
        yield []
        yield {}
        raise Boom("iterator failed midway")

    return gen()


def _self_list() -> Any:
    lst: List[Any] = []
    lst.append(lst)
    return lst


def _deep_list(depth: int = 20_000) -> Any:
    head: List[Any] = []
    node = head
    for _ in range(depth):
        nxt: List[Any] = []
        node.append(nxt)
        node = nxt
    return head


def _linked_chain(length: int = 20_000) -> Any:
    head = Plain()
    node = head
    for _ in range(length):
        node.next = Plain()
        node = node.next
    return head


def _ctypes_object() -> Any:
    return ctypes.c_int(5)


FACTORIES: List[Tuple[str, Callable[[], Any]]] = [
    ("Hostile()", Hostile),
    ("HostileClass", hostile_class),
    ("HostileClass()", lambda: hostile_class()()),
    ("LyingClass()", LyingClass),
    ("LyingClass", lambda: LyingClass),
    ("Slotted()", Slotted),
    ("weakref.proxy(live)", lambda: weakref.proxy(_LIVE_TARGET)),
    ("weakref.proxy(dead)", _dead_proxy),
    ("weakref.ref", lambda: weakref.ref(_LIVE_TARGET)),
    ("Mock()", mock.Mock),
    ("MagicMock()", mock.MagicMock),
    ("NonCallableMock()", mock.NonCallableMock),
    ("frame", _frame),
    ("generator (new)", lambda: _generator("new")),
    ("generator (suspended)", lambda: _generator("suspended")),
    ("generator (finished)", lambda: _generator("finished")),
    ("closed coroutine", _closed_coroutine),
    ("async generator", _async_generator),
    ("traceback", _traceback),
    ("cell", lambda: _cell(Hostile())),
    ("empty cell", types.CellType),
    ("functools.partial", lambda: functools.partial(_boom, Hostile())),
    ("itertools.tee", lambda: itertools.tee(iter([Hostile()]))[0]),
    ("itertools.count", lambda: itertools.islice(itertools.count(), 3)),
    ("deque of hostile", lambda: collections.deque([Hostile(), Hostile()])),
    ("defaultdict(Hostile)", lambda: collections.defaultdict(Hostile)),
    ("OrderedDict", lambda: collections.OrderedDict(a=Hostile())),
    ("mappingproxy", lambda: types.MappingProxyType({"k": Hostile()})),
    ("SimpleNamespace", lambda: types.SimpleNamespace(a=Hostile())),
    ("memoryview", lambda: memoryview(b"abc")),
    ("array", lambda: array.array("i", [1, 2])),
    ("re.Pattern", lambda: re.compile("a+")),
    ("re.Match", lambda: re.match("a", "a")),
    ("StringIO", io.StringIO),
    ("super", lambda: super(Plain, Plain())),
    ("property", lambda: property(_boom)),
    ("staticmethod", lambda: staticmethod(_boom)),
    ("bound method", lambda: Plain().__init__),
    ("builtin function", lambda: len),
    ("module", lambda: types),
    ("object()", object),
    ("type", lambda: type),
    ("object", lambda: object),
    ("NotImplemented", lambda: NotImplemented),
    ("Ellipsis", lambda: ...),
    ("slice", lambda: slice(1, None, -1)),
    ("range", lambda: range(5)),
    ("dict keys view", lambda: {"a": Hostile()}.keys()),
    ("zip", lambda: zip([1], [Hostile()])),
    ("context", contextvars.copy_context),
    ("lock", threading.Lock),
    ("thread local", threading.local),
    ("ast", lambda: ast.parse("x = 1")),
    ("ctypes", _ctypes_object),
    ("structseq", lambda: sys.flags),
    ("raising iterator", _raising_iterator),
    ("self-containing list", _self_list),
    ("deep nested list", _deep_list),
    ("long linked chain", _linked_chain),
    ("dict with hostile key", lambda: {Plain(): 1, "k": Hostile()}),
    ("list of hostile", lambda: [Hostile(), hostile_class()(), _dead_proxy()]),
    ("exception with traceback", lambda: Boom("x").with_traceback(_traceback())),
]
