/* Deep walk: the GC's own walk for tracked objects; from each, tp_traverse
   with a C visitproc reaches what the GC does not track. Those are recorded
   in a pointer set (each visited once) and, when they are untracked GC
   containers, pushed on an explicit stack to be traversed in turn: no
   recursion, so a million-long chain of untracked tuples is fine.

   Only objects for which PyObject_IS_GC() is true are traversed: non-GC
   objects have no tp_traverse, and a static type's tp_traverse (type's own)
   aborts the interpreter when called on it. The visitor and every step here
   allocate raw memory only and run no Python code, as the 3.12+ GC visitor
   requires.

   The walk is bound by memory latency: each referent must be read to learn
   whether the GC tracks it. Referents therefore go through a short queue:
   prefetched when tp_traverse reports them, examined PIPE_SIZE referents
   later, when their memory has arrived. The queue carries over from one
   object to the next and is drained at the end; nothing runs in between
   that could free the objects waiting in it. */
#include "deepwalk.h"

typedef struct {
    const pmt_walk_opts *opts;
    pmt_visit_fn visit;
    void *arg;
    pmt_ptrset skip;            /* ignore tuple, its items, running frames */
    pmt_pagemap seen;           /* untracked objects already visited */
    PyObject **stack;           /* untracked GC objects still to traverse */
    size_t depth, cap;
    PyObject *pipe[16];         /* referents prefetched, not yet examined */
    unsigned pipe_head, npipe;
    int status;                 /* 0 go on, 1 stop, -1 error set */
} walk_ctx;

#define PIPE_SIZE 16u

static int
push(walk_ctx *w, PyObject *op)
{
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        if (cap > PY_SSIZE_T_MAX / sizeof(PyObject *)) {
            PyErr_NoMemory();
            return -1;
        }
        PyObject **stack = pmt_raw_realloc(w->stack, cap * sizeof(PyObject *));
        if (stack == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->stack = stack;
        w->cap = cap;
    }
    w->stack[w->depth++] = op;
    return 0;
}

/* The visitor, unless options exclude op. */
static inline int
report(walk_ctx *w, PyObject *op)
{
    const pmt_walk_opts *o = w->opts;
    /* The skipped types are heap types (pmt_own_types): most objects are
       instances of static types and need no look at the list. */
    if (o->skip_types != NULL && (Py_TYPE(op)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        for (PyObject *const *t = o->skip_types; *t != NULL; t++) {
            if ((PyObject *)Py_TYPE(op) == *t) {
                return 0;
            }
        }
    }
    return w->visit(op, w->arg);
}

/* Whether op is ignored: an object of the ignore tuple (or the tuple), a
   running frame, or a bound method of an ignored object (pytest's rewritten
   asserts and `f = tracker.diff; f()` make those for the call). */
static inline int
skipped(walk_ctx *w, PyObject *op)
{
    if (w->skip.used == 0) {
        return 0;
    }
    if (pmt_ptrset_has(&w->skip, pmt_ptrkey(op))) {
        return 1;
    }
    return Py_IS_TYPE(op, &PyMethod_Type)
           && pmt_ptrset_has(&w->skip, pmt_ptrkey(PyMethod_GET_SELF(op)));
}

/* Examines one referent: visits it when the GC does not track it and it
   was not seen yet, and queues it for traversal when it is a GC container.
   0, or -1 with w->status saying why. */
static int
examine(walk_ctx *w, PyObject *child)
{
    if (pmt_gc_is_tracked(child)) {
        return 0;               /* the GC walk visits it (or gc.freeze() hid it) */
    }
    if (skipped(w, child)) {
        return 0;
    }
    int r = pmt_pagemap_add(&w->seen, child);
    if (r == 0) {
        return 0;
    }
    if (r < 0) {
        w->status = -1;
        return -1;
    }
    r = report(w, child);
    if (r != 0) {
        w->status = r < 0 ? -1 : 1;
        return -1;
    }
    if (pmt_is_gc(child) && Py_TYPE(child)->tp_traverse != NULL
        && push(w, child) < 0) {
        w->status = -1;
        return -1;
    }
    return 0;
}

/* visitproc for tp_traverse: queues child (prefetching it) and examines the
   oldest queued referent once the queue is full. A nonzero return stops
   that traversal, and w->status says why. */
static int
child_visit(PyObject *child, void *arg)
{
    walk_ctx *w = (walk_ctx *)arg;
    if (child == NULL) {
        return 0;
    }
    PMT_PREFETCH(child);
    if (w->npipe < PIPE_SIZE) {
        w->pipe[(w->pipe_head + w->npipe++) & (PIPE_SIZE - 1)] = child;
        return 0;
    }
    PyObject *oldest = w->pipe[w->pipe_head];
    w->pipe[w->pipe_head] = child;
    w->pipe_head = (w->pipe_head + 1) & (PIPE_SIZE - 1);
    return examine(w, oldest);
}

/* Traverses op (a GC object), then the containers pushed meanwhile; with
   flush, also everything still queued, until nothing is left. */
static int
traverse_from(walk_ctx *w, PyObject *op, int flush)
{
    if (op != NULL) {
        Py_TYPE(op)->tp_traverse(op, child_visit, w);
    }
    while (w->status == 0) {
        if (w->depth > 0) {
            PyObject *next = w->stack[--w->depth];
            Py_TYPE(next)->tp_traverse(next, child_visit, w);
        }
        else if (flush && w->npipe > 0) {
            PyObject *oldest = w->pipe[w->pipe_head];
            w->pipe_head = (w->pipe_head + 1) & (PIPE_SIZE - 1);
            w->npipe--;
            examine(w, oldest);
        }
        else {
            break;
        }
    }
    return w->status;
}

static int
top_visit(PyObject *op, void *arg)
{
    walk_ctx *w = (walk_ctx *)arg;
    if (skipped(w, op)) {
        return 0;
    }
    int r = report(w, op);
    if (r != 0) {
        return r;
    }
    if (w->opts->deep && Py_TYPE(op)->tp_traverse != NULL) {
        return traverse_from(w, op, 0);
    }
    return 0;
}

static int
add_skip(walk_ctx *w, PyObject *op)
{
    return pmt_ptrset_add(&w->skip, pmt_ptrkey(op)) < 0 ? -1 : 0;
}

static int
fill_skips(walk_ctx *w)
{
    PyObject *ignore = w->opts->ignore;
    if (ignore != NULL) {
        if (!PyTuple_Check(ignore)) {
            PyErr_Format(PyExc_TypeError, "ignore must be a tuple, not %.100s",
                         Py_TYPE(ignore)->tp_name);
            return -1;
        }
        if (add_skip(w, ignore) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ignore); i++) {
            if (add_skip(w, PyTuple_GET_ITEM(ignore, i)) < 0) {
                return -1;
            }
        }
    }
#if PMT_RUNNING_FRAMES_ARE_OBJECTS
    if (w->opts->skip_stack) {
        /* 3.10: PyEval_GetFrame() returns the existing frame object (no
           allocation, unlike 3.11+ where it materializes one). */
        for (PyFrameObject *f = PyEval_GetFrame(); f != NULL; f = f->f_back) {
            if (add_skip(w, (PyObject *)f) < 0) {
                return -1;
            }
        }
    }
#endif
    return 0;
}

int
pmt_walk_objects(const pmt_walk_opts *opts, pmt_visit_fn visit, void *arg)
{
    walk_ctx w = {.opts = opts, .visit = visit, .arg = arg};
    pmt_ptrset_init(&w.skip);
    pmt_pagemap_init(&w.seen, 0);
    int r = fill_skips(&w);
    if (r == 0) {
        r = pmt_walk_heap_unordered(top_visit, &w);
    }
    if (r == 0 && w.status == 0) {
        /* The queue's last referents: still alive, no code has run. */
        r = traverse_from(&w, NULL, 1) < 0 ? -1 : 0;
    }
    pmt_ptrset_clear(&w.skip);
    pmt_pagemap_clear(&w.seen);
    pmt_raw_free(w.stack);
    return r < 0 ? -1 : 0;
}

static const char *const own_type_names[] = {
    "Snapshot", "Partition", "HeapReference", "IdMap", NULL,
};

int
pmt_own_types(PyObject *module, PyObject **out, int max)
{
    int n = 0;
    out[0] = NULL;
    for (const char *const *name = own_type_names; *name != NULL && n < max - 1; name++) {
        PyObject *tp = PyObject_GetAttrString(module, *name);
        if (tp == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
                pmt_own_types_clear(out);
                return -1;
            }
            PyErr_Clear();
            continue;
        }
        /* Only types this module made: a replaced attribute is ignored. */
        if (!PyType_Check(tp) || !(((PyTypeObject *)tp)->tp_flags & Py_TPFLAGS_HEAPTYPE)
            || PyType_GetModule((PyTypeObject *)tp) != module) {
            PyErr_Clear();
            Py_DECREF(tp);
            continue;
        }
        out[n++] = tp;
        out[n] = NULL;
    }
    return 0;
}

void
pmt_own_types_clear(PyObject **types)
{
    for (PyObject **t = types; *t != NULL; t++) {
        Py_CLEAR(*t);
    }
}
