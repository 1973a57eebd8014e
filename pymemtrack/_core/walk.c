/* Heap walk over every GC-tracked object, in gc.get_objects() order or,
   where the order does not matter, from both ends of each list at once.

   3.10-3.13 (GIL builds): the loop PyUnstable_GC_VisitObjects runs on 3.12,
   over the collector's generation lists, read through the internal headers
   CPython installs. 3.10/3.11 have no public visitor (it came with
   gh-102013), and on 3.12/3.13 the public one costs two indirect calls per
   object (about a fifth of a counting walk). One pass over memory, where
   len(gc.get_objects()) makes three (build the list, read it, free it).
   3.14+ (incremental GC in 3.14.0-3.14.4) and free-threaded builds use the
   public PyUnstable_GC_VisitObjects.

   Either way collection is disabled for the walk and each object is held
   (+1) during its callback. */
#include "pyconfig.h"
#include "patchlevel.h"
#if PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
#  define PMT_DIRECT_WALK 1
#  define Py_BUILD_CORE 1       /* only this file: for struct _gc_runtime_state */
#else
#  define PMT_DIRECT_WALK 0
#endif
#include "walk.h"
#if PMT_DIRECT_WALK
#  include "internal/pycore_interp.h"
#endif

static PyObject *
gc_call(const char *method)
{
    PyObject *gc = PyImport_ImportModule("gc");
    if (gc == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_CallMethod(gc, method, NULL);
    Py_DECREF(gc);
    return res;
}

PyObject *
pmt_gc_objects(void)
{
    PyObject *objects = gc_call("get_objects");
    if (objects != NULL && !PyList_CheckExact(objects)) {
        PyErr_SetString(PyExc_TypeError, "gc.get_objects() did not return a list");
        Py_CLEAR(objects);
    }
    return objects;
}

Py_ssize_t
pmt_gc_freeze_count(void)
{
    PyObject *n = gc_call("get_freeze_count");
    if (n == NULL) {
        return -1;
    }
    Py_ssize_t count = PyLong_AsSsize_t(n);
    Py_DECREF(n);
    return count;
}

#if !PMT_DIRECT_WALK

typedef struct {
    pmt_visit_fn visit;
    void *arg;
    int status;
} visit_ctx;

static int
visit_adapter(PyObject *op, void *arg)
{
    visit_ctx *ctx = (visit_ctx *)arg;
    int r = ctx->visit(op, ctx->arg);
    if (r == 0) {
        return 1;                /* go on */
    }
    ctx->status = r < 0 ? -1 : 0;
    return 0;                    /* stop */
}

int
pmt_walk_heap(pmt_visit_fn visit, void *arg)
{
    visit_ctx ctx = {.visit = visit, .arg = arg, .status = 0};
    PyUnstable_GC_VisitObjects(visit_adapter, &ctx);
    if (ctx.status < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_SystemError, "heap walk failed without an error");
    }
    return ctx.status;
}

int
pmt_walk_heap_unordered(pmt_visit_fn visit, void *arg)
{
    return pmt_walk_heap(visit, arg);
}

#else

/* visit(op) with op held, as PyUnstable_GC_VisitObjects does. */
static inline int
visit_held(PyGC_Head *g, pmt_visit_fn visit, void *arg)
{
    PyObject *op = (PyObject *)(g + 1);
    Py_INCREF(op);
    int r = visit(op, arg);
    Py_DECREF(op);
    return r;
}

/* One generation list in order. */
static int
walk_list(PyGC_Head *head, pmt_visit_fn visit, void *arg)
{
    /* _gc_next is a plain pointer outside a collection, and none can
       start here: the visitor allocates no Python object. */
    for (PyGC_Head *g = _PyGCHead_NEXT(head); g != head; g = _PyGCHead_NEXT(g)) {
        int r = visit_held(g, visit, arg);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

/* One generation list from both ends at once, meeting in the middle: two
   independent pointer chains (forward through _gc_next, backward through
   _gc_prev, whose low two bits are flags), so that the cache miss of each
   next node overlaps with the other chain's, where one chain waits for
   every miss in turn. Each chain's next node is prefetched while the
   visitor runs. */
static int
walk_list_both_ends(PyGC_Head *head, pmt_visit_fn visit, void *arg)
{
    PyGC_Head *f = _PyGCHead_NEXT(head), *b = _PyGCHead_PREV(head);
    if (f == head) {
        return 0;
    }
    /* Invariant: f..b (in list order, f before or at b) is not visited yet. */
    for (;;) {
        PMT_PREFETCH(_PyGCHead_NEXT(f));
        PMT_PREFETCH(_PyGCHead_PREV(b));
        int r = visit_held(f, visit, arg);
        if (r != 0 || f == b) {
            return r;
        }
        r = visit_held(b, visit, arg);
        PyGC_Head *next = _PyGCHead_NEXT(f);
        if (r != 0 || next == b) {
            return r;
        }
        f = next;
        b = _PyGCHead_PREV(b);
    }
}

static int
walk_lists(pmt_visit_fn visit, void *arg, int unordered)
{
    struct _gc_runtime_state *gcstate = &PyInterpreterState_Get()->gc;
    int was_enabled = PyGC_Disable();
    int r = 0;
    for (int i = 0; i < NUM_GENERATIONS && r == 0; i++) {
        PyGC_Head *head = &gcstate->generations[i].head;
        r = unordered ? walk_list_both_ends(head, visit, arg) : walk_list(head, visit, arg);
    }
    if (was_enabled) {
        PyGC_Enable();
    }
    int status = r < 0 ? -1 : 0;
    if (status < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_SystemError, "heap walk failed without an error");
    }
    return status;
}

int
pmt_walk_heap(pmt_visit_fn visit, void *arg)
{
    return walk_lists(visit, arg, 0);
}

int
pmt_walk_heap_unordered(pmt_visit_fn visit, void *arg)
{
    return walk_lists(visit, arg, 1);
}

#endif
