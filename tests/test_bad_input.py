"""Bad input gets a clear TypeError or ValueError naming the argument, never a crash."""

import pytest

import pymemtrack


@pytest.mark.parametrize("call, exc, words", [
    (lambda: pymemtrack.count(3), TypeError, "typename"),
    (lambda: pymemtrack.count(None), TypeError, "typename"),
    (lambda: pymemtrack.by_type(b"list"), TypeError, "typename"),
    (lambda: pymemtrack.count("list", objects=5), TypeError, "objects"),
    (lambda: pymemtrack.by_type("list", objects=5), TypeError, "objects"),
    (lambda: pymemtrack.typestats(objects=5), TypeError, "objects"),
    (lambda: pymemtrack.typestats(filter=5), TypeError, "filter"),
    (lambda: pymemtrack.typestats(bogus=1), TypeError, "bogus"),
    (lambda: pymemtrack.typestats([], True, None, 4), TypeError, "positional"),
    (lambda: pymemtrack.most_common_types(limit="3"), TypeError, "limit"),
    (lambda: pymemtrack.most_common_types(limit=-1), ValueError, "limit"),
    (lambda: pymemtrack.growth(limit=-2), ValueError, "limit"),
    (lambda: pymemtrack.growth(peak_stats=[]), TypeError, "peak_stats"),
    (lambda: pymemtrack.show_growth(limit=1.5), TypeError, "limit"),
    (lambda: pymemtrack.get_new_ids(sortby="size"), ValueError, "sortby"),
    (lambda: pymemtrack.get_new_ids(limit=-1), ValueError, "limit"),
    (lambda: pymemtrack.at("0x10"), TypeError, "addr"),
    (lambda: pymemtrack.at(1.0), TypeError, "addr"),
    (lambda: pymemtrack.at(-1), ValueError, "addr"),
    (lambda: pymemtrack.at(2 ** 70), ValueError, "addr"),
    (lambda: pymemtrack.at_addrs(5), TypeError, "address_set"),
    # found by tests/test_fuzz.py: these raised AttributeError after updating peaks/ids
    (lambda: pymemtrack.show_growth(file=[]), TypeError, "file"),
    (lambda: pymemtrack.show_most_common_types(file=[]), TypeError, "file"),
    (lambda: pymemtrack.get_new_ids(file=3), TypeError, "file"),
])
def test_bad_arguments_raise_clear_errors(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_filter_errors_propagate_and_leave_the_module_usable():
    def boom(obj):
        raise RuntimeError("filter failed")

    with pytest.raises(RuntimeError, match="filter failed"):
        pymemtrack.typestats(filter=boom)
    with pytest.raises(RuntimeError, match="filter failed"):
        pymemtrack.growth(filter=boom)
    assert pymemtrack.typestats()["function"] > 0


def test_objects_iterable_that_raises_midway():
    def gen():
        yield []
        raise KeyError("midway")

    with pytest.raises(KeyError):
        pymemtrack.typestats(gen())
    with pytest.raises(KeyError):
        pymemtrack.by_type("list", gen())
    with pytest.raises(KeyError):
        pymemtrack.at_addrs(gen())


def test_odd_but_valid_inputs():
    assert pymemtrack.at(True) is None or pymemtrack.at(True) is not None  # an int; no crash
    assert pymemtrack.at_addrs({"a", None, -3, 2 ** 80}) == []
    assert pymemtrack.typestats([], filter=0) == {}          # falsy filter: none, as objgraph
    assert pymemtrack.count("") == 0
    assert pymemtrack.count("a.b.c.d") == 0
    assert pymemtrack.by_type(".") == []
    assert pymemtrack.most_common_types(objects=[]) == []
    pymemtrack.show_most_common_types(objects=[])           # prints nothing (objgraph raises)


def test_filter_that_mutates_the_heap():
    made = []

    def churn(obj):
        made.append([obj])           # allocates GC objects during the walk
        if len(made) > 1000:
            del made[:500]
        return True

    stats = pymemtrack.typestats(filter=churn)
    assert stats["list"] > 0


def test_a_failed_get_new_ids_leaves_its_state_usable():
    """Found by tests/test_selfleak_api.py: a shortnames whose __bool__ raised
    was stored first, and every later get_new_ids() call raised too."""
    import io

    class NoBool:
        def __bool__(self):
            raise RuntimeError("no truth value")

    state = {}
    pymemtrack.get_new_ids(limit=0, _state=state)
    with pytest.raises(RuntimeError):
        pymemtrack.get_new_ids(limit=0, shortnames=NoBool(), _state=state)
    assert isinstance(pymemtrack.get_new_ids(limit=0, _state=state, file=io.StringIO()), dict)
    assert state["shortnames"] is True
