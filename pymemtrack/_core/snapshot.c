/* Snapshot: counts per (module, name) in a sorted array, O(types) memory. */
#include "snapshot.h"

#include <time.h>
#include "args.h"
#include "names.h"
#include "sizes.h"
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
    char sizes;             /* bytes were measured */
    char deep;              /* objects the GC does not track were walked too */
    char relative;          /* only objects new since a HeapReference */
    Py_ssize_t start;       /* Partition: first row to display */
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

/* Sorts rows by key and merges equal keys; returns the new row count.
   Distinct classes with one module and name (made in a loop, say) are one
   row, as objgraph lumps them; their names are dropped once merged. */
static Py_ssize_t
sort_merge(pmt_row *rows, Py_ssize_t n)
{
    qsort(rows, (size_t)n, sizeof(pmt_row), cmp_rows);
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
    return w;
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
    *out = rows;
    *nout = sort_merge(rows, n);
    return 0;
}

double
pmt_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return (double)time(NULL);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Walks for a snapshot: the counts-only walk stays the foundation's fast
   path; sizes and deep go through pmt_types_from_walk, skipping
   pymemtrack's own non-GC objects (reachable only deep). */
static int
fill_snapshot_table(PyTypeObject *cls, pmt_typetable *t, int sizes, int deep)
{
    if (!sizes && !deep) {
        return pmt_types_from_heap(t);
    }
    /* The module of the first class in the MRO made from our spec (cls may
       be a Python subclass, which has none). */
    PyObject *module = NULL;
    PyObject *mro = cls->tp_mro;
    for (Py_ssize_t i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro) && module == NULL; i++) {
        PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (base->tp_flags & Py_TPFLAGS_HEAPTYPE) {
            module = ((PyHeapTypeObject *)base)->ht_module;
        }
    }
    if (module == NULL) {
        PyErr_SetString(PyExc_TypeError, "Snapshot subclass without pymemtrack._core in its MRO");
        return -1;
    }
    PyObject *own[8];
    if (pmt_own_types(module, own, 8) < 0) {
        return -1;
    }
    pmt_walk_opts opts = {.deep = deep, .skip_types = own};
    pmt_fill_opts fill = {.sizes = sizes};
    int r = pmt_types_from_walk(t, &opts, &fill);
    pmt_own_types_clear(own);
    return r;
}

static PyObject *
snapshot_new(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"sizes", "deep", NULL};
    int sizes = 0, deep = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$pp:Snapshot", kwlist, &sizes, &deep)) {
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
    self->timestamp = pmt_now();
    self->sizes = (char)sizes;
    self->deep = (char)deep;
    pmt_typetable t;
    pmt_types_init(&t);
    int r = fill_snapshot_table(cls, &t, sizes, deep);
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

static int
read_row(PyObject *item, pmt_row *row)
{
    PyObject *fast = PySequence_Fast(item, "each row must be a sequence");
    if (fast == NULL) {
        return -1;
    }
    int ret = -1;
    if (PySequence_Fast_GET_SIZE(fast) != 4) {
        PyErr_SetString(PyExc_ValueError, "each row must be (module, name, count, size)");
        goto done;
    }
    PyObject **f = PySequence_Fast_ITEMS(fast);
    if ((f[0] != Py_None && !PyUnicode_Check(f[0])) || !PyUnicode_Check(f[1])) {
        PyErr_SetString(PyExc_TypeError, "a row's module must be a str or None and its name a str");
        goto done;
    }
    if (!PyLong_Check(f[2]) || !PyLong_Check(f[3])) {
        PyErr_SetString(PyExc_TypeError, "a row's count and size must be ints");
        goto done;
    }
    row->count = PyLong_AsSsize_t(f[2]);
    row->size = row->count == -1 && PyErr_Occurred() ? -1 : PyLong_AsSsize_t(f[3]);
    if (PyErr_Occurred()) {
        goto done;
    }
    row->module = f[0] == Py_None ? NULL : Py_NewRef(f[0]);
    row->name = Py_NewRef(f[1]);
    ret = 0;
done:
    Py_DECREF(fast);
    return ret;
}

/* _from_rows(rows, *, sizes=True, deep=False, relative=False, keyed=True,
   start=0): a new instance from (module, name, count, size) rows; keyed
   sorts and merges them by (module, name), otherwise their order is kept. */
static PyObject *
snapshot_from_rows(PyObject *cls, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {
        "rows", "sizes", "deep", "relative", "keyed", "start", NULL,
    };
    PyObject *argv[6] = {NULL, Py_True, Py_False, Py_False, Py_True, NULL};
    if (pmt_parse_args("_from_rows", args, nargs, kwnames, names, 1, argv) < 0) {
        return NULL;
    }
    int flags[4];
    for (int i = 0; i < 4; i++) {
        flags[i] = PyObject_IsTrue(argv[i + 1]);
        if (flags[i] < 0) {
            return NULL;
        }
    }
    Py_ssize_t start = 0;
    if (argv[5] != NULL) {
        start = PyLong_AsSsize_t(argv[5]);
        if (start == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (start < 0) {
            PyErr_SetString(PyExc_ValueError, "start must be >= 0");
            return NULL;
        }
    }
    PyObject *fast = PySequence_Fast(argv[0], "rows must be a sequence of rows");
    if (fast == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    pmt_row *rows = pmt_raw_calloc(n > 0 ? (size_t)n : 1, sizeof(pmt_row));
    if (rows == NULL) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    Py_ssize_t filled = 0, total_count = 0, total_size = 0;
    for (; filled < n; filled++) {
        if (read_row(PySequence_Fast_GET_ITEM(fast, filled), &rows[filled]) < 0) {
            break;
        }
        total_count += rows[filled].count;
        total_size += rows[filled].size;
    }
    Py_DECREF(fast);
    if (filled < n) {
        free_rows(rows, filled);
        return NULL;
    }
    pmt_snapshot *self = (pmt_snapshot *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (self == NULL) {
        free_rows(rows, n);
        return NULL;
    }
    self->rows = rows;
    self->nrows = flags[3] ? sort_merge(rows, n) : n;
    self->total_count = total_count;
    self->total_size = total_size;
    self->timestamp = pmt_now();
    self->sizes = (char)flags[0];
    self->deep = (char)flags[1];
    self->relative = (char)flags[2];
    self->start = start;
    return (PyObject *)self;
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
    {"_from_rows", (PyCFunction)(void (*)(void))snapshot_from_rows,
     METH_CLASS | METH_FASTCALL | METH_KEYWORDS,
     "_from_rows(rows, *, sizes=True, deep=False, relative=False, keyed=True, start=0)"
     " -> a new instance holding (module, name, count, size) rows."},
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
    {"sizes", T_BOOL, offsetof(pmt_snapshot, sizes), READONLY,
     "Whether bytes were measured (sys.getsizeof of every object)."},
    {"deep", T_BOOL, offsetof(pmt_snapshot, deep), READONLY,
     "Whether objects the GC does not track were walked too."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot snapshot_slots[] = {
    {Py_tp_doc, "Snapshot(*, sizes=False, deep=False) -> per-type object counts (and bytes)"
                " of the heap, taken now."},
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

/* Partition: the same non-GC row storage, for pymemtrack.heap(); its rows
   come only from _from_rows (in display order), its Python methods are
   installed by pymemtrack/partition.py. */
static PyMemberDef partition_members[] = {
    {"count", T_PYSSIZET, offsetof(pmt_snapshot, total_count), READONLY,
     "Number of objects in the partitioned set."},
    {"size", T_PYSSIZET, offsetof(pmt_snapshot, total_size), READONLY,
     "Their total size in bytes."},
    {"timestamp", T_DOUBLE, offsetof(pmt_snapshot, timestamp), READONLY,
     "When the heap was walked, in seconds since the epoch."},
    {"deep", T_BOOL, offsetof(pmt_snapshot, deep), READONLY,
     "Whether objects the GC does not track were walked too."},
    {"relative", T_BOOL, offsetof(pmt_snapshot, relative), READONLY,
     "Whether only objects new since a reference point are counted."},
    {"start", T_PYSSIZET, offsetof(pmt_snapshot, start), READONLY,
     "Index of the first row printed (see more)."},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef partition_methods[] = {
    {"_rows", (PyCFunction)snapshot_rows, METH_NOARGS,
     "_rows() -> list of (module, name, count, size), in display order."},
    {"_from_rows", (PyCFunction)(void (*)(void))snapshot_from_rows,
     METH_CLASS | METH_FASTCALL | METH_KEYWORDS,
     "_from_rows(rows, *, sizes=True, deep=False, relative=False, keyed=True, start=0)"
     " -> a new instance holding (module, name, count, size) rows."},
    {NULL, NULL, 0, NULL},
};

static PyObject *
partition_new(PyTypeObject *Py_UNUSED(cls), PyObject *Py_UNUSED(args),
              PyObject *Py_UNUSED(kwargs))
{
    PyErr_SetString(PyExc_TypeError,
                    "Partition cannot be created directly: use pymemtrack.heap()");
    return NULL;
}

static PyType_Slot partition_slots[] = {
    {Py_tp_doc, "A partition of a set of objects by kind, with counts and sizes"
                " (pymemtrack.heap())."},
    {Py_tp_new, partition_new},
    {Py_tp_dealloc, snapshot_dealloc},
    {Py_tp_methods, partition_methods},
    {Py_tp_members, partition_members},
    {Py_sq_length, snapshot_len},
    {0, NULL},
};

PyType_Spec pmt_partition_spec = {
    .name = "pymemtrack._core.Partition",
    .basicsize = sizeof(pmt_snapshot),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = partition_slots,
};
