"""Names for references: how one object refers to another, as a path step.

``edge_names(src, dst)`` returns the steps by which ``src`` refers to ``dst``,
written the way a person reads a path: ``.attr``, ``['key']``, ``[3]``,
``.__closure__[0]``, ``.f_locals['req']``. Both the retention paths
("why is this alive") and the cycle reports use it.

It never calls ``__eq__``, ``__hash__`` or properties of the objects it
inspects (it compares with ``is`` and reads only slots, dicts and the
attributes of builtin types); ``repr`` of keys is guarded and shortened.

Example:

    >>> class Node: pass
    >>> a, b = Node(), Node()
    >>> a.next = b
    >>> edge_names(a, b)
    ['.next']
    >>> edge_names({'k': b, 3: b}, b)
    ["['k']", '[3]']
    >>> edge_names([b, 1, b], b)
    ['[0]', '[2]']
"""

from __future__ import annotations

import types
from typing import Any, Iterator, List, Optional, Tuple

from . import _core

__all__ = ["edge_names", "edge_label", "short_repr", "attribute_owner_name"]

_MAX_REPR = 40
_MAX_NAMES = 4

# Attributes of builtin types that can hold references, read with getattr
# (all plain C getters/members: no user code runs).
_BUILTIN_ATTRS: Tuple[Tuple[type, Tuple[str, ...]], ...] = (
    (types.FunctionType, ("__closure__", "__globals__", "__defaults__", "__kwdefaults__",
                          "__code__", "__dict__", "__annotations__", "__module__",
                          "__builtins__", "__name__", "__qualname__", "__doc__",
                          "__type_params__")),
    (types.MethodType, ("__self__", "__func__")),
    (types.TracebackType, ("tb_next", "tb_frame")),
    (types.FrameType, ("f_back", "f_code", "f_globals", "f_builtins")),
    (types.GeneratorType, ("gi_frame", "gi_code", "gi_yieldfrom")),
    (types.CoroutineType, ("cr_frame", "cr_code", "cr_await")),
    (types.AsyncGeneratorType, ("ag_frame", "ag_code", "ag_await")),
    (types.CellType, ("cell_contents",)),
    (types.ModuleType, ("__dict__",)),
    (BaseException, ("__traceback__", "__context__", "__cause__", "args")),
    (property, ("fget", "fset", "fdel")),
    (classmethod, ("__func__",)),
    (staticmethod, ("__func__",)),
    (type, ("__dict__", "__mro__", "__bases__", "__base__")),
    (types.MappingProxyType, ()),
)


def short_repr(obj: Any, limit: int = _MAX_REPR) -> str:
    """``repr(obj)`` cut to ``limit`` characters; never raises.

    Example:

        >>> short_repr('x' * 100, 10)
        "'xxxxx...'"
    """
    try:
        text = repr(obj)
    except Exception:  # a broken __repr__ must not break a report
        text = f"<{type(obj).__name__} object (repr failed)>"
    if len(text) > limit:
        text = text[: max(limit - 4, 1)] + "..." + text[-1]
    return text


def edge_names(src: Any, dst: Any) -> List[str]:
    """How ``src`` refers to ``dst``: a list of path steps (empty if unknown).

    Example:

        >>> def outer():
        ...     secret = []
        ...     return (lambda: secret), secret
        >>> fn, secret = outer()
        >>> edge_names(fn, fn.__closure__[0])
        ['.__closure__[0]']
        >>> edge_names(fn.__closure__[0], secret)
        ['.cell_contents']
    """
    names: List[str] = []
    for name in _iter_names(src, dst):
        if name not in names:
            names.append(name)
            if len(names) >= _MAX_NAMES:
                break
    return names


def edge_label(src: Any, dst: Any, hint: Optional[str] = None) -> str:
    """The first of :func:`edge_names`, or ``'?'`` when the reference has no name.

    ``hint`` is a step found for a similar pair (``'.next'``): when it names
    this reference too it is the answer, checked without the full search,
    so chains of thousands of links of one kind are named quickly.

    Example:

        >>> edge_label([None, 'x'], 'x')
        '[1]'
        >>> class Node: pass
        >>> a, b = Node(), Node()
        >>> a.next = b
        >>> edge_label(a, b, hint='.next'), edge_label(a, b, hint='.prev')
        ('.next', '.next')
    """
    if hint is not None and not isinstance(hint, str):
        raise TypeError(f"hint must be a str or None, not {type(hint).__name__}")
    if hint is not None and _attribute_holds(src, dst, hint):
        return hint
    return next(_iter_names(src, dst), "?")     # the first name: no need to find the rest


def attribute_owner_name(d: Any) -> str:
    """For a module's or class's ``__dict__``, ``'module'`` or ``'Class'``; else ''.

    Lets a path print ``mod.GLOBAL`` instead of ``module.__dict__['GLOBAL']``.

    Example:

        >>> import json
        >>> attribute_owner_name(vars(json))
        'json'
    """
    if type(d) is dict:
        name = d.get("__name__") if "__name__" in d else None
        if isinstance(name, str) and "__builtins__" in d:
            return name
    return ""


def _key_step(key: Any) -> str:
    return f"[{short_repr(key)}]"


def _iter_names(src: Any, dst: Any) -> Iterator[str]:
    t = type(src)
    if t is dict or isinstance(src, dict):
        for k, v in dict.items(src):
            if v is dst:
                yield _key_step(k)
            if k is dst:
                yield f"<key {short_repr(k)}>"
    elif isinstance(src, (list, tuple)):
        seq = list.__iter__(src) if isinstance(src, list) else tuple.__iter__(src)
        for i, item in enumerate(seq):
            if item is dst:
                yield f"[{i}]"
    elif isinstance(src, (set, frozenset)):
        for item in (set.__iter__(src) if isinstance(src, set) else frozenset.__iter__(src)):
            if item is dst:
                yield f"{{{short_repr(item)}}}"
    elif isinstance(src, types.MappingProxyType):
        for k, v in src.items():
            if v is dst:
                yield f".{k}" if isinstance(k, str) else _key_step(k)
    yield from _builtin_attr_names(src, dst)
    yield from _instance_names(src, dst)


def _builtin_attr_names(src: Any, dst: Any) -> Iterator[str]:
    for base, attrs in _BUILTIN_ATTRS:
        if not isinstance(src, base):
            continue
        for attr in attrs:
            try:
                value = object.__getattribute__(src, attr) if base is not type \
                    else type.__getattribute__(src, attr)
            except Exception:
                continue
            if value is dst:
                yield f".{attr}"
            elif attr in ("__closure__", "__mro__", "__bases__", "args", "__defaults__") \
                    and isinstance(value, tuple):
                for i, item in enumerate(value):
                    if item is dst:
                        yield f".{attr}[{i}]"
    if isinstance(src, types.FrameType):
        yield from _frame_local_names(src, dst)


def _frame_local_names(frame: types.FrameType, dst: Any) -> Iterator[str]:
    try:
        # A function frame's f_locals would leave a snapshot dict in the frame
        # (3.10-3.12); _core.frame_locals reads the same names into a new dict.
        local_vars = _core.frame_locals(frame) if frame.f_code.co_flags & 0x0001 \
            else frame.f_locals
    except Exception:
        return
    try:
        items = list(local_vars.items())
    except Exception:
        return
    for name, value in items:
        if value is dst:
            yield f".f_locals[{name!r}]"


def _instance_names(src: Any, dst: Any) -> Iterator[str]:
    if isinstance(src, type):
        # tp_traverse visits the class's real dict; vars() shows a proxy of it.
        if type(dst) is dict and _is_class_dict(src, dst):
            yield ".__dict__"
        return
    try:
        d = object.__getattribute__(src, "__dict__")
    except Exception:
        d = None
    if d is dst:
        yield ".__dict__"
    elif type(d) is dict:
        for k, v in dict.items(d):
            if v is dst:
                yield f".{k}" if isinstance(k, str) else f".__dict__{_key_step(k)}"
    for klass in type(src).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for slot in slots:
            if not isinstance(slot, str) or slot in ("__dict__", "__weakref__"):
                continue
            descr = klass.__dict__.get(slot)
            if type(descr) is not types.MemberDescriptorType:
                continue
            try:
                value = descr.__get__(src, type(src))
            except Exception:
                continue
            if value is dst:
                yield f".{slot}"


def _attribute_holds(src: Any, dst: Any, step: str) -> bool:
    """Whether ``src.<name>`` is ``dst`` for a step ``.name``, reading no property."""
    name = step[1:]
    if not step.startswith(".") or not name.isidentifier():
        return False
    for base, attrs in _BUILTIN_ATTRS:
        if name in attrs and isinstance(src, base):
            getter = type.__getattribute__ if base is type else object.__getattribute__
            try:
                return getter(src, name) is dst
            except Exception:
                return False
    # An instance attribute, unless the class defines the name (a property,
    # slot or class attribute: leave those to the full search).
    if isinstance(src, type) or any(name in vars(k) for k in type(src).__mro__):
        return False
    try:
        return object.__getattribute__(src, name) is dst
    except Exception:
        return False


def _is_class_dict(cls: type, d: dict) -> bool:
    proxy = type.__dict__["__dict__"].__get__(cls)
    if len(proxy) != len(d):
        return False
    return all(k in proxy and proxy[k] is v for k, v in dict.items(d))
