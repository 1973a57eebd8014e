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

typedef struct {
    pmt_visit_end_fn visit;
    void *arg;
} front_ctx;

static int
visit_front(PyObject *op, void *arg)
{
    front_ctx *ctx = (front_ctx *)arg;
    return ctx->visit(op, 0, ctx->arg);
}

int
pmt_walk_heap_ends(pmt_visit_end_fn visit, void *arg)
{
    front_ctx ctx = {.visit = visit, .arg = arg};
    return pmt_walk_heap(visit_front, &ctx);
}

Py_ssize_t
pmt_gc_broken_links(void)
{
    return -1;
}

#else

/* visit(op) or visit_end(op, from_back), whichever is given, with op held,
   as PyUnstable_GC_VisitObjects does. */
static inline int
visit_held(PyGC_Head *g, pmt_visit_fn visit, pmt_visit_end_fn visit_end, int from_back,
           void *arg)
{
    PyObject *op = (PyObject *)(g + 1);
    Py_INCREF(op);
    int r = visit != NULL ? visit(op, arg) : visit_end(op, from_back, arg);
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
        int r = visit_held(g, visit, NULL, 0, arg);
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
   every miss in turn. Both links are read (and their nodes prefetched)
   before the visits, so a visitor may overwrite _gc_prev (see
   pmt_visit_end_fn). Exactly one of visit and visit_end is given; inlined
   into each caller with the other NULL, the test folds away. */
static inline PMT_ALWAYS_INLINE int
walk_list_both_ends(PyGC_Head *head, pmt_visit_fn visit, pmt_visit_end_fn visit_end, void *arg)
{
    PyGC_Head *f = _PyGCHead_NEXT(head), *b = _PyGCHead_PREV(head);
    if (f == head) {
        return 0;
    }
    /* Invariant: f..b (in list order, f before or at b) is not visited yet. */
    for (;;) {
        PyGC_Head *next = _PyGCHead_NEXT(f), *prev = _PyGCHead_PREV(b);
        PMT_PREFETCH(next);
        PMT_PREFETCH(prev);
        int r = visit_held(f, visit, visit_end, 0, arg);
        if (r != 0 || f == b) {
            return r;
        }
        r = visit_held(b, visit, visit_end, 1, arg);
        if (r != 0 || next == b) {
            return r;
        }
        f = next;
        b = prev;
    }
}

/* The generation lists in turn: in order, or from both ends (with visit,
   or with visit_end saying which end). */
enum walk_kind { IN_ORDER, BOTH_ENDS, BOTH_ENDS_SAID };

static int
walk_lists(pmt_visit_fn visit, pmt_visit_end_fn visit_end, void *arg, enum walk_kind kind)
{
    struct _gc_runtime_state *gcstate = &PyInterpreterState_Get()->gc;
    int was_enabled = PyGC_Disable();
    int r = 0;
    for (int i = 0; i < NUM_GENERATIONS && r == 0; i++) {
        PyGC_Head *head = &gcstate->generations[i].head;
        switch (kind) {
        case IN_ORDER:
            r = walk_list(head, visit, arg);
            break;
        case BOTH_ENDS:
            r = walk_list_both_ends(head, visit, NULL, arg);
            break;
        case BOTH_ENDS_SAID:
            r = walk_list_both_ends(head, NULL, visit_end, arg);
            break;
        }
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
    return walk_lists(visit, NULL, arg, IN_ORDER);
}

int
pmt_walk_heap_unordered(pmt_visit_fn visit, void *arg)
{
    return walk_lists(visit, NULL, arg, BOTH_ENDS);
}

int
pmt_walk_heap_ends(pmt_visit_end_fn visit, void *arg)
{
    return walk_lists(NULL, visit, arg, BOTH_ENDS_SAID);
}

Py_ssize_t
pmt_gc_broken_links(void)
{
    struct _gc_runtime_state *gcstate = &PyInterpreterState_Get()->gc;
    Py_ssize_t broken = 0;
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        PyGC_Head *head = &gcstate->generations[i].head;
        PyGC_Head *g = head;
        do {
            PyGC_Head *next = _PyGCHead_NEXT(g);
            /* the whole word: a mark (bit 63) left behind counts as broken */
            if ((next->_gc_prev & ~(uintptr_t)(_PyGC_PREV_MASK_FINALIZED
                                              | _PyGC_PREV_MASK_COLLECTING)) != (uintptr_t)g) {
                broken++;
            }
            g = next;
        } while (g != head);
    }
    return broken;
}

#endif
