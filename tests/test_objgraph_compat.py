"""Differential tests: pymemtrack and objgraph 3.7 on the same heap give the same answers."""

import collections
import gc
import io
import sys

import objgraph
import pytest

import pymemtrack


class Tracked:
    pass


def make_module_class(module, name):
    return type(name, (), {"__module__": module})


def test_typestats_matches_objgraph_on_the_whole_heap():
    class Counted:
        pass
    keep = [Counted() for _ in range(50)] + [[i] for i in range(30)]
    gc.collect()
    gc.disable()             # no automatic collection between the two calls
    for shortnames in (True, False):
        ours = pymemtrack.typestats(shortnames=shortnames)
        theirs = objgraph.typestats(shortnames=shortnames)
        assert ours == theirs
    assert ours[__name__ + ".Counted"] == 50
    del keep


def test_names_read_through_a_metatype_match_objgraph():
    # Cython 3.2's shared metatype defines its own __module__ descriptor, and
    # a class's __module__ may be any object: objgraph reads both through
    # getattr(type, '__module__') and formats the value with %s.
    class ModuleFromMeta(type):
        @property
        def __module__(cls):
            return "from_meta"

        @property
        def __name__(cls):
            return "NamedByMeta"

    class Odd(type):
        pass

    ByMeta = ModuleFromMeta("ByMeta", (), {})
    NumberModule = Odd("NumberModule", (), {})
    NumberModule.__module__ = 5
    FalsyModule = Odd("FalsyModule", (), {})
    FalsyModule.__module__ = 0
    keep = [ByMeta(), ByMeta(), NumberModule(), FalsyModule()]
    gc.collect()
    gc.disable()
    for shortnames in (True, False):
        assert pymemtrack.typestats(shortnames=shortnames) == objgraph.typestats(shortnames=shortnames)
    ours = pymemtrack.typestats(shortnames=False)
    assert ours["from_meta.NamedByMeta"] == 2
    assert ours["5.NumberModule"] == 1
    assert ours["FalsyModule"] == 1
    del keep


def test_a_metatype_whose_module_raises_is_named_without_a_module():
    class Raising(type):
        @property
        def __module__(cls):
            raise ValueError("no module today")  # objgraph itself raises here

    NoModule = Raising("NoModule", (), {})
    keep = [NoModule() for _ in range(3)]
    assert pymemtrack.typestats(shortnames=False)["NoModule"] == 3
    assert pymemtrack.count("NoModule") == 3
    del keep


def test_typestats_with_objects_and_filter_matches_objgraph():
    objs = [Tracked(), Tracked(), [], {}, (1, 2), "s", 3]
    for kw in ({}, {"shortnames": False}, {"filter": lambda o: not isinstance(o, list)}):
        assert pymemtrack.typestats(objs, **kw) == objgraph.typestats(objs, **kw)
    flt = lambda o: isinstance(o, Tracked)  # noqa: E731
    assert pymemtrack.typestats(filter=flt) == objgraph.typestats(filter=flt)


def test_same_short_name_in_two_modules_is_lumped_or_split_like_objgraph():
    A1 = make_module_class("pkg.one", "Twin")
    A2 = make_module_class("pkg.two", "Twin")
    objs = [A1(), A1(), A2()]
    assert pymemtrack.typestats(objs) == objgraph.typestats(objs) == {"Twin": 3}
    long = pymemtrack.typestats(objs, shortnames=False)
    assert long == objgraph.typestats(objs, shortnames=False)
    assert long == {"pkg.one.Twin": 2, "pkg.two.Twin": 1}


def test_count_short_and_qualified_names():
    keep = [Tracked() for _ in range(7)]
    extra = 0
    for name in ("Tracked", __name__ + ".Tracked", "list", "builtins.dict", "NoSuchType"):
        assert pymemtrack.count(name) == objgraph.count(name), name
    assert pymemtrack.count("Tracked") == 7 + extra
    objs = [[], [], {}]
    assert pymemtrack.count("list", objs) == objgraph.count("list", objs) == 2
    del keep


def test_by_type_returns_the_same_objects_as_objgraph():
    keep = [Tracked() for _ in range(5)]
    ours = pymemtrack.by_type("Tracked")
    theirs = objgraph.by_type("Tracked")
    assert [id(o) for o in ours] == [id(o) for o in theirs]
    assert sorted(map(id, ours)) == sorted(map(id, keep))
    assert pymemtrack.by_type(__name__ + ".Tracked") == ours
    mixed = [keep[0], [], keep[1]]
    assert pymemtrack.by_type("Tracked", mixed) == objgraph.by_type("Tracked", mixed)


def test_most_common_types_and_show_most_common_types_match_objgraph():
    objs = [[] for _ in range(5)] + [{} for _ in range(3)] + [Tracked()]
    assert pymemtrack.most_common_types(objects=objs) == objgraph.most_common_types(objects=objs)
    assert pymemtrack.most_common_types(limit=None, objects=objs) == \
        objgraph.most_common_types(limit=None, objects=objs)
    ours, theirs = io.StringIO(), io.StringIO()
    pymemtrack.show_most_common_types(objects=objs, file=ours)
    objgraph.show_most_common_types(objects=objs, file=theirs)
    assert ours.getvalue() == theirs.getvalue() == "list    5\ndict    3\nTracked 1\n"


def test_whole_heap_most_common_types_match_objgraph():
    # The two calls run one after the other while the test runner lives: allow
    # the objects made in between (exact equality is tested on typestats above).
    gc.collect()
    gc.disable()             # no automatic collection between the two calls
    ours = dict(pymemtrack.most_common_types(limit=5))
    theirs = dict(objgraph.most_common_types(limit=5))
    gc.enable()
    assert list(ours) == list(theirs)
    assert all(abs(ours[k] - theirs[k]) <= 3 for k in ours)


def test_growth_and_show_growth_match_objgraph():
    only = lambda o: isinstance(o, (Tracked, collections.OrderedDict))  # noqa: E731
    ours_peaks, their_peaks = {}, {}
    assert pymemtrack.growth(peak_stats=ours_peaks, filter=only) == \
        objgraph.growth(peak_stats=their_peaks, filter=only)
    keep = [Tracked() for _ in range(4)] + [collections.OrderedDict() for _ in range(2)]
    ours = pymemtrack.growth(peak_stats=ours_peaks, filter=only)
    theirs = objgraph.growth(peak_stats=their_peaks, filter=only)
    assert ours == theirs
    assert ("Tracked", 4, 4) in ours
    assert ours_peaks == their_peaks
    # Peak-based: dropping and re-creating as many objects reports nothing.
    del keep[:]
    keep.extend(Tracked() for _ in range(4))
    assert pymemtrack.growth(peak_stats=ours_peaks, filter=only) == []
    keep.append(Tracked())
    out_ours, out_theirs = io.StringIO(), io.StringIO()
    pymemtrack.show_growth(peak_stats=dict(ours_peaks), filter=only, file=out_ours)
    objgraph.show_growth(peak_stats=dict(their_peaks), filter=only, file=out_theirs)
    assert out_ours.getvalue() == out_theirs.getvalue() == "Tracked        5        +1\n"


def test_growth_default_peak_stats_is_shared_between_calls():
    pymemtrack.growth(limit=None)
    keep = [Tracked() for _ in range(3)]
    rows = dict((name, delta) for name, _, delta in pymemtrack.growth(limit=None))
    assert rows.get("Tracked") == 3
    assert "Tracked" not in dict((n, d) for n, _, d in pymemtrack.growth(limit=None))
    del keep


def test_show_growth_whole_heap_prints_objgraph_format():
    class Grown:
        pass
    pymemtrack.show_growth(file=io.StringIO())
    keep = [Grown() for _ in range(11)]
    out = io.StringIO()
    pymemtrack.show_growth(file=out)
    lines = out.getvalue().splitlines()
    tracked = [line for line in lines if line.startswith("Grown ")]
    assert tracked and tracked[0].split()[1:] == ["11", "+11"]
    width = max(len(line.split()[0]) for line in lines)
    assert all(len(line) == width + 9 + 1 + 9 for line in lines)
    del keep


def test_growth_collects_garbage_first():
    pymemtrack.growth(limit=None)
    for _ in range(5):
        a = Tracked()
        a.self = a            # cyclic garbage once the name is rebound
    del a
    assert "Tracked" not in [name for name, _, _ in pymemtrack.growth(limit=None)]


def _table(text):
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and not line.startswith("Type"):
            rows[parts[0]] = parts[1:]
    return rows


def test_get_new_ids_matches_objgraph_rows_and_sets():
    ours_state, their_state = {}, {}
    flt = io.StringIO()
    pymemtrack.get_new_ids(limit=None, file=flt, _state=ours_state)
    objgraph.get_new_ids(limit=None, file=flt, _state=their_state)
    keep = [Tracked() for _ in range(6)]
    ours_out, theirs_out = io.StringIO(), io.StringIO()
    ours = pymemtrack.get_new_ids(limit=None, file=ours_out, _state=ours_state)
    theirs = objgraph.get_new_ids(limit=None, file=theirs_out, _state=their_state)
    assert ours["Tracked"] == theirs["Tracked"] == set(map(id, keep))
    assert _table(ours_out.getvalue())["Tracked"] == _table(theirs_out.getvalue())["Tracked"] \
        == ["0", "6", "+6", "+6"]
    lines = ours_out.getvalue().splitlines()
    assert lines[0] == lines[2] == lines[-1] == "=" * len(lines[0])
    assert lines[1].split() == ["Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"]
    # skip_update returns the same dict, untouched
    assert pymemtrack.get_new_ids(skip_update=True, _state=ours_state) is ours
    # a type that disappears is reported once with its old count, then dropped
    del keep
    out = io.StringIO()
    ours = pymemtrack.get_new_ids(limit=None, file=out, _state=ours_state)
    assert _table(out.getvalue())["Tracked"] == ["6", "0", "+0", "-6"]
    out = io.StringIO()
    pymemtrack.get_new_ids(limit=None, file=out, _state=ours_state)
    assert "Tracked" not in _table(out.getvalue()) and "Tracked" not in ours


def test_get_new_ids_sortby_limit_and_printing_nothing():
    state = {}
    pymemtrack.get_new_ids(limit=0, _state=state)
    keep = [Tracked() for _ in range(3)]
    out = io.StringIO()
    pymemtrack.get_new_ids(limit=2, sortby="new", file=out, _state=state)
    rows = list(_table(out.getvalue()).items())
    assert len(rows) == 2 and int(rows[0][1][2]) >= int(rows[1][1][2])
    out = io.StringIO()
    pymemtrack.get_new_ids(limit=0, file=out, _state=state)
    assert out.getvalue() == ""
    del keep


def test_at_and_at_addrs_match_objgraph():
    a, b, c = Tracked(), [], {"k": []}
    assert pymemtrack.at(id(a)) is a
    assert pymemtrack.at(id(b)) is b
    assert pymemtrack.at(id(12345678)) is None           # ints are not tracked
    assert pymemtrack.at(0) is None
    ours = pymemtrack.at_addrs({id(a), id(b), id(c), id("str"), -5, "x"})
    theirs = objgraph.at_addrs({id(a), id(b), id(c)})
    assert [id(o) for o in ours] == [id(o) for o in theirs]
    assert pymemtrack.at_addrs([]) == []


def test_import_as_objgraph_drop_in():
    names = ["count", "typestats", "most_common_types", "show_most_common_types", "growth",
             "show_growth", "get_new_ids", "by_type", "at", "at_addrs"]
    import inspect
    for name in names:
        ours = inspect.signature(getattr(pymemtrack, name))
        theirs = inspect.signature(getattr(objgraph, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for p in theirs.parameters.values():
            default = ours.parameters[p.name].default
            if isinstance(p.default, dict):
                assert isinstance(default, dict)
            else:
                assert default == p.default, (name, p.name)


@pytest.mark.parametrize("call", [
    lambda: pymemtrack.by_type("Target"),
    lambda: [pymemtrack.at(id(x)) for x in TARGETS],
    lambda: pymemtrack.at_addrs(set(map(id, TARGETS))),
    lambda: pymemtrack.by_type("Target", list(TARGETS)),
])
def test_returned_objects_gain_no_new_referrers(call):
    before = {id(t): len(gc.get_referrers(t)) for t in TARGETS}
    result = call()
    gc.collect()
    for t in TARGETS:
        refs = gc.get_referrers(t)
        # only the returned list (and, for at(), the list made by the lambda)
        assert len(refs) == before[id(t)] + 1, refs
    del result


class Target:
    pass


TARGETS = [Target() for _ in range(3)]


def test_no_collect_in_counting_functions():
    gc.collect()
    gc.disable()             # only an automatic collection could free the garbage
    name = __name__ + ".Target"                # other test modules have a Target too
    a = Target()
    a.self = a
    del a
    assert pymemtrack.count(name) == len(TARGETS) + 1   # garbage still counted
    assert len(pymemtrack.by_type(name)) == len(TARGETS) + 1
    gc.enable()
    gc.collect()
    assert pymemtrack.count(name) == len(TARGETS)


def test_objgraph_style_names_for_static_types():
    import weakref
    r = weakref.ref(Tracked)
    assert pymemtrack.typestats([r]) == objgraph.typestats([r])
    assert pymemtrack.typestats([r], shortnames=False) == objgraph.typestats([r], shortnames=False)
    od = collections.OrderedDict()
    assert pymemtrack.typestats([od], shortnames=False) == {"collections.OrderedDict": 1}
    assert sys.modules["collections"]
