/* Snapshot: counts per (module, name) in a sorted array, O(types) memory. */
#include "snapshot.h"

#include <time.h>
#include "names.h"
#include "typetable.h"
#include "walk.h"

typedef struct {
    PyObject *module;       /* str, or NULL when the type has no __module__ */
    PyObject *name;         /* str: type.__name__ */
    Py_ssize_t count;
    Py_ssize_t size;
} pmt_row;

typedef struct {
    PyObject_HEAD
    pmt_row *rows;          /* sorted by (module, name), names unique */
    Py_ssize_t nrows;
    Py_ssize_t total_count;
    Py_ssize_t total_size;
    Py_ssize_t frozen;      /* gc.get_freeze_count(): objects no walk sees */
    double timestamp;       /* seconds since the epoch */
} pmt_snapshot;

static void
free_rows(pmt_row *rows, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_XDECREF(rows[i].module);
        Py_XDECREF(rows[i].name);
    }
    pmt_raw_free(rows);
}

/* Orders rows by module ("" when missing) then name. Both are str, so
   PyUnicode_Compare cannot fail or run Python code. */
static int
cmp_key(PyObject *ma, PyObject *na, PyObject *mb, PyObject *nb)
{
    if (ma != mb) {
        if (ma == NULL) {
            return -1;
        }
        if (mb == NULL) {
            return 1;
        }
        int c = PyUnicode_Compare(ma, mb);
        if (c != 0) {
            return c;
        }
    }
    return na == nb ? 0 : PyUnicode_Compare(na, nb);
}

static int
cmp_rows(const void *a, const void *b)
{
    const pmt_row *x = (const pmt_row *)a, *y = (const pmt_row *)b;
    return cmp_key(x->module, x->name, y->module, y->name);
}

/* Turns the pointer-keyed table into sorted, merged rows. */
static int
rows_from_table(pmt_typetable *t, pmt_row **out, Py_ssize_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (t->ntypes == 0) {
        return 0;
    }
    pmt_row *rows = pmt_raw_calloc((size_t)t->ntypes, sizeof(pmt_row));
    if (rows == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t n = 0;
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        if (pmt_type_names(e->type, &rows[n].module, &rows[n].name) < 0) {
            free_rows(rows, n);
            return -1;
        }
        rows[n].count = e->count;
        rows[n].size = e->size;
        n++;
    }
    qsort(rows, (size_t)n, sizeof(pmt_row), cmp_rows);
    /* Distinct classes with one module and name (made in a loop, say) are one
       row, as objgraph lumps them; their names are dropped once merged. */
    Py_ssize_t w = 0;
    for (Py_ssize_t r = 0; r < n; r++) {
        if (w > 0 && cmp_rows(&rows[w - 1], &rows[r]) == 0) {
            rows[w - 1].count += rows[r].count;
            rows[w - 1].size += rows[r].size;
            Py_XDECREF(rows[r].module);
            Py_DECREF(rows[r].name);
        }
        else {
            rows[w++] = rows[r];
        }
    }
    *out = rows;
    *nout = w;
    return 0;
}

static double
now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return (double)time(NULL);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static PyObject *
snapshot_new(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Snapshot", kwlist)) {
        return NULL;
    }
    Py_ssize_t frozen = pmt_gc_freeze_count();
    if (frozen < 0) {
        return NULL;
    }
    pmt_snapshot *self = (pmt_snapshot *)cls->tp_alloc(cls, 0);
    if (self == NULL) {
        return NULL;
    }
    self->frozen = frozen;
    self->timestamp = now();
    pmt_typetable t;
    pmt_types_init(&t);
    int r = pmt_types_from_heap(&t);
    if (r == 0) {
        r = rows_from_table(&t, &self->rows, &self->nrows);
        self->total_count = t.total_count;
        self->total_size = t.total_size;
    }
    pmt_types_clear(&t);
    if (r < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
snapshot_dealloc(pmt_snapshot *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    free_rows(self->rows, self->nrows);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
module_or_none(PyObject *module)
{
    return Py_NewRef(module != NULL ? module : Py_None);
}

static PyObject *
snapshot_rows(pmt_snapshot *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *list = PyList_New(self->nrows);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->nrows; i++) {
        pmt_row *row = &self->rows[i];
        PyObject *item = Py_BuildValue("(NOnn)", module_or_none(row->module), row->name,
                                       row->count, row->size);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static int
append_diff(PyObject *list, const pmt_row *cur, const pmt_row *old)
{
    const pmt_row *key = cur != NULL ? cur : old;
    Py_ssize_t count = cur ? cur->count : 0, size = cur ? cur->size : 0;
    Py_ssize_t old_count = old ? old->count : 0, old_size = old ? old->size : 0;
    PyObject *item = Py_BuildValue("(NOnnnn)", module_or_none(key->module), key->name,
                                   count, count - old_count, size, size - old_size);
    if (item == NULL) {
        return -1;
    }
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

/* _diff(old): (module, name, count, count_delta, size, size_delta) for every
   type in either snapshot, in key order. */
static PyObject *
snapshot_diff(pmt_snapshot *self, PyTypeObject *defining_class, PyObject *const *args,
              Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "_diff() takes exactly one positional argument");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], defining_class)) {
        PyErr_Format(PyExc_TypeError, "old must be a Snapshot, not %.100s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    pmt_snapshot *old = (pmt_snapshot *)args[0];
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    Py_ssize_t i = 0, j = 0;
    while (i < self->nrows || j < old->nrows) {
        int c;
        if (i == self->nrows) {
            c = 1;
        }
        else if (j == old->nrows) {
            c = -1;
        }
        else {
            c = cmp_rows(&self->rows[i], &old->rows[j]);
        }
        int r;
        if (c < 0) {
            r = append_diff(list, &self->rows[i++], NULL);
        }
        else if (c > 0) {
            r = append_diff(list, NULL, &old->rows[j++]);
        }
        else {
            r = append_diff(list, &self->rows[i++], &old->rows[j++]);
        }
        if (r < 0) {
            Py_DECREF(list);
            return NULL;
        }
    }
    return list;
}

static Py_ssize_t
snapshot_len(pmt_snapshot *self)
{
    return self->nrows;
}

static PyMethodDef snapshot_methods[] = {
    {"_rows", (PyCFunction)snapshot_rows, METH_NOARGS,
     "_rows() -> list of (module, name, count, size), sorted by module and name."},
    {"_diff", (PyCFunction)(void (*)(void))snapshot_diff,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "_diff(old) -> list of (module, name, count, count_delta, size, size_delta)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef snapshot_members[] = {
    {"total_count", T_PYSSIZET, offsetof(pmt_snapshot, total_count), READONLY,
     "Number of objects walked."},
    {"total_size", T_PYSSIZET, offsetof(pmt_snapshot, total_size), READONLY,
     "Bytes of the objects walked (0 when sizes were not measured)."},
    {"frozen", T_PYSSIZET, offsetof(pmt_snapshot, frozen), READONLY,
     "gc.get_freeze_count() at the time: objects gc.freeze() hid from the walk."},
    {"timestamp", T_DOUBLE, offsetof(pmt_snapshot, timestamp), READONLY,
     "When the snapshot was taken, in seconds since the epoch."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot snapshot_slots[] = {
    {Py_tp_doc, "Snapshot() -> per-type object counts of the heap, taken now."},
    {Py_tp_new, snapshot_new},
    {Py_tp_dealloc, snapshot_dealloc},
    {Py_tp_methods, snapshot_methods},
    {Py_tp_members, snapshot_members},
    {Py_sq_length, snapshot_len},
    {0, NULL},
};

PyType_Spec pmt_snapshot_spec = {
    .name = "pymemtrack._core.Snapshot",
    .basicsize = sizeof(pmt_snapshot),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = snapshot_slots,
};
