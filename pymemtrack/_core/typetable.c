/* Per-type counters: a uthash table keyed by PyTypeObject*, with a small
   direct-mapped cache because consecutive objects often share a type. */
#include "typetable.h"
#include "walk.h"

int pmt_hash_oom = 0;

void
pmt_types_init(pmt_typetable *t)
{
    memset(t, 0, sizeof(*t));
}

void
pmt_types_clear(pmt_typetable *t)
{
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        HASH_DEL(t->head, e);
        PyTypeObject *tp = e->type;
        pmt_raw_free(e);
        Py_DECREF(tp);
    }
    pmt_types_init(t);
}

pmt_typestat *
pmt_types_find_slow(pmt_typetable *t, PyTypeObject *tp)
{
    pmt_typestat *e;
    HASH_FIND_PTR(t->head, &tp, e);
    if (e != NULL) {
        t->cache[pmt_types_cache_slot(tp)] = e;
    }
    return e;
}

pmt_typestat *
pmt_types_get_slow(pmt_typetable *t, PyTypeObject *tp)
{
    pmt_typestat *e = pmt_types_find_slow(t, tp);
    if (e != NULL) {
        return e;
    }
    e = pmt_raw_calloc(1, sizeof(*e));
    if (e == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    e->type = tp;
    pmt_hash_oom = 0;
    HASH_ADD_PTR(t->head, type, e);
    if (pmt_hash_oom) {
        pmt_raw_free(e);
        PyErr_NoMemory();
        return NULL;
    }
    Py_INCREF(tp);
    t->ntypes++;
    t->cache[pmt_types_cache_slot(tp)] = e;
    return e;
}

static inline int
count_object(pmt_typetable *t, PyObject *op)
{
    pmt_typestat *e = pmt_types_get(t, Py_TYPE(op));
    if (e == NULL) {
        return -1;
    }
    e->count++;
    t->total_count++;
    return 0;
}

static int
count_visit(PyObject *op, void *arg)
{
    return count_object((pmt_typetable *)arg, op);
}

int
pmt_types_from_heap(pmt_typetable *t)
{
    return pmt_walk_heap_unordered(count_visit, t);
}

int
pmt_types_from_iterable(pmt_typetable *t, PyObject *iterable, PyObject *filter)
{
    if (filter == Py_None) {
        filter = NULL;
    }
    PyObject *it = PyObject_GetIter(iterable);
    if (it == NULL) {
        return -1;
    }
    int ret = -1;
    PyObject *op;
    while ((op = PyIter_Next(it)) != NULL) {
        if (filter != NULL) {
            PyObject *keep = PyObject_CallOneArg(filter, op);
            int truth = keep == NULL ? -1 : PyObject_IsTrue(keep);
            Py_XDECREF(keep);
            if (truth < 0) {
                Py_DECREF(op);
                goto done;
            }
            if (truth == 0) {
                Py_DECREF(op);
                continue;
            }
        }
        int r = count_object(t, op);
        Py_DECREF(op);
        if (r < 0) {
            goto done;
        }
    }
    if (!PyErr_Occurred()) {
        ret = 0;
    }
done:
    Py_DECREF(it);
    return ret;
}
