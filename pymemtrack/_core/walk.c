/* Heap walk: PyUnstable_GC_VisitObjects on 3.12+, gc.get_objects() below. */
#include "walk.h"

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

#if PMT_HAVE_GC_VISIT

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
    /* gc.get_objects() holds each object for us; collection cannot run while
       we iterate because the visitor allocates no Python objects. */
    PyObject *objects = pmt_gc_objects();
    if (objects == NULL) {
        return -1;
    }
    int status = 0;
    Py_ssize_t n = PyList_GET_SIZE(objects);
    for (Py_ssize_t i = 0; i < n; i++) {
        int r = visit(PyList_GET_ITEM(objects, i), arg);
        if (r != 0) {
            status = r < 0 ? -1 : 0;
            break;
        }
    }
    Py_DECREF(objects);
    return status;
}

#endif
