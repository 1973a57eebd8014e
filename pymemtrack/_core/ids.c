/* IdMap: one walk records (type, address) per object into raw memory; then
   addresses are grouped by type name and sorted, 8 bytes per object. */
#include "ids.h"
#include "names.h"
#include "typetable.h"
#include "walk.h"

typedef struct {
    PyTypeObject *type;
    uintptr_t addr;
} record;

typedef struct {
    PyObject_HEAD
    Py_ssize_t nnames;
    PyObject **names;       /* unique type names (str), owned */
    Py_ssize_t *starts;     /* nnames + 1 offsets into addrs */
    uintptr_t *addrs;       /* grouped by name, sorted within a group */
} pmt_idmap;

typedef struct {
    pmt_typetable *table;
    record *recs;
    Py_ssize_t n, cap;
} walk_ctx;

static int
record_visit(PyObject *op, void *arg)
{
    walk_ctx *ctx = (walk_ctx *)arg;
    if (ctx->n == ctx->cap) {
        Py_ssize_t cap = ctx->cap ? ctx->cap * 2 : 4096;
        record *recs = pmt_raw_realloc(ctx->recs, (size_t)cap * sizeof(record));
        if (recs == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        ctx->recs = recs;
        ctx->cap = cap;
    }
    pmt_typestat *e = pmt_types_get(ctx->table, Py_TYPE(op));
    if (e == NULL) {
        return -1;
    }
    e->count++;
    ctx->recs[ctx->n].type = Py_TYPE(op);
    ctx->recs[ctx->n].addr = (uintptr_t)op;
    ctx->n++;
    return 0;
}

static int
cmp_addr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* Names each type (e->flag = its name's index), counting objects per name. */
static int
name_types(pmt_idmap *self, pmt_typetable *t, int shortnames)
{
    PyObject *index = PyDict_New();
    if (index == NULL) {
        return -1;
    }
    self->names = pmt_raw_calloc((size_t)t->ntypes + 1, sizeof(PyObject *));
    self->starts = pmt_raw_calloc((size_t)t->ntypes + 2, sizeof(Py_ssize_t));
    if (self->names == NULL || self->starts == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        PyObject *name = pmt_type_display(e->type, shortnames);
        if (name == NULL) {
            goto error;
        }
        PyObject *idx = PyDict_GetItemWithError(index, name);
        if (idx != NULL) {
            e->flag = (int)PyLong_AsLong(idx);
            Py_DECREF(name);
        }
        else if (PyErr_Occurred()) {
            Py_DECREF(name);
            goto error;
        }
        else {
            e->flag = (int)self->nnames;
            idx = PyLong_FromSsize_t(self->nnames);
            if (idx == NULL || PyDict_SetItem(index, name, idx) < 0) {
                Py_XDECREF(idx);
                Py_DECREF(name);
                goto error;
            }
            Py_DECREF(idx);
            self->names[self->nnames++] = name;     /* keeps the reference */
        }
        self->starts[e->flag + 1] += e->count;
    }
    Py_DECREF(index);
    return 0;
error:
    Py_DECREF(index);
    return -1;
}

static PyObject *
idmap_new(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"shortnames", NULL};
    int shortnames = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|p:IdMap", kwlist, &shortnames)) {
        return NULL;
    }
    pmt_idmap *self = (pmt_idmap *)cls->tp_alloc(cls, 0);
    if (self == NULL) {
        return NULL;
    }
    pmt_typetable t;
    pmt_types_init(&t);
    walk_ctx ctx = {.table = &t};
    int r = pmt_walk_heap(record_visit, &ctx);
    if (r == 0) {
        r = name_types(self, &t, shortnames);
    }
    if (r == 0) {
        for (Py_ssize_t i = 0; i < self->nnames; i++) {
            self->starts[i + 1] += self->starts[i];
        }
        self->addrs = pmt_raw_malloc((size_t)(ctx.n ? ctx.n : 1) * sizeof(uintptr_t));
        if (self->addrs == NULL) {
            PyErr_NoMemory();
            r = -1;
        }
    }
    if (r == 0) {
        /* Bucket by name index (a counting sort), then sort each bucket. */
        Py_ssize_t *fill = pmt_raw_malloc((size_t)(self->nnames + 1) * sizeof(Py_ssize_t));
        if (fill == NULL) {
            PyErr_NoMemory();
            r = -1;
        }
        else {
            memcpy(fill, self->starts, (size_t)(self->nnames + 1) * sizeof(Py_ssize_t));
            for (Py_ssize_t i = 0; i < ctx.n; i++) {
                pmt_typestat *e = pmt_types_find(&t, ctx.recs[i].type);
                self->addrs[fill[e->flag]++] = ctx.recs[i].addr;
            }
            pmt_raw_free(fill);
            for (Py_ssize_t k = 0; k < self->nnames; k++) {
                qsort(self->addrs + self->starts[k],
                      (size_t)(self->starts[k + 1] - self->starts[k]), sizeof(uintptr_t), cmp_addr);
            }
        }
    }
    pmt_raw_free(ctx.recs);
    pmt_types_clear(&t);
    if (r < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
idmap_dealloc(pmt_idmap *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    for (Py_ssize_t i = 0; i < self->nnames; i++) {
        Py_DECREF(self->names[i]);
    }
    pmt_raw_free(self->names);
    pmt_raw_free(self->starts);
    pmt_raw_free(self->addrs);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The addresses in cur[0:ncur] that are not in old[0:nold], as a new set. */
static PyObject *
new_addresses(const uintptr_t *cur, Py_ssize_t ncur, const uintptr_t *old, Py_ssize_t nold)
{
    PyObject *set = PySet_New(NULL);
    if (set == NULL) {
        return NULL;
    }
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < ncur; i++) {
        while (j < nold && old[j] < cur[i]) {
            j++;
        }
        if (j < nold && old[j] == cur[i]) {
            continue;
        }
        PyObject *id = PyLong_FromVoidPtr((void *)cur[i]);
        if (id == NULL || PySet_Add(set, id) < 0) {
            Py_XDECREF(id);
            Py_DECREF(set);
            return NULL;
        }
        Py_DECREF(id);
    }
    return set;
}

static int
append_row(PyObject *rows, PyObject *name, Py_ssize_t nold, Py_ssize_t ncur, PyObject *newset)
{
    if (newset == NULL) {
        return -1;
    }
    PyObject *row = Py_BuildValue("(OnnN)", name, nold, ncur, newset);
    if (row == NULL) {
        return -1;
    }
    int r = PyList_Append(rows, row);
    Py_DECREF(row);
    return r;
}

/* diff(old) -> [(name, old_count, current_count, set of new ids)] for every
   name in either map (old may be None: everything is new). */
static PyObject *
idmap_diff(pmt_idmap *self, PyTypeObject *defining_class, PyObject *const *args,
           Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "diff() takes exactly one positional argument");
        return NULL;
    }
    pmt_idmap *old = NULL;
    if (args[0] != Py_None) {
        if (!PyObject_TypeCheck(args[0], defining_class)) {
            PyErr_Format(PyExc_TypeError, "old must be an IdMap or None, not %.100s",
                         Py_TYPE(args[0])->tp_name);
            return NULL;
        }
        old = (pmt_idmap *)args[0];
    }
    PyObject *rows = PyList_New(0);
    PyObject *old_index = PyDict_New();
    char *matched = NULL;
    if (rows == NULL || old_index == NULL) {
        goto error;
    }
    Py_ssize_t nold_names = old ? old->nnames : 0;
    matched = pmt_raw_calloc((size_t)nold_names + 1, 1);
    if (matched == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t k = 0; k < nold_names; k++) {
        PyObject *idx = PyLong_FromSsize_t(k);
        if (idx == NULL || PyDict_SetItem(old_index, old->names[k], idx) < 0) {
            Py_XDECREF(idx);
            goto error;
        }
        Py_DECREF(idx);
    }
    for (Py_ssize_t k = 0; k < self->nnames; k++) {
        const uintptr_t *cur = self->addrs + self->starts[k];
        Py_ssize_t ncur = self->starts[k + 1] - self->starts[k];
        const uintptr_t *prev = NULL;
        Py_ssize_t nprev = 0;
        PyObject *idx = PyDict_GetItemWithError(old_index, self->names[k]);
        if (idx != NULL) {
            Py_ssize_t o = PyLong_AsSsize_t(idx);
            matched[o] = 1;
            prev = old->addrs + old->starts[o];
            nprev = old->starts[o + 1] - old->starts[o];
        }
        else if (PyErr_Occurred()) {
            goto error;
        }
        if (append_row(rows, self->names[k], nprev, ncur,
                       new_addresses(cur, ncur, prev, nprev)) < 0) {
            goto error;
        }
    }
    for (Py_ssize_t o = 0; o < nold_names; o++) {
        if (!matched[o] &&
            append_row(rows, old->names[o], old->starts[o + 1] - old->starts[o], 0,
                       PySet_New(NULL)) < 0) {
            goto error;
        }
    }
    pmt_raw_free(matched);
    Py_DECREF(old_index);
    return rows;
error:
    pmt_raw_free(matched);
    Py_XDECREF(old_index);
    Py_XDECREF(rows);
    return NULL;
}

static Py_ssize_t
idmap_len(pmt_idmap *self)
{
    return self->nnames ? self->starts[self->nnames] : 0;
}

static PyMethodDef idmap_methods[] = {
    {"diff", (PyCFunction)(void (*)(void))idmap_diff, METH_METHOD | METH_FASTCALL | METH_KEYWORDS,
     "diff(old) -> list of (name, old_count, current_count, set of new ids)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot idmap_slots[] = {
    {Py_tp_doc, "IdMap(shortnames=True) -> addresses of every GC object by type name, now."},
    {Py_tp_new, idmap_new},
    {Py_tp_dealloc, idmap_dealloc},
    {Py_tp_methods, idmap_methods},
    {Py_sq_length, idmap_len},
    {0, NULL},
};

PyType_Spec pmt_idmap_spec = {
    .name = "pymemtrack._core.IdMap",
    .basicsize = sizeof(pmt_idmap),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = idmap_slots,
};
