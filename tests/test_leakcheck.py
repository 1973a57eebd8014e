"""The leak rule without pytest: what it flags, what it lets pass, and what it clears."""

import collections
import functools
import gc
import itertools
import re

import pytest

from pymemtrack import leakcheck
from pymemtrack.leakcheck import LeakChecker, LeakError, find_leaks


class Item:
    pass


KEPT = []


def test_a_per_call_leak_is_found_with_its_deltas_and_holder():
    report = find_leaks(lambda: KEPT.append(Item()))
    assert report.leaked_types() == [f"{__name__}.Item"]
    (leak,) = report.leaks
    assert leak.run_deltas == (1, 1, 1, 1)
    assert leak.batch_deltas == (4, 4)
    assert leak.needed == 2
    assert "Item at 0x" in leak.sample
    # why_alive names the global and the index (the fallback: "KEPT: list[...")
    assert leak.held_by.startswith((f"{__name__}.KEPT [", f"{__name__}.KEPT: list["))
    assert report.calls == 3 + 4 + 2 * 4


def test_temporary_objects_are_not_a_leak():
    report = find_leaks(lambda: [Item() for _ in range(100)])
    assert report.ok and report.calls == 7
    assert str(report).endswith("no leak (7 calls)")


def test_a_cache_that_fills_and_stops_is_not_a_leak():
    cache = {}
    keys = itertools.count()

    def fill():                  # grows for 6 calls (warm-ups and two runs), then stops
        key = next(keys)
        if key < 6:
            cache[key] = Item()

    report = find_leaks(fill)
    assert report.ok


def test_scaling_rejects_growth_that_does_not_follow_the_calls():
    state = {"calls": 0}
    grown = []

    def slow_fill():             # one new object per run of the rule, not per call
        state["calls"] += 1
        if state["calls"] <= 3 + 4 or state["calls"] % 4 == 0:
            grown.append(Item())

    report = LeakChecker(warmup=3, runs=4, scale=4).find(slow_fill)
    assert report.ok
    assert [u.type_name for u in report.unconfirmed] == [f"{__name__}.Item"]
    assert report.unconfirmed[0].batch_deltas == (1, 1)


def test_bounded_lru_caches_are_cleared_unbounded_ones_are_not():
    @functools.lru_cache(maxsize=1000)
    def bounded(key):
        return [key]

    @functools.cache
    def unbounded(key):
        return [key]

    keys = itertools.count()
    assert find_leaks(lambda: bounded(next(keys))).ok
    report = find_leaks(lambda: unbounded(next(keys)))
    assert report.leaked_types() == ["builtins.list"]


def test_clear_caches_empties_the_known_caches():
    re.compile("pymemtrack-clear-caches-test")
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("default")
        warnings.warn("registry entry", UserWarning)
    assert "__warningregistry__" in globals()

    @functools.lru_cache(maxsize=8)
    def bounded(key):
        return key

    bounded(1)
    leakcheck.clear_caches()
    assert len(re._cache) == 0
    assert "__warningregistry__" not in globals()
    assert bounded.cache_info().currsize == 0


def test_ignore_and_filter():
    assert LeakChecker(ignore=["Item"]).find(lambda: KEPT.append(Item())).ok
    assert LeakChecker(ignore=[f"{__name__}.*"]).find(lambda: KEPT.append(Item())).ok
    only_lists = LeakChecker(filter=lambda name: name == "builtins.list")
    assert only_lists.find(lambda: KEPT.append(Item())).ok
    assert not only_lists.find(lambda: KEPT.append([])).ok


def test_check_raises_with_the_report_and_no_growth():
    checker = LeakChecker(warmup=1, runs=2, scale=2)
    with pytest.raises(LeakError) as info:
        checker.check(lambda: KEPT.append(Item()))
    assert "leaks 1 type(s)" in str(info.value)
    assert info.value.report.leaked_types() == [f"{__name__}.Item"]
    with checker.no_growth():
        [Item() for _ in range(3)]
    with pytest.raises(LeakError, match=r"the block left 3 new object\(s\) of 1 type"):
        with checker.no_growth():
            KEPT.extend(Item() for _ in range(3))


def test_exceptions_from_the_code_propagate():
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        find_leaks(boom)


@pytest.mark.parametrize("kwargs, error", [
    ({"runs": 0}, ValueError), ({"scale": 1}, ValueError), ({"warmup": -1}, ValueError),
    ({"runs": 2.0}, TypeError), ({"warmup": True}, TypeError)])
def test_bad_settings(kwargs, error):
    with pytest.raises(error):
        LeakChecker(**kwargs)


def test_owned_ids_are_what_only_the_containers_hold():
    shared = Item()
    GLOBAL_HOLDER = [shared]
    bag = [Item(), {"payload": [Item()]}, shared]
    own = leakcheck._owned_ids([bag])
    assert id(bag[0]) in own and id(bag[1]) in own and id(bag[1]["payload"]) in own
    assert id(bag[1]["payload"][0]) in own
    assert id(shared) not in own          # also held from outside
    also = bag[1]["payload"]
    own = leakcheck._owned_ids([bag])
    assert id(also) not in own and id(also[0]) not in own
    del GLOBAL_HOLDER, also


def test_the_rule_leaves_the_collector_as_it_found_it():
    was_frozen = gc.get_freeze_count()
    find_leaks(lambda: KEPT.append(Item()))
    find_leaks(lambda: None)
    assert gc.get_freeze_count() == was_frozen
    assert gc.isenabled()


def test_a_deque_with_maxlen_is_not_a_leak():
    recent = collections.deque((Item() for _ in range(50)), maxlen=50)
    assert find_leaks(lambda: recent.append(Item())).ok
