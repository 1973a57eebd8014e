"""The public API, found at run time, and how the reliability tests may call it.

Nothing here lists the functions to test: they are enumerated when the tests
run, from ``pymemtrack.__all__``, the ``__all__`` of every public submodule
and every callable of ``pymemtrack._core`` (C functions and types). A
function added on any branch is fuzzed, stress-tested and leak-checked
without editing this file, as long as its required parameters have names
listed in ``PARAM_VALUES``; the ones that do not are listed by
``test_every_public_function_is_covered`` (tests/test_selfleak_api.py).

Three small tables hold the exceptions, each entry with its reason:

* ``SKIP_MODULES``: submodules whose ``__all__`` is not enumerated.
* ``NOT_CALLED``: functions the generic tests never call (they start threads,
  attach to processes, run programs, or arm the fault injector).
* ``FIXED_KWARGS``: arguments the fuzzer never varies (paths it would write).

The "documented exceptions" rule lives here too (``ALLOWED``): bad input may
raise TypeError, ValueError, MemoryError or OSError (paths), plus whatever
the caller's own objects raise when the function calls them (their
``__eq__``, ``__hash__``, ``__iter__``, a ``filter`` callback...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import inspect
import types
import io
import os
import pkgutil
import re
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Tuple

import pymemtrack
from pymemtrack import _core

# --- what is enumerated ------------------------------------------------------

SKIP_MODULES = {
    "__main__": "the command line; tests/test_docs_and_cli.py runs it as a program",
    "cli": "the command line; tests/test_docs_and_cli.py runs it as a program",
    "demo": "a demo service that allocates and prints by design",
    "runner": "runs another program under the monitor (python -m pymemtrack run)",
    "plot": "renders images with matplotlib (an optional extra)",
    "pytest_plugin": "pytest hooks; its own tests drive it through pytester",
    "attach": "attaches to other processes with gdb or sys.remote_exec",
}

NOT_CALLED = {
    "_fail_after": "test-only fault injector; tests/test_mempressure.py drives it",
    "_cycles_fail_after": "test-only fault injector of the cycle analysis",
    "_raw_blocks": "test-only counter the checks themselves read",
    "start_monitor": "starts a sampling thread and writes the files its arguments name; "
                     "tests/test_threads.py runs it with safe arguments",
    "Monitor": "the class start_monitor() builds; see start_monitor",
    "remote_report": "attaches to another process with gdb or sys.remote_exec",
    "inspect_target": "attaches to another process with gdb or sys.remote_exec",
    "run_program": "runs another Python program",
    "plot_csv": "renders images with matplotlib",
    "main": "the command line entry point",
    "Partition": "made by pymemtrack.heap() only (its constructor raises TypeError); its "
                 "methods are called on an instance from INSTANCE_FACTORIES",
}

# C types whose instances come from a function, not their constructor: the
# methods of such an instance are enumerated and called like the others.
INSTANCE_FACTORIES: Dict[str, Callable[[], Any]] = {
    "Partition": lambda: pymemtrack.heap(deep=False),
}

# Python classes whose constructor does real work (walks the heap, checks its
# arguments), so they are called like functions. Every other Python class is
# a result type (NamedTuples, reports, exceptions) and is not called; the C
# types of _core always are.
CALLED_CLASSES = {"SummaryTracker", "LeakChecker"}

# Functions given these keyword arguments in every call (the fuzzer varies the
# others): graph writers would otherwise write files named by random text.
GRAPH_OUT = os.path.join(tempfile.mkdtemp(prefix="pymemtrack-api-"), "graph.dot")
FIXED_KWARGS: Dict[str, Dict[str, Any]] = {
    "show_backrefs": {"filename": GRAPH_OUT},
    "show_refs": {"filename": GRAPH_OUT},
    "show_chain": {"filename": GRAPH_OUT},
    "show_cycle": {"filename": GRAPH_OUT},
}

# --- the documented exceptions -------------------------------------------------


class Boom(Exception):
    """What the tests' own hostile objects raise from their special methods."""


DOCUMENTED = (TypeError, ValueError, MemoryError, OSError)

# Raised by the caller's objects when a function calls into them: our hostile
# objects raise Boom, a dead weakref.proxy raises ReferenceError.
FROM_CALLERS_OBJECTS = (Boom, ReferenceError)

ALLOWED = DOCUMENTED + FROM_CALLERS_OBJECTS


def extra_allowed(name: str) -> Tuple[type, ...]:
    """Exceptions a function documents beyond ALLOWED (looked up by name)."""
    extra = []
    if name in ("assert_no_leaks",):
        leakcheck = importlib.import_module("pymemtrack.leakcheck")
        extra.append(leakcheck.LeakError)    # its whole point
    return tuple(extra)


# --- the enumeration ------------------------------------------------------------


@dataclasses.dataclass
class Api:
    """One public callable: where it was found and how to call it."""

    qualname: str                  # e.g. "pymemtrack.count", "pymemtrack._core.IdMap"
    name: str                      # the last component, the key of every table
    func: Callable[..., Any]
    required: List[str]            # required parameter names, in order
    optional: List[str]            # optional parameter names (keywords)
    varargs: bool = False          # takes *args
    signature_known: bool = True
    host: Optional["Api"] = None   # for a method: the C type whose instance it is bound to

    @property
    def skip_reason(self) -> Optional[str]:
        if self.name in NOT_CALLED:
            return NOT_CALLED[self.name]
        if (isinstance(self.func, type) and self.func.__module__ != "pymemtrack._core"
                and self.name not in CALLED_CLASSES):
            return ("a Python result type: its instances come from the functions that "
                    "are called here (its constructor only stores its arguments)")
        return None

    @property
    def is_c(self) -> bool:
        return self.qualname.startswith("pymemtrack._core.")


_DOC_SIGNATURE = re.compile(r"^\s*(\w+)\((.*?)\)\s*(->|$)", re.S)


def _parse_params(text: str) -> Tuple[List[str], List[str], bool]:
    required, optional, varargs = [], [], False
    keyword_only = False
    for part in (p.strip() for p in text.split(",")):
        if not part or part == "/":
            continue
        if part == "*":
            keyword_only = True
            continue
        if part.startswith("**"):
            continue
        if part.startswith("*"):
            varargs = True
            keyword_only = True
            continue
        pname = part.split("=")[0].split(":")[0].strip()
        if not pname.isidentifier():
            continue
        if "=" in part:
            optional.append(pname)
        elif keyword_only:
            required.append(pname)
        else:
            required.append(pname)
    return required, optional, varargs


# Signatures of C callables whose docstring does not start with one.
DOC_SIGNATURES = {
    # snapshot.py installs Python methods and a docstring on the C type,
    # replacing its tp_doc "Snapshot() -> ...".
    "Snapshot": "Snapshot()",
}


def _describe(qualname: str, func: Callable[..., Any], doc: Optional[str] = None) -> Api:
    name = qualname.rsplit(".", 1)[1]
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        sig = None
    # Our C functions say their signature in the docstring; 3.13 also gives
    # METH_O builtins an automatic "(object, /)" that would hide it.
    doc_first = ((isinstance(func, type) and func.__module__ == "pymemtrack._core")
                 or (isinstance(func, types.BuiltinFunctionType)
                     and _DOC_SIGNATURE.match(DOC_SIGNATURES.get(name) or doc or func.__doc__ or "")))
    if sig is not None and not doc_first:
        required, optional, varargs = [], [], False
        for p in sig.parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                varargs = True
            elif p.kind is p.VAR_KEYWORD:
                continue
            elif p.default is p.empty:
                required.append(p.name)
            else:
                optional.append(p.name)
        return Api(qualname, name, func, required, optional, varargs)
    # C functions and types: pymemtrack's docstrings start "name(params) -> ...".
    doc = DOC_SIGNATURES.get(name) or doc or func.__doc__ or ""
    m = _DOC_SIGNATURE.match(doc)
    if m and m.group(1) == name:
        required, optional, varargs = _parse_params(m.group(2))
        return Api(qualname, name, func, required, optional, varargs)
    return Api(qualname, name, func, [], [], False, signature_known=False)


def _public_modules() -> List[Any]:
    mods = [pymemtrack]
    for info in pkgutil.iter_modules(pymemtrack.__path__):
        if info.name.startswith("_") or info.name in SKIP_MODULES:
            continue
        mods.append(importlib.import_module("pymemtrack." + info.name))
    return mods


def public_api() -> Dict[str, Api]:
    """Every public callable, keyed by qualified name, re-exports merged."""
    found: Dict[int, Api] = {}
    order: List[Tuple[str, Callable[..., Any]]] = []
    for mod in _public_modules():
        for attr in getattr(mod, "__all__", ()):
            obj = getattr(mod, attr, None)
            if callable(obj):
                order.append((f"{mod.__name__}.{attr}", obj))
    for attr in sorted(vars(_core)):
        if attr.startswith("__"):
            continue
        obj = getattr(_core, attr)
        if callable(obj) and not isinstance(obj, type(_core)):
            order.append((f"pymemtrack._core.{attr}", obj))
    for qualname, obj in order:
        key = id(obj)
        if key not in found or len(qualname) < len(found[key].qualname):
            found[key] = _describe(qualname, obj)
    apis = sorted(found.values(), key=lambda a: a.qualname)
    for api in list(apis):
        if isinstance(api.func, type) and api.func.__module__ == "pymemtrack._core":
            apis.extend(_methods_of(api))
    return {api.qualname: api for api in apis}


def _methods_of(cls_api: Api) -> List[Api]:
    """The methods of one fresh instance of a C type (C and installed Python ones)."""
    if cls_api.name not in INSTANCE_FACTORIES and (uncovered(cls_api) or cls_api.skip_reason):
        return []
    instance = _instance(cls_api)
    methods = []
    for attr in sorted(dir(type(instance))):
        if attr.startswith("__"):
            continue
        bound = getattr(instance, attr)
        if not callable(bound):
            continue
        api = _describe(f"{cls_api.qualname}().{attr}", bound,
                        getattr(type(instance), attr).__doc__)
        api.host = cls_api
        methods.append(api)
    return methods


def find(name: str) -> Optional[Api]:
    """The public callable with that last name component, if any branch added it."""
    for api in public_api().values():
        if api.name == name:
            return api
    return None


# --- safe arguments ---------------------------------------------------------------


class Leakcheck:
    """Instances the safe calls point at."""


HOLD = [Leakcheck() for _ in range(10)]
ADDRS = {id(x) for x in HOLD}

# Functions whose safe call needs positional arguments no generic parameter
# value gives: show_chain(*chains) wants one chain, Snapshot._from_rows wants
# snapshot rows (module, name, count, size), not summary rows.
SAFE_POSITIONAL: Dict[str, Callable[[], List[Any]]] = {
    "show_chain": lambda: [[HOLD[0], HOLD[1]]],
    "_from_rows": lambda: [[(None, "x", 1, 2), ("m", "y", 3, 4)]],
}
HOLDER = {"held": HOLD[0]}          # so chains and retention paths have something to find


def _a_snapshot() -> Any:
    return pymemtrack.snapshot()


def _summary_rows() -> Any:
    return importlib.import_module("pymemtrack.summary").summarize()


def _a_cycle() -> Any:
    cycles = importlib.import_module("pymemtrack.cycles")
    was = gc.isenabled()
    gc.disable()
    try:
        ring = [[], []]
        ring[0].append(ring[1])
        ring[1].append(ring[0])
        del ring
        report = cycles.garbage_cycles()
        return report[0]
    finally:
        if was:
            gc.enable()


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


# Values for required parameters, by name. A value that is a zero-argument
# function marked with _lazy is called for each use (fresh object).
def _lazy(fn: Callable[[], Any]) -> Callable[[], Any]:
    fn._pmt_lazy = True  # type: ignore[attr-defined]
    return fn


PARAM_VALUES: Dict[str, Any] = {
    "typename": "Leakcheck",
    "objects": HOLD,
    "obj": HOLD[0],
    "objs": [HOLD[0]],
    "src": HOLDER,
    "dst": HOLD[0],
    "d": HOLDER,
    "addr": id(HOLD[0]),
    "address_set": ADDRS,
    "predicate": lambda o: o is HOLDER,
    "max_depth": 5,
    "backrefs": True,
    "old": None,
    "fn": _noop,
    "since": _lazy(_a_snapshot),
    "rows": _lazy(_summary_rows),
    "cycle": _lazy(_a_cycle),
    "frame": _lazy(lambda: sys._getframe()),
}


def _instance(cls_api: Api) -> Any:
    factory = INSTANCE_FACTORIES.get(cls_api.name)
    return factory() if factory else safe_call(cls_api, keep=True)()


def _value(api: Api, pname: str) -> Any:
    if api.host is not None and pname in ("old", "other"):
        return _instance(api.host)                  # another instance of the same type
    v = PARAM_VALUES[pname]
    return v() if getattr(v, "_pmt_lazy", False) else v


def uncovered(api: Api) -> Optional[str]:
    """Why the generic tests cannot call api with safe arguments, or None."""
    if api.skip_reason:
        return None
    if not api.signature_known:
        return "no signature (its docstring does not start with 'name(params) ->')"
    missing = [p for p in api.required if p not in PARAM_VALUES]
    if missing:
        return f"no safe value for required parameter(s) {missing}: add them to PARAM_VALUES"
    return None


def safe_call(api: Api, keep: bool = False) -> Callable[[], Any]:
    """A zero-argument function making one safe call of api (stdout discarded).

    It returns the result when ``keep`` is true, else None (results are
    dropped at once); ``collected_cycles`` (a context manager) is entered
    and left around an empty block.
    """
    fixed = FIXED_KWARGS.get(api.name, {})

    def call() -> Any:
        if api.name in SAFE_POSITIONAL:
            args = SAFE_POSITIONAL[api.name]()
        else:
            args = [_value(api, p) for p in api.required if p not in fixed]
        with contextlib.redirect_stdout(io.StringIO()):
            result = api.func(*args, **fixed)
            if api.name == "collected_cycles":
                with result:
                    pass
        return result if keep else None

    return call
