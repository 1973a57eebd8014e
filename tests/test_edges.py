"""Edge names: how one object refers to another, for paths and cycle reports."""

import gc
import sys
import types

import pytest

from pymemtrack.edges import attribute_owner_name, edge_label, edge_names, short_repr


class Node:
    pass


class Slotted:
    __slots__ = ("left", "right")


def test_attributes_slots_and_dict():
    a, b = Node(), Node()
    a.next = b
    a.other = b
    assert edge_names(a, b) == [".next", ".other"]
    s = Slotted()
    s.right = b
    assert edge_names(s, b) == [".right"]
    d = a.__dict__
    assert ".__dict__" in edge_names(a, d)


def test_containers():
    x = Node()
    assert edge_names({"a": x, ("t", 1): x}, x) == ["['a']", "[('t', 1)]"]
    assert edge_names({x: 1}, x) == [f"<key {short_repr(x)}>"]
    assert edge_names([1, x, x], x) == ["[1]", "[2]"]
    assert edge_names((x,), x) == ["[0]"]
    assert edge_names({x}, x) == ["{" + short_repr(x) + "}"]
    assert edge_names([1, 2], x) == []
    assert edge_label([1, 2], x) == "?"


def test_functions_closures_methods():
    def outer():
        held = Node()

        def inner():
            return held
        return inner, held

    fn, held = outer()
    cell = fn.__closure__[0]
    assert edge_names(fn, cell) == [".__closure__[0]"]
    assert edge_names(cell, held) == [".cell_contents"]
    m = Node().__init__
    bound = types.MethodType(lambda self: None, held)
    assert edge_names(bound, held) == [".__self__"]
    assert edge_names(fn, fn.__globals__) == [".__globals__"]
    assert m is not None


def test_exceptions_tracebacks_frames():
    def fail(req):
        raise ValueError(req)

    try:
        fail(Node())
    except ValueError as exc:
        err = exc
    tb = err.__traceback__
    assert edge_names(err, tb) == [".__traceback__"]
    assert edge_names(tb, tb.tb_next) == [".tb_next"]
    frame = tb.tb_next.tb_frame
    assert edge_names(tb.tb_next, frame) == [".tb_frame"]
    assert ".f_locals['req']" in edge_names(frame, err.args[0])
    assert ".args[0]" in edge_names(err, err.args[0])


def test_modules_and_classes():
    mod = sys.modules[__name__]
    assert edge_names(mod, vars(mod)) == [".__dict__"]
    assert attribute_owner_name(vars(mod)) == __name__
    assert attribute_owner_name({"__name__": "x"}) == ""

    class Holder:
        VALUE = Node()
    real = [r for r in gc.get_referents(Holder) if type(r) is dict]
    assert real and edge_names(Holder, real[0]) == [".__dict__"]
    assert edge_names(real[0], Holder.VALUE) == ["['VALUE']"]


def test_never_runs_user_eq_hash_repr_or_properties():
    class Hostile:
        def __eq__(self, other):
            raise AssertionError("__eq__ ran")

        def __hash__(self):
            return 1

        def __repr__(self):
            raise RuntimeError("repr failed")

        @property
        def prop(self):
            raise AssertionError("property ran")

    h = Hostile()
    target = Node()
    h.x = target
    assert edge_names(h, target) == [".x"]
    assert edge_names({h: target}, target) == ["[<Hostile object (repr failed)>]"]
    assert short_repr(h).startswith("<Hostile object")


@pytest.mark.parametrize("limit", [5, 10, 40])
def test_short_repr_limits(limit):
    assert len(short_repr("y" * 200, limit)) <= limit
