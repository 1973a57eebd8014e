"""Bad input, property-based: every public function, arbitrary arguments.

Each public callable (found at run time, see publicapi.py) is called with
arbitrary positional and keyword arguments: wrong types, huge and negative
numbers, NaN, odd text, and the odd objects of hostile.py (objects whose
special methods raise, classes with hostile metaclasses, live and dead
proxies, mocks, frames, generators, cells, deep and self-containing lists).
Only the documented exceptions may come out (publicapi.ALLOWED), the
collector's state must be as it was, and the interpreter must survive.

PYMEMTRACK_FUZZ_EXAMPLES sets the examples per function (default 40).
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
import publicapi
import pymemtrack
from pymemtrack import _core

EXAMPLES = int(os.environ.get("PYMEMTRACK_FUZZ_EXAMPLES", "40"))

API = publicapi.public_api()
FUZZED = sorted(q for q, api in API.items() if not api.skip_reason)

numbers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 2, sys.maxsize, -sys.maxsize - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64,
                     2 ** 1000, -(2 ** 1000), 10 ** 30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["list", "dict", "builtins.list", "Leakcheck", "", ".", "a.b.", "..",
                     "\x00", "\udcff", "function", "type", "deltas", "count", "size"]),
    st.binary(max_size=8),
)


class Odd:
    """A placeholder hypothesis draws and shrinks; materialize() makes the
    object. Hypothesis never sees the hostile objects themselves (it inspects
    what it draws, and a hostile metaclass raises from that too)."""

    def __init__(self, index):
        self.index = index

    def __repr__(self):
        return f"<{hostile.FACTORIES[self.index][0]}>"


def materialize(value):
    if isinstance(value, Odd):
        return hostile.FACTORIES[value.index][1]()
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value


odd_objects = st.integers(0, len(hostile.FACTORIES) - 1).map(Odd)
atoms = st.one_of(st.none(), numbers, texts, odd_objects)
anything = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(texts, st.integers()), inner, max_size=3),
        st.frozensets(st.one_of(st.integers(), texts), max_size=3),
    ),
    max_leaves=6,
)


def _gc_state():
    return gc.isenabled(), gc.get_debug(), len(gc.garbage), gc.get_threshold()


def _safe_repr(obj):
    try:
        text = repr(obj)
    except BaseException:  # noqa: BLE001 - hostile items raise from __repr__
        text = f"<{type(obj).__name__} with an unprintable item>"
    return text[:300]


def _check_call(api, args, kwargs):
    allowed = publicapi.ALLOWED + publicapi.extra_allowed(api.name)
    before = _gc_state()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = api.func(*args, **kwargs)
            if api.name == "collected_cycles":
                with result:
                    pass
    except allowed:
        pass
    except BaseException as exc:  # noqa: BLE001 - anything else is the finding
        raise AssertionError(
            f"{api.qualname}(*{_safe_repr(args)}, **{_safe_repr(kwargs)}) raised an "
            f"undocumented {type(exc).__name__}: {_safe_repr(exc)}") from exc
    finally:
        result = None  # noqa: F841 - drop it before checking the heap
    assert _gc_state() == before, f"{api.qualname} left the collector changed"


@pytest.mark.parametrize("qualname", FUZZED)
def test_arbitrary_arguments_raise_only_documented_exceptions(qualname):
    api = API[qualname]
    fixed = publicapi.FIXED_KWARGS.get(api.name, {})
    params = api.required + api.optional
    # Positionals stop before the first fixed parameter; private ones are not fuzzed.
    max_positional = len(params) + (2 if api.varargs else 1)
    for i, p in enumerate(params):
        if p in fixed:
            max_positional = i
            break
    keywords = [p for p in params if p not in fixed and not p.startswith("_")] + ["bogus_kw"]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        nargs = data.draw(st.integers(0, max_positional), label="nargs")
        args = [data.draw(anything, label=f"arg{i}") for i in range(nargs)]
        names = data.draw(st.lists(st.sampled_from(keywords), unique=True, max_size=3),
                          label="keywords")
        kwargs = {n: data.draw(anything, label=n) for n in names}
        kwargs.update(fixed)
        _check_call(api, materialize(args), materialize(kwargs))

    run()
    gc.collect()
    assert pymemtrack.count("Leakcheck", publicapi.HOLD) == len(publicapi.HOLD)


@pytest.mark.parametrize("qualname", sorted(q for q in FUZZED if not publicapi.uncovered(API[q])))
def test_a_heap_full_of_hostile_objects_changes_nothing(qualname):
    """Objects that raise from every special method, living in the heap but
    not passed in, must not make any function fail: walks never call them."""
    api = API[qualname]
    hold = [factory() for _, factory in hostile.FACTORIES for _ in range(3)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            publicapi.safe_call(api)()
    finally:
        del hold
        gc.collect()


def test_the_rule_catches_an_undocumented_exception():
    """The checker itself fails on an exception outside ALLOWED."""
    def leaky(x=None):
        raise KeyError(x)

    api = publicapi.Api("test.leaky", "leaky", leaky, [], ["x"])
    with pytest.raises(AssertionError, match="undocumented KeyError"):
        _check_call(api, [1], {})
    _check_call(publicapi.Api("test.ok", "ok", lambda: None, [], []), [], {})


def test_the_rule_catches_a_function_that_leaves_the_collector_disabled():
    def disables():
        gc.disable()

    try:
        with pytest.raises(AssertionError, match="collector changed"):
            _check_call(publicapi.Api("test.disables", "disables", disables, [], []), [], {})
    finally:
        gc.enable()


def test_the_interpreter_survives_and_counts_right_after_the_fuzzing():
    class Survivor:
        pass

    keep = [Survivor() for _ in range(7)]
    assert pymemtrack.count("Survivor") == 7
    assert _core.typestats(keep) == {"Survivor": 7}
