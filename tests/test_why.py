"""why_alive: retention paths in words, from modules, classes, thread frames and C."""

import ctypes
import gc
import io
import sys
import threading
import tracemalloc
import types
import weakref

import objgraph
import pytest

import pymemtrack
from pymemtrack import Link, RetentionPath, WhyAlive


class Payload:
    pass


class Cache:
    entries = {}


@pytest.fixture
def cached_exception():
    import leaky_imaging
    leaky_imaging.serve_bad_images(1000)
    yield leaky_imaging
    leaky_imaging.reset()


def test_the_cached_exception_is_named_instantly(cached_exception):
    req = cached_exception.SEEN[0]()            # the oldest request, deepest in the chain
    assert objgraph.find_backref_chain(req, objgraph.is_proper_module) == [req]
    answer = pymemtrack.why_alive(req)
    assert str(answer) == ("leaky_imaging.IMAGE_FORMAT_EXCEPTION .__traceback__ .tb_next x1998"
                           " .tb_frame .f_locals['req'] -> ImageRequest")
    path = answer.paths[0]
    assert path.kind == "module" and path.root == "leaky_imaging"
    assert [s for s, _, _ in path.steps()] == [".IMAGE_FORMAT_EXCEPTION", ".__traceback__",
                                               ".tb_next", ".tb_frame", ".f_locals['req']"]
    assert [n for _, n, _ in path.steps()] == [1, 1, 1998, 1, 1]
    assert path.links[-1] == Link(".f_locals['req']", "ImageRequest", id(req), None)
    assert path.links[1].address == id(cached_exception.IMAGE_FORMAT_EXCEPTION)
    newest = cached_exception.SEEN[-1]()
    assert pymemtrack.why_alive(newest).paths[0].text.endswith(
        ".__traceback__ .tb_frame .f_locals['req'] -> ImageRequest")


def test_allocation_sites_when_tracemalloc_traces(cached_exception):
    tracemalloc.start()
    try:
        cached_exception.serve_bad_images(3)
        req = cached_exception.SEEN[-1]()
        answer = pymemtrack.why_alive(req)
    finally:
        tracemalloc.stop()
    lines = str(answer).splitlines()
    assert lines[0].endswith("-> ImageRequest")
    request_line = [ln for ln in lines if ln.strip().startswith(".f_locals['req']")][0]
    created_at = cached_exception.handle.__code__.co_firstlineno + 1   # req = ImageRequest(...)
    assert "ImageRequest" in request_line
    assert request_line.endswith("allocated at leaky_imaging.py:%d" % created_at)
    assert answer.paths[0].links[-1].allocated == "leaky_imaging.py:%d" % created_at
    assert "allocation not traced" in lines[1]         # the module predates tracing


def test_class_attribute_root():
    obj = Payload()
    Cache.entries["k"] = obj
    try:
        answer = pymemtrack.why_alive(obj)
        assert str(answer) == f"{__name__}.Cache.entries ['k'] -> Payload"
        assert answer.paths[0].kind == "class"
    finally:
        Cache.entries.clear()


def test_module_global_and_several_paths():
    mod = types.ModuleType("whymod")
    sys.modules["whymod"] = mod
    try:
        obj = Payload()
        mod.direct = obj
        Cache.entries["nested"] = [obj]
        answer = pymemtrack.why_alive(obj, limit=2)     # one path per root
        assert [p.text for p in answer.paths] == [
            "whymod.direct -> Payload", f"{__name__}.Cache.entries ['nested'] [0] -> Payload"]
        assert isinstance(answer.paths[0], RetentionPath) and isinstance(answer, WhyAlive)
        assert len(pymemtrack.why_alive(obj).paths) == 1
        # extra_ignore takes the short way out
        only = pymemtrack.why_alive(obj, extra_ignore=[id(vars(mod))])
        assert only.paths[0].kind == "class"
    finally:
        del sys.modules["whymod"]
        Cache.entries.clear()


def test_a_thread_frame_is_a_root():
    ready, done = threading.Event(), threading.Event()
    box = {}

    def worker():
        mine = Payload()
        box["id"] = id(mine)
        ready.set()
        done.wait(30)

    t = threading.Thread(target=worker, name="worker-7")
    t.start()
    ready.wait(30)
    try:
        obj = pymemtrack.at(box["id"])
        text = str(pymemtrack.why_alive(obj))
        assert text.startswith("worker() at test_why.py:")
        assert text.endswith("[thread worker-7] .f_locals['mine'] -> Payload")
        del obj
    finally:
        done.set()
        t.join()


def test_nothing_gc_visible_holds_it_points_at_c():
    def leak():
        obj = Payload()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))     # a missing Py_DECREF
        return id(obj)

    address = leak()
    obj = pymemtrack.at(address)
    answer = pymemtrack.why_alive(obj)
    assert not answer.paths
    assert "Nothing the garbage collector can see holds this Payload" in str(answer)
    assert "about 1 reference(s)" in str(answer) and "Py_DECREF" in str(answer)
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(obj))


def test_only_the_caller_or_nothing_holds_it():
    mine = Payload()
    text = str(pymemtrack.why_alive(mine))
    assert "Only the calling code holds this Payload" in text
    text = str(pymemtrack.why_alive(Payload()))   # (not inside assert: pytest would keep it)
    assert "Nothing holds this Payload but the reference you passed in" in text


def test_roots_themselves():
    assert pymemtrack.why_alive(types).paths[0].text.startswith("types -> module (it is a root")
    assert pymemtrack.why_alive(Cache).paths[0].kind == "class"


def test_the_answer_keeps_nothing_alive():
    obj = Payload()
    holder = [obj]
    ref = weakref.ref(obj)
    answer = pymemtrack.why_alive(obj)
    assert answer.paths and answer.paths[0].links[-1].address == id(obj)
    del obj, holder
    assert ref() is None                  # not the answer, not a frame snapshot
    assert "Payload" in repr(answer)


def test_growth_culprits_from_a_mark_and_from_a_snapshot():
    mod = types.ModuleType("growmod")
    sys.modules["growmod"] = mod
    try:
        mark = pymemtrack.mark_objects()
        snap = pymemtrack.snapshot()
        mod.QUEUE = [Payload() for _ in range(300)]
        culprits = pymemtrack.growth_culprits(mark, limit=3)
        top = [c for c in culprits if c.type_name == "Payload"][0]
        assert top.delta == 300 and top.count >= 300
        assert top.why.paths[0].text.startswith("growmod.QUEUE [")
        from_snapshot = pymemtrack.growth_culprits(snap, limit=3)
        top = [c for c in from_snapshot if c.type_name.endswith("Payload")][0]
        assert top.delta == 300
        assert top.why.paths[0].text.startswith("growmod.QUEUE [")
        out = io.StringIO()
        pymemtrack.show_growth_culprits(mark, limit=2, file=out)
        lines = out.getvalue().splitlines()
        assert lines[0].split()[:2] == ["Payload", "+300"]
        assert lines[1].startswith("    growmod.QUEUE [") and lines[1].endswith("] -> Payload")
    finally:
        del sys.modules["growmod"]


def test_no_growth():
    mark = pymemtrack.mark_objects()
    out = io.StringIO()
    pymemtrack.show_growth_culprits(mark, file=out)
    assert out.getvalue() in ("No type grew.\n",) or "+" in out.getvalue()


@pytest.mark.parametrize("call, exc, words", [
    (lambda: pymemtrack.why_alive([], limit=0), ValueError, "limit"),
    (lambda: pymemtrack.why_alive([], limit="2"), TypeError, "limit"),
    (lambda: pymemtrack.why_alive([], extra_ignore=3), TypeError, "extra_ignore"),
    (lambda: pymemtrack.why_alive([], extra_ignore=[None]), TypeError, "ids"),
    (lambda: pymemtrack.growth_culprits(5), TypeError, "since"),
    (lambda: pymemtrack.growth_culprits(pymemtrack.snapshot(), limit=0), ValueError, "limit"),
    (lambda: pymemtrack.show_growth_culprits(None), TypeError, "since"),
])
def test_bad_arguments(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
    assert gc.isenabled()
