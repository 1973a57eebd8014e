/* Heap walk over every GC-tracked object, in gc.get_objects() order.

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

#else

int
pmt_walk_heap(pmt_visit_fn visit, void *arg)
{
    struct _gc_runtime_state *gcstate = &PyInterpreterState_Get()->gc;
    int was_enabled = PyGC_Disable();
    int status = 0;
    for (int i = 0; i < NUM_GENERATIONS && status == 0; i++) {
        PyGC_Head *head = &gcstate->generations[i].head;
        /* _gc_next is a plain pointer outside a collection, and none can
           start here: the visitor allocates no Python object. */
        for (PyGC_Head *g = (PyGC_Head *)head->_gc_next; g != head;
             g = (PyGC_Head *)g->_gc_next) {
            PyObject *op = (PyObject *)(g + 1);
            Py_INCREF(op);
            int r = visit(op, arg);
            Py_DECREF(op);
            if (r != 0) {
                status = r < 0 ? -1 : 0;
                break;
            }
        }
    }
    if (was_enabled) {
        PyGC_Enable();
    }
    if (status < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_SystemError, "heap walk failed without an error");
    }
    return status;
}

#endif
