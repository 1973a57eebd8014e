/* objgraph-compatible queries. Each fills a type table with one native walk
   (or over the caller's objects), then works per type, not per object. */
#include "query.h"
#include "args.h"
#include "names.h"
#include "refindex.h"
#include "typetable.h"
#include "walk.h"

/* ---- helpers ---------------------------------------------------------- */

static int
check_objects(PyObject *objects)
{
    if (objects != Py_None && !PyIter_Check(objects)) {
        PyObject *it = PyObject_GetIter(objects);
        if (it == NULL) {
            PyErr_Format(PyExc_TypeError,
                         "objects must be an iterable of objects or None, not %.100s",
                         Py_TYPE(objects)->tp_name);
            return -1;
        }
        Py_DECREF(it);
    }
    return 0;
}

/* Fills t from the heap, or from objects (filtered) when given. With a
   filter and no objects, walks gc.get_objects() since filter runs Python. */
static int
fill_table(pmt_typetable *t, PyObject *objects, PyObject *filter)
{
    if (filter != NULL && filter != Py_None) {
        int truth = PyObject_IsTrue(filter);
        if (truth < 0) {
            return -1;
        }
        if (!truth) {
            filter = NULL;          /* objgraph: "if filter and not filter(o)" */
        }
        else if (!PyCallable_Check(filter)) {
            PyErr_Format(PyExc_TypeError, "filter must be a callable or None, not %.100s",
                         Py_TYPE(filter)->tp_name);
            return -1;
        }
    }
    else {
        filter = NULL;
    }
    if (objects == NULL || objects == Py_None) {
        if (filter == NULL) {
            return pmt_types_from_heap(t);
        }
        PyObject *all = pmt_gc_objects();
        if (all == NULL) {
            return -1;
        }
        int r = pmt_types_from_iterable(t, all, filter);
        Py_DECREF(all);
        return r;
    }
    if (check_objects(objects) < 0) {
        return -1;
    }
    return pmt_types_from_iterable(t, objects, filter);
}

/* Sets e->flag to 1 when the type's objgraph name equals typename (the long
   name when typename contains a dot, as objgraph does), else 2. */
static int
mark_matching(pmt_typetable *t, PyObject *typename)
{
    int qualified = PyUnicode_FindChar(typename, '.', 0, PyUnicode_GET_LENGTH(typename), 1) >= 0;
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        PyObject *name = pmt_type_display(e->type, !qualified);
        if (name == NULL) {
            return -1;
        }
        int eq = PyUnicode_Compare(name, typename) == 0;
        Py_DECREF(name);
        if (PyErr_Occurred()) {
            return -1;
        }
        e->flag = eq ? 1 : 2;
    }
    return 0;
}

static int
check_typename(PyObject *typename)
{
    if (!PyUnicode_Check(typename)) {
        PyErr_Format(PyExc_TypeError, "typename must be a str, not %.100s",
                     Py_TYPE(typename)->tp_name);
        return -1;
    }
    return 0;
}

/* A growable array of strong references, built inside walks (raw memory). */
typedef struct {
    PyObject **items;
    Py_ssize_t len, cap;
} objvec;

static int
objvec_push(objvec *v, PyObject *op)
{
    if (v->len == v->cap) {
        Py_ssize_t cap = v->cap ? v->cap * 2 : 64;
        if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(PyObject *)) {
            PyErr_NoMemory();
            return -1;
        }
        PyObject **items = pmt_raw_realloc(v->items, (size_t)cap * sizeof(PyObject *));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = Py_NewRef(op);
    return 0;
}

/* Moves the references into a new list; the vector is emptied either way. */
static PyObject *
objvec_to_list(objvec *v)
{
    PyObject *list = PyList_New(v->len);
    if (list == NULL) {
        for (Py_ssize_t i = 0; i < v->len; i++) {
            Py_DECREF(v->items[i]);
        }
    }
    else {
        for (Py_ssize_t i = 0; i < v->len; i++) {
            PyList_SET_ITEM(list, i, v->items[i]);
        }
    }
    pmt_raw_free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
    return list;
}

/* ---- typestats / count ------------------------------------------------- */

static PyObject *
table_to_dict(pmt_typetable *t, int shortnames)
{
    PyObject *stats = PyDict_New();
    if (stats == NULL) {
        return NULL;
    }
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        if (e->count == 0) {
            continue;
        }
        PyObject *name = pmt_type_display(e->type, shortnames);
        if (name == NULL) {
            goto error;
        }
        PyObject *old = PyDict_GetItemWithError(stats, name);
        Py_ssize_t n = e->count;
        if (old != NULL) {
            n += PyLong_AsSsize_t(old);
        }
        PyObject *value = PyErr_Occurred() ? NULL : PyLong_FromSsize_t(n);
        int r = value == NULL ? -1 : PyDict_SetItem(stats, name, value);
        Py_DECREF(name);
        Py_XDECREF(value);
        if (r < 0) {
            goto error;
        }
    }
    return stats;
error:
    Py_DECREF(stats);
    return NULL;
}

static PyObject *
pmt_typestats(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const names[] = {"objects", "shortnames", "filter", NULL};
    PyObject *argv[3] = {Py_None, Py_True, Py_None};
    if (pmt_parse_args("typestats", args, nargs, kwnames, names, 0, argv) < 0) {
        return NULL;
    }
    PyObject *objects = argv[0], *filter = argv[2];
    int shortnames = PyObject_IsTrue(argv[1]);
    if (shortnames < 0) {
        return NULL;
    }
    pmt_typetable t;
    pmt_types_init(&t);
    PyObject *res = NULL;
    if (fill_table(&t, objects, filter) == 0) {
        res = table_to_dict(&t, shortnames);
    }
    pmt_types_clear(&t);
    return res;
}

static PyObject *
pmt_count(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    static const char *const names[] = {"typename", "objects", NULL};
    PyObject *argv[2] = {NULL, Py_None};
    if (pmt_parse_args("count", args, nargs, kwnames, names, 1, argv) < 0
        || check_typename(argv[0]) < 0) {
        return NULL;
    }
    PyObject *typename = argv[0], *objects = argv[1];
    pmt_typetable t;
    pmt_types_init(&t);
    PyObject *res = NULL;
    if (fill_table(&t, objects, NULL) == 0 && mark_matching(&t, typename) == 0) {
        Py_ssize_t n = 0;
        pmt_typestat *e, *tmp;
        HASH_ITER(hh, t.head, e, tmp) {
            if (e->flag == 1) {
                n += e->count;
            }
        }
        res = PyLong_FromSsize_t(n);
    }
    pmt_types_clear(&t);
    return res;
}

/* ---- by_type ------------------------------------------------------------ */

typedef struct {
    pmt_typetable *table;
    objvec found;
} bytype_ctx;

static int
bytype_visit(PyObject *op, void *arg)
{
    bytype_ctx *ctx = (bytype_ctx *)arg;
    pmt_typestat *e = pmt_types_find(ctx->table, Py_TYPE(op));
    if (e != NULL && e->flag == 1) {
        return objvec_push(&ctx->found, op);
    }
    return 0;
}

/* by_type over the caller's objects: names are resolved per new type. */
static int
bytype_iterable(pmt_typetable *t, PyObject *objects, PyObject *typename, objvec *found)
{
    int qualified = PyUnicode_FindChar(typename, '.', 0, PyUnicode_GET_LENGTH(typename), 1) >= 0;
    PyObject *it = PyObject_GetIter(objects);
    if (it == NULL) {
        return -1;
    }
    PyObject *op;
    int ret = 0;
    while (ret == 0 && (op = PyIter_Next(it)) != NULL) {
        pmt_typestat *e = pmt_types_get(t, Py_TYPE(op));
        if (e == NULL) {
            ret = -1;
        }
        else if (e->flag == 0) {
            PyObject *name = pmt_type_display(e->type, !qualified);
            if (name == NULL) {
                ret = -1;
            }
            else {
                e->flag = PyUnicode_Compare(name, typename) == 0 ? 1 : 2;
                Py_DECREF(name);
            }
        }
        if (ret == 0 && e->flag == 1) {
            ret = objvec_push(found, op);
        }
        Py_DECREF(op);
    }
    Py_DECREF(it);
    return (ret < 0 || PyErr_Occurred()) ? -1 : 0;
}

static PyObject *
pmt_by_type(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    static const char *const names[] = {"typename", "objects", NULL};
    PyObject *argv[2] = {NULL, Py_None};
    if (pmt_parse_args("by_type", args, nargs, kwnames, names, 1, argv) < 0
        || check_typename(argv[0]) < 0) {
        return NULL;
    }
    PyObject *typename = argv[0], *objects = argv[1];
    pmt_typetable t;
    pmt_types_init(&t);
    bytype_ctx ctx = {.table = &t};
    int r;
    if (objects == Py_None) {
        /* Two walks: count types, name them (Python objects may be made
           here, none collected: str is not a GC type), then collect. */
        r = pmt_types_from_heap(&t);
        if (r == 0) {
            r = mark_matching(&t, typename);
        }
        if (r == 0) {
            r = pmt_walk_heap(bytype_visit, &ctx);
        }
    }
    else {
        r = check_objects(objects);
        if (r == 0) {
            r = bytype_iterable(&t, objects, typename, &ctx.found);
        }
    }
    PyObject *res = objvec_to_list(&ctx.found);
    if (r < 0) {
        Py_CLEAR(res);
    }
    pmt_types_clear(&t);
    return res;
}

/* ---- at / at_addrs ------------------------------------------------------ */

typedef struct {
    uintptr_t *addrs;       /* sorted */
    Py_ssize_t n;
    objvec found;
} addr_ctx;

static int
at_visit(PyObject *op, void *arg)
{
    addr_ctx *ctx = (addr_ctx *)arg;
    if ((uintptr_t)op == ctx->addrs[0]) {
        return objvec_push(&ctx->found, op) < 0 ? -1 : 1;
    }
    return 0;
}

static PyObject *
pmt_at(PyObject *Py_UNUSED(module), PyObject *addr)
{
    if (!PyLong_Check(addr)) {
        PyErr_Format(PyExc_TypeError, "at() argument 'addr' must be an int, not %.100s",
                     Py_TYPE(addr)->tp_name);
        return NULL;
    }
    unsigned long long value = PyLong_AsUnsignedLongLong(addr);
    if (value == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return NULL;
        }
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError,
                        "at() argument 'addr' must be a non-negative address that fits a pointer");
        return NULL;
    }
    if (value > UINTPTR_MAX) {
        Py_RETURN_NONE;
    }
    uintptr_t target = (uintptr_t)value;
    addr_ctx ctx = {.addrs = &target, .n = 1};
    int r = pmt_walk_heap(at_visit, &ctx);
    PyObject *found = ctx.found.len ? ctx.found.items[0] : NULL;
    pmt_raw_free(ctx.found.items);
    if (r < 0) {
        Py_XDECREF(found);
        return NULL;
    }
    return found != NULL ? found : Py_NewRef(Py_None);
}

static int
at_addrs_visit(PyObject *op, void *arg)
{
    addr_ctx *ctx = (addr_ctx *)arg;
    if (pmt_ids_contain(ctx->addrs, ctx->n, op)) {
        return objvec_push(&ctx->found, op);
    }
    return 0;
}

static PyObject *
pmt_at_addrs(PyObject *Py_UNUSED(module), PyObject *address_set)
{
    addr_ctx ctx = {0};
    /* objgraph compares id()s: an item that is not an int matches nothing. */
    int r = pmt_read_ids_ex(address_set, "at_addrs() argument 'address_set'", 1,
                            &ctx.addrs, &ctx.n);
    if (r == 0 && ctx.n > 0) {
        r = pmt_walk_heap(at_addrs_visit, &ctx);
    }
    pmt_raw_free(ctx.addrs);
    PyObject *res = objvec_to_list(&ctx.found);
    if (r < 0) {
        Py_CLEAR(res);
    }
    return res;
}

PyMethodDef pmt_query_methods[] = {
    {"typestats", (PyCFunction)(void (*)(void))pmt_typestats, METH_FASTCALL | METH_KEYWORDS,
     "typestats(objects=None, shortnames=True, filter=None) -> dict of type name to count."},
    {"count", (PyCFunction)(void (*)(void))pmt_count, METH_FASTCALL | METH_KEYWORDS,
     "count(typename, objects=None) -> number of objects with that type name."},
    {"by_type", (PyCFunction)(void (*)(void))pmt_by_type, METH_FASTCALL | METH_KEYWORDS,
     "by_type(typename, objects=None) -> list of the objects with that type name."},
    {"at", pmt_at, METH_O, "at(addr) -> the GC-tracked object at that address, or None."},
    {"at_addrs", pmt_at_addrs, METH_O,
     "at_addrs(address_set) -> list of the GC-tracked objects at those addresses."},
    {NULL, NULL, 0, NULL},
};
