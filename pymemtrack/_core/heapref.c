/* HeapReference: one walk records each object's address, with a tag of its
   type, in a byte map over the pages of address space the objects cover.
   An object freed after the reference point whose address is reused by a
   new object of the same type (or of a type with the same tag, 1 in 255) is
   taken for the old one: the price of holding nothing alive. */
#include "heapref.h"
#include "snapshot.h"

#include <time.h>
#include "deepwalk.h"

typedef struct {
    PyObject_HEAD
    pmt_pagemap map;
    Py_ssize_t count;       /* objects recorded */
    char deep;
    double timestamp;
} pmt_heapref;

static void heapref_dealloc(pmt_heapref *self);

static int
record_visit(PyObject *op, void *arg)
{
    pmt_heapref *self = (pmt_heapref *)arg;
    if (pmt_pagemap_set_tag(&self->map, op, pmt_type_tag(Py_TYPE(op))) < 0) {
        return -1;
    }
    self->count++;
    return 0;
}

static PyObject *
heapref_new(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"deep", "ignore", "skip_stack", NULL};
    int deep = 1, skip_stack = 0;
    PyObject *ignore = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$pOp:HeapReference", kwlist,
                                     &deep, &ignore, &skip_stack)) {
        return NULL;
    }
    if (ignore != Py_None && !PyTuple_Check(ignore)) {
        PyErr_Format(PyExc_TypeError, "ignore must be a tuple or None, not %.100s",
                     Py_TYPE(ignore)->tp_name);
        return NULL;
    }
    PyObject *module = PyType_GetModule(cls);
    if (module == NULL) {
        return NULL;
    }
    PyObject *own[8];
    if (pmt_own_types(module, own, 8) < 0) {
        return NULL;
    }
    pmt_heapref *self = (pmt_heapref *)cls->tp_alloc(cls, 0);
    if (self == NULL) {
        pmt_own_types_clear(own);
        return NULL;
    }
    pmt_pagemap_init(&self->map, 1);
    self->deep = (char)deep;
    self->timestamp = pmt_now();
    pmt_walk_opts opts = {
        .deep = deep,
        .ignore = ignore == Py_None ? NULL : ignore,
        .skip_stack = skip_stack,
        .skip_types = own,
    };
    int r = pmt_walk_objects(&opts, record_visit, self);
    pmt_own_types_clear(own);
    if (r < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
heapref_dealloc(pmt_heapref *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    pmt_pagemap_clear(&self->map);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

pmt_pagemap *
pmt_heapref_map(PyObject *op, const char *argname)
{
    /* Our deallocator identifies our layout (the type is not subclassable). */
    if (Py_TYPE(op)->tp_dealloc != (destructor)heapref_dealloc) {
        PyErr_Format(PyExc_TypeError, "%s must be a HeapReference or None, not %.100s",
                     argname, Py_TYPE(op)->tp_name);
        return NULL;
    }
    return &((pmt_heapref *)op)->map;
}

static Py_ssize_t
heapref_len(pmt_heapref *self)
{
    return self->count;
}

static PyObject *
heapref_nbytes(pmt_heapref *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSize_t(pmt_pagemap_bytes(&self->map));
}

static PyObject *
heapref_repr(pmt_heapref *self)
{
    return PyUnicode_FromFormat("<HeapReference of %zd objects%s>", self->count,
                                self->deep ? " (deep)" : "");
}

static PyMemberDef heapref_members[] = {
    {"deep", T_BOOL, offsetof(pmt_heapref, deep), READONLY,
     "Whether objects the GC does not track were recorded too."},
    {"timestamp", T_DOUBLE, offsetof(pmt_heapref, timestamp), READONLY,
     "When the reference was taken, in seconds since the epoch."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef heapref_getset[] = {
    {"nbytes", (getter)heapref_nbytes, NULL, "Raw memory held, in bytes.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot heapref_slots[] = {
    {Py_tp_doc, "HeapReference(*, deep=True, ignore=None, skip_stack=False) -> the objects"
                " alive now, by address and type, holding none of them."},
    {Py_tp_new, heapref_new},
    {Py_tp_dealloc, heapref_dealloc},
    {Py_tp_repr, heapref_repr},
    {Py_tp_members, heapref_members},
    {Py_tp_getset, heapref_getset},
    {Py_sq_length, heapref_len},
    {0, NULL},
};

PyType_Spec pmt_heapref_spec = {
    .name = "pymemtrack._core.HeapReference",
    .basicsize = sizeof(pmt_heapref),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = heapref_slots,
};
