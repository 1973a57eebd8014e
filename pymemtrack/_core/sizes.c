/* sys.getsizeof() in C.

   sys.getsizeof(o) is o.__sizeof__() plus a pre-header (compat.h). Per type
   (once, when the type is first seen) the __sizeof__ that applies is looked
   up in the MRO (_PyType_Lookup runs no Python code) and classified:
   - object.__sizeof__ (tuple, float, bytes, function, most classes):
     tp_basicsize + ob_size * tp_itemsize, computed here;
   - list, str, int, set/frozenset, bytearray and (to 3.12) dict: their C
     implementation's formula, computed here from public struct fields;
   - the C __sizeof__ of a few other core types (type, code, frame,
     generators, OrderedDict; dict on 3.13): called directly, which only
     allocates the int it returns;
   - anything else (a Python method, another extension's C method, a
     borrowed descriptor) is deferred: such code may run Python code, which
     must not happen inside PyUnstable_GC_VisitObjects' callback (it may
     allocate, free or collect while the GC walks its lists). Deferred
     objects are held (strong reference, raw memory) and sized after the walk
     the way sys.getsizeof does it. Holding them is cheap and exact; the
     alternative, walking a gc.get_objects() list whenever such types
     exist, would cost a list of the whole heap every time.
   Every branch is checked against sys.getsizeof over whole heaps by
   tests/test_sizes.py on 3.10-3.13. */
#include "sizes.h"
#include "heapref.h"
#include "args.h"

enum {
    KIND_UNSET = 0,
    KIND_BASIC,
    KIND_LIST,
    KIND_STR,
    KIND_INT,
    KIND_SET,
    KIND_BYTEARRAY,
    KIND_DICT,
    KIND_CCALL,
    KIND_DEFERRED,
    KIND_BROKEN,            /* __sizeof__ failed in this walk; warned */
    KIND_BROKEN_UNWARNED,   /* failed inside the walk; warn after it */
};

#define PRE_PER_OBJECT (-1)

/* ---- classification ---------------------------------------------------- */

static Py_ssize_t
type_preheader(PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030B0000
#  if PY_VERSION_HEX >= 0x030D0000
    /* 3.13's sys.getsizeof adds nothing for static types (instances of
       exactly type): they were not allocated with a GC head. */
    if (tp == &PyType_Type) {
        return PRE_PER_OBJECT;
    }
#  endif
    return (PyType_IS_GC(tp) ? PMT_GC_HEAD_SIZE : 0)
           + ((tp->tp_flags & PMT_PREHEADER_FLAGS) ? (Py_ssize_t)(2 * sizeof(PyObject *)) : 0);
#else
    /* sys.getsizeof adds the GC head when _PyObject_IS_GC(o): only type
       objects (tp_is_gc) decide per object. */
    if (!PyType_IS_GC(tp)) {
        return 0;
    }
    return tp->tp_is_gc != NULL ? PRE_PER_OBJECT : PMT_GC_HEAD_SIZE;
#endif
}

static inline Py_ssize_t
preheader(PyObject *op, Py_ssize_t pre)
{
    if (pre != PRE_PER_OBJECT) {
        return pre;
    }
#if PY_VERSION_HEX >= 0x030D0000
    return (((PyTypeObject *)op)->tp_flags & Py_TPFLAGS_HEAPTYPE) ? PMT_GC_HEAD_SIZE : 0;
#else
    return PyObject_IS_GC(op) ? PMT_GC_HEAD_SIZE : 0;
#endif
}

/* Core types whose C __sizeof__ is pure and is called directly. */
static int
is_ccall_type(PyTypeObject *owner)
{
    return owner == &PyType_Type || owner == &PyCode_Type || owner == &PyFrame_Type
           || owner == &PyGen_Type || owner == &PyCoro_Type || owner == &PyAsyncGen_Type
           || owner == &PyODict_Type || owner == &PyDict_Type;
}

static void
classify(PyObject *name, pmt_typestat *e)
{
    PyTypeObject *tp = e->type;
    e->size_pre = type_preheader(tp);
    e->size_fn = NULL;
    e->size_kind = KIND_DEFERRED;
    PyObject *descr = _PyType_Lookup(tp, name);     /* borrowed, never raises */
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMethodDescr_Type)) {
        return;
    }
    PyMethodDescrObject *md = (PyMethodDescrObject *)descr;
    PyTypeObject *owner = PyDescr_TYPE(md);
    /* A descriptor borrowed from an unrelated type (__sizeof__ =
       list.__sizeof__ in a class that is no list) raises when called. */
    if (owner == NULL || !PyType_IsSubtype(tp, owner)
        || (md->d_method->ml_flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O
                                      | METH_CLASS | METH_STATIC | METH_FASTCALL
                                      | METH_METHOD)) != METH_NOARGS) {
        return;
    }
    if (owner == &PyBaseObject_Type) {
        e->size_kind = KIND_BASIC;
    }
    else if (owner == &PyList_Type) {
        e->size_kind = KIND_LIST;
    }
    else if (owner == &PyUnicode_Type) {
        e->size_kind = KIND_STR;
    }
    else if (owner == &PyLong_Type) {
        e->size_kind = KIND_INT;
    }
    else if (owner == &PySet_Type || owner == &PyFrozenSet_Type) {
        e->size_kind = KIND_SET;
    }
    else if (owner == &PyByteArray_Type) {
        e->size_kind = KIND_BYTEARRAY;
    }
#if PMT_HAVE_DICT_SIZEOF
    else if (owner == &PyDict_Type) {
        e->size_kind = KIND_DICT;
    }
#endif
    else if (is_ccall_type(owner)) {
        e->size_kind = KIND_CCALL;
        e->size_fn = md->d_method->ml_meth;
    }
}

/* ---- native formulas (each mirrors the C __sizeof__ it replaces) ------- */

static inline Py_ssize_t
basic_size(PyObject *op, PyTypeObject *tp)
{
    Py_ssize_t size = tp->tp_basicsize;
    if (tp->tp_itemsize > 0) {
        /* object___sizeof__ reads ob_size directly too */
        size += ((PyVarObject *)op)->ob_size * tp->tp_itemsize;
    }
    return size;
}

static inline Py_ssize_t
int_size(PyObject *op)
{
#if PY_VERSION_HEX >= 0x030C0000
    Py_ssize_t ndigits =
        (Py_ssize_t)(((PyLongObject *)op)->long_value.lv_tag >> _PyLong_NON_SIZE_BITS);
    return Py_TYPE(op)->tp_basicsize + Py_MAX(ndigits, 1) * Py_TYPE(op)->tp_itemsize;
#elif PY_VERSION_HEX >= 0x030B0000
    Py_ssize_t ndigits = Py_ABS(Py_SIZE(op));
    return (Py_ssize_t)offsetof(PyLongObject, ob_digit) + Py_MAX(ndigits, 1) * (Py_ssize_t)sizeof(digit);
#else
    return (Py_ssize_t)offsetof(PyLongObject, ob_digit)
           + Py_ABS(Py_SIZE(op)) * (Py_ssize_t)sizeof(digit);
#endif
}

static inline Py_ssize_t
str_size(PyObject *op)
{
    PyASCIIObject *a = (PyASCIIObject *)op;
    Py_ssize_t len = a->length, size;
    if (a->state.compact && a->state.ascii) {
        size = (Py_ssize_t)sizeof(PyASCIIObject) + len + 1;
    }
    else if (a->state.compact) {
        size = (Py_ssize_t)sizeof(PyCompactUnicodeObject) + (len + 1) * (Py_ssize_t)a->state.kind;
    }
    else {
        size = (Py_ssize_t)sizeof(PyUnicodeObject);
        if (((PyUnicodeObject *)op)->data.any != NULL) {
            size += (len + 1) * (Py_ssize_t)a->state.kind;
        }
    }
    const void *data = NULL;
    if (a->state.compact) {
        data = a->state.ascii ? (const void *)(a + 1)
                              : (const void *)((PyCompactUnicodeObject *)op + 1);
    }
    else {
        data = ((PyUnicodeObject *)op)->data.any;
    }
#if PMT_STR_HAS_WSTR
    /* The wchar_t copy, unless it shares the data (or the string is not
       ready and it is the only representation). */
    if (a->wstr != NULL && (!a->state.ready || (const void *)a->wstr != data)) {
        Py_ssize_t wlen = a->state.compact && a->state.ascii
                              ? len : ((PyCompactUnicodeObject *)op)->wstr_length;
        size += (wlen + 1) * (Py_ssize_t)sizeof(wchar_t);
    }
#endif
    if (!(a->state.compact && a->state.ascii)) {
        PyCompactUnicodeObject *c = (PyCompactUnicodeObject *)op;
        if (c->utf8 != NULL && (const void *)c->utf8 != data) {
            size += c->utf8_length + 1;
        }
    }
    return size;
}

static inline Py_ssize_t
set_size(PyObject *op)
{
    PySetObject *so = (PySetObject *)op;
    Py_ssize_t size = Py_TYPE(op)->tp_basicsize;
    if (so->table != so->smalltable) {
        size += (so->mask + 1) * (Py_ssize_t)sizeof(setentry);
    }
    return size;
}

/* The size a failed __sizeof__ falls back to: what object.__sizeof__ (or
   int's, whose ob_size is not an item count on 3.12+) would say. */
static Py_ssize_t
fallback_size(PyObject *op)
{
    if (PyLong_Check(op)) {
        return int_size(op);
    }
    return basic_size(op, Py_TYPE(op));
}

/* Calls a core type's C __sizeof__ (METH_NOARGS). -1 with an exception. */
static Py_ssize_t
ccall_size(PyCFunction fn, PyObject *op)
{
    PyObject *res = fn(op, NULL);
    if (res == NULL) {
        return -1;
    }
    Py_ssize_t size = PyLong_Check(res) ? PyLong_AsSsize_t(res) : -1;
    Py_DECREF(res);
    if (size < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "__sizeof__() should return >= 0");
    }
    return size;
}

/* op.__sizeof__() the way sys.getsizeof calls it (special lookup on the
   type, bound, called without arguments). -1 with an exception. */
static Py_ssize_t
call_sizeof(PyObject *name, PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr == NULL) {
        PyErr_Format(PyExc_TypeError, "Type %.100s doesn't define __sizeof__", tp->tp_name);
        return -1;
    }
    Py_INCREF(descr);
    PyObject *res;
    descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
    if (get == NULL) {
        res = PyObject_CallNoArgs(descr);
    }
    else if (Py_IS_TYPE(descr, &PyMethodDescr_Type) || PyFunction_Check(descr)) {
        res = PyObject_CallOneArg(descr, op);      /* what binding then calling does */
    }
    else {
        PyObject *meth = get(descr, op, (PyObject *)tp);
        res = meth == NULL ? NULL : PyObject_CallNoArgs(meth);
        Py_XDECREF(meth);
    }
    Py_DECREF(descr);
    if (res == NULL) {
        return -1;
    }
    if (!PyLong_Check(res)) {
        PyErr_Format(PyExc_TypeError, "__sizeof__() returned %.100s, not an int",
                     Py_TYPE(res)->tp_name);
        Py_DECREF(res);
        return -1;
    }
    Py_ssize_t size = PyLong_AsSsize_t(res);
    Py_DECREF(res);
    if (size == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "__sizeof__() should return >= 0");
        return -1;
    }
    return size;
}

/* The size for kinds computed without foreign code; -1 with an exception
   only for KIND_CCALL; -2 for KIND_DEFERRED (not computed). */
static inline Py_ssize_t
native_size(pmt_typestat *e, PyObject *op)
{
    switch (e->size_kind) {
    case KIND_BASIC:
        return basic_size(op, e->type);
    case KIND_LIST:
        return e->type->tp_basicsize
               + ((PyListObject *)op)->allocated * (Py_ssize_t)sizeof(PyObject *);
    case KIND_STR:
        return str_size(op);
    case KIND_INT:
        return int_size(op);
    case KIND_SET:
        return set_size(op);
    case KIND_BYTEARRAY:
        return e->type->tp_basicsize + ((PyByteArrayObject *)op)->ob_alloc;
#if PMT_HAVE_DICT_SIZEOF
    case KIND_DICT:
        return _PyDict_SizeOf((PyDictObject *)op);
#endif
    case KIND_CCALL:
        return ccall_size(e->size_fn, op);
    case KIND_BROKEN:
    case KIND_BROKEN_UNWARNED:
        return fallback_size(op);
    default:
        return -2;
    }
}

/* ---- sized walks -------------------------------------------------------- */

/* One sized walk's state. Objects whose __sizeof__ is not one CPython's core
   defines in C (a Python method, or another extension's) would run foreign
   code inside the walk; they wait here, held by strong references in raw
   memory, and are sized by sizer_finish() once the walk is over. */
typedef struct {
    PyObject *name;             /* the interned str "__sizeof__" (owned) */
    PyObject **objs;            /* deferred objects (owned references) */
    pmt_typestat **entries;     /* their type-table entries */
    Py_ssize_t n, cap;
} sizer;

/* Prepares s. 0, or -1 with an exception. */
static int
sizer_init(sizer *s)
{
    memset(s, 0, sizeof(*s));
    s->name = PyUnicode_InternFromString("__sizeof__");
    return s->name == NULL ? -1 : 0;
}

static int
defer(sizer *s, pmt_typestat *e, PyObject *op)
{
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? s->cap * 2 : 64;
        if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(PyObject *)) {
            PyErr_NoMemory();
            return -1;
        }
        PyObject **objs = pmt_raw_realloc(s->objs, (size_t)cap * sizeof(PyObject *));
        if (objs == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        s->objs = objs;
        pmt_typestat **entries = pmt_raw_realloc(s->entries, (size_t)cap * sizeof(*entries));
        if (entries == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        s->entries = entries;
        s->cap = cap;
    }
    s->objs[s->n] = Py_NewRef(op);
    s->entries[s->n] = e;
    s->n++;
    return 0;
}

/* Adds sys.getsizeof(op) to e->size (the walk adds the table's total), or
   defers op. Runs no Python code and creates no Python object other than,
   for a few core types (dict on 3.13, type, code, frame, generators), the
   int their C __sizeof__ returns. Safe inside a walk. 0, or -1 with
   MemoryError. Inline: the walk calls it once per object. */
static inline int
sizer_add(sizer *s, pmt_typestat *e, PyObject *op)
{
    if (e->size_kind == KIND_UNSET) {
        classify(s->name, e);
    }
    Py_ssize_t size = native_size(e, op);
    if (size == -2) {
        return defer(s, e, op);
    }
    if (size < 0) {
        /* A core C __sizeof__ failed: out of memory for the int it returns
           (raised), or something never expected (count the basic size and
           warn after the walk). */
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            return -1;
        }
        PyErr_Clear();
        e->size_kind = KIND_BROKEN_UNWARNED;
        size = fallback_size(op);
    }
    e->size += size + preheader(op, e->size_pre);
    return 0;
}

static int
warn_broken(PyTypeObject *tp, const char *why)
{
    return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                            "pymemtrack: %.200s.__sizeof__() %s; its objects are "
                            "counted with their basic size", tp->tp_name, why);
}

/* Sizes one deferred object; 0, or -1 with an exception that must stop the
   walk (a BaseException such as KeyboardInterrupt, or a warning that was
   turned into an error). */
static int
size_deferred(sizer *s, pmt_typetable *t, pmt_typestat *e, PyObject *op)
{
    Py_ssize_t size = -1;
    if (e->size_kind == KIND_DEFERRED) {
        size = call_sizeof(s->name, op);
        if (size < 0) {
            if (!PyErr_ExceptionMatches(PyExc_Exception)
                || PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyObject *exc_type, *exc, *tb;
            PyErr_Fetch(&exc_type, &exc, &tb);
            const char *why = ((PyTypeObject *)exc_type)->tp_name;
            char msg[160];
            PyOS_snprintf(msg, sizeof(msg), "raised %.100s", why);
            Py_XDECREF(exc_type);
            Py_XDECREF(exc);
            Py_XDECREF(tb);
            e->size_kind = KIND_BROKEN;
            if (warn_broken(e->type, msg) < 0) {
                return -1;
            }
        }
    }
    if (size < 0) {
        size = fallback_size(op);
    }
    size += preheader(op, e->size_pre);
    e->size += size;
    t->total_size += size;
    return 0;
}

static void sizer_clear(sizer *s);

/* Sizes the deferred objects (this runs their __sizeof__) into their entries
   and t's total, releases them and s. A __sizeof__ that raises an Exception
   (other than MemoryError) or returns a non-int or negative size counts its
   objects with their basic size, and warns once per type (RuntimeWarning).
   0, or -1 with an exception (MemoryError, a BaseException, a warning made
   an error); then nothing is leaked either. */
static int
sizer_finish(sizer *s, pmt_typetable *t)
{
    int ret = 0;
    Py_ssize_t i = 0;
    for (; i < s->n; i++) {
        PyObject *op = s->objs[i];
        if (size_deferred(s, t, s->entries[i], op) < 0) {
            ret = -1;
            break;
        }
        s->objs[i] = NULL;
        Py_DECREF(op);          /* may run code: only after its sizing */
    }
    if (ret == 0) {
        pmt_typestat *e, *tmp;
        HASH_ITER(hh, t->head, e, tmp) {
            if (e->size_kind == KIND_BROKEN_UNWARNED) {
                e->size_kind = KIND_BROKEN;
                if (warn_broken(e->type, "failed") < 0) {
                    ret = -1;
                    break;
                }
            }
        }
    }
    sizer_clear(s);
    return ret;
}

/* Releases s without sizing (error paths); keeps any current exception. */
static void
sizer_clear(sizer *s)
{
    PyObject *exc_type, *exc, *tb;
    PyErr_Fetch(&exc_type, &exc, &tb);
    for (Py_ssize_t i = 0; i < s->n; i++) {
        Py_XDECREF(s->objs[i]);
    }
    pmt_raw_free(s->objs);
    pmt_raw_free(s->entries);
    Py_CLEAR(s->name);
    s->objs = NULL;
    s->entries = NULL;
    s->n = s->cap = 0;
    PyErr_Restore(exc_type, exc, tb);
}

Py_ssize_t
pmt_getsizeof(PyObject *op)
{
    pmt_typestat e = {.type = Py_TYPE(op)};
    PyObject *name = PyUnicode_InternFromString("__sizeof__");
    if (name == NULL) {
        return -1;
    }
    classify(name, &e);
    Py_ssize_t size = native_size(&e, op);
    if (size == -2) {
        size = call_sizeof(name, op);
    }
    Py_DECREF(name);
    if (size < 0) {
        return -1;
    }
    return size + preheader(op, e.size_pre);
}

typedef struct {
    PyObject *dict;             /* a __dict__ seen (not dereferenced until checked) */
    PyTypeObject *owner;        /* the type of the object it belongs to */
} owned_dict;

typedef struct {
    pmt_typetable *table;
    const pmt_fill_opts *opts;
    sizer *sizer;               /* NULL: counts only */
    pmt_pagemap dicts;          /* owners: the exact dicts counted */
    owned_dict *owned;          /* owners: every __dict__ seen, in walk order */
    size_t nowned, owned_cap;
} fill_ctx;

/* Appends (d, owner): a sequential write, where a hash table keyed by d
   would miss the cache on every object that has a __dict__. */
static int
note_owned(fill_ctx *f, PyObject *d, PyTypeObject *owner)
{
    if (f->nowned == f->owned_cap) {
        size_t cap = f->owned_cap ? f->owned_cap * 2 : 1024;
        if (cap > PY_SSIZE_T_MAX / sizeof(owned_dict)) {
            PyErr_NoMemory();
            return -1;
        }
        owned_dict *owned = pmt_raw_realloc(f->owned, cap * sizeof(owned_dict));
        if (owned == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        f->owned = owned;
        f->owned_cap = cap;
    }
    f->owned[f->nowned].dict = d;
    f->owned[f->nowned].owner = owner;
    f->nowned++;
    return 0;
}

static int
fill_visit(PyObject *op, void *arg)
{
    fill_ctx *f = (fill_ctx *)arg;
    const pmt_fill_opts *o = f->opts;
    if (o->owners != NULL) {
        /* Old objects (reference) may own new dicts: peek before filtering. */
        PyObject *d = pmt_peek_dict(op);
        if (d != NULL && note_owned(f, d, Py_TYPE(op)) < 0) {
            return -1;
        }
    }
    if (o->reference != NULL
        && pmt_pagemap_tag(o->reference, op) == pmt_type_tag(Py_TYPE(op))) {
        return 0;
    }
    pmt_typestat *e = pmt_types_get(f->table, Py_TYPE(op));
    if (e == NULL) {
        return -1;
    }
    e->count++;                 /* the table's totals: after the walk */
    if (o->owners != NULL && PyDict_CheckExact(op) && pmt_pagemap_add(&f->dicts, op) < 0) {
        return -1;
    }
    if (f->sizer != NULL) {
        return sizer_add(f->sizer, e, op);
    }
    return 0;
}

/* The sums of t's counts and sizes. */
static void
table_sums(pmt_typetable *t, Py_ssize_t *count, Py_ssize_t *size)
{
    *count = *size = 0;
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        *count += e->count;
        *size += e->size;
    }
}

/* Moves each counted dict that some walked object has as __dict__ from the
   dict row to its owner type's row. Runs before any deferred __sizeof__ (no
   Python code has run since the walk), so every pointer in the maps is still
   the object the walk saw; a pointer is only dereferenced once the dicts
   map says the walk counted an exact dict there. */
static int
assign_owners(fill_ctx *f)
{
    pmt_typestat *dict_row = pmt_types_find(f->table, &PyDict_Type);
    if (dict_row == NULL) {
        return 0;
    }
    for (size_t i = 0; i < f->nowned; i++) {
        PyObject *d = f->owned[i].dict;
        if (!pmt_pagemap_discard(&f->dicts, d)) {
            continue;           /* not a dict this walk counted, or claimed */
        }
        Py_ssize_t size = native_size(dict_row, d);
        if (size < 0) {         /* -2 cannot happen for dict; -1: a failed C call */
            if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
                return -1;
            }
            PyErr_Clear();
            size = fallback_size(d);
        }
        size += preheader(d, dict_row->size_pre);
        pmt_typestat *e = pmt_types_get(f->opts->owners, f->owned[i].owner);
        if (e == NULL) {
            return -1;
        }
        e->count++;
        e->size += size;
        dict_row->count--;
        dict_row->size -= size;
    }
    return 0;
}

int
pmt_types_from_walk(pmt_typetable *t, const pmt_walk_opts *opts, const pmt_fill_opts *fill)
{
    if (fill->owners != NULL && !fill->sizes) {
        PyErr_SetString(PyExc_ValueError, "dict owners need sizes");
        return -1;
    }
    sizer sz;
    if (fill->sizes && sizer_init(&sz) < 0) {
        return -1;
    }
    fill_ctx f = {.table = t, .opts = fill, .sizer = fill->sizes ? &sz : NULL};
    pmt_pagemap_init(&f.dicts, 0);
    f.owned = NULL;
    f.nowned = f.owned_cap = 0;
    Py_ssize_t count0, size0, count1, size1;
    table_sums(t, &count0, &size0);
    int r = pmt_walk_objects(opts, fill_visit, &f);
    if (r == 0) {
        /* Every object walked, owned dicts included (assign_owners moves
           them to another table); deferred sizes are added by sizer_finish. */
        table_sums(t, &count1, &size1);
        t->total_count += count1 - count0;
        t->total_size += size1 - size0;
    }
    if (r == 0 && fill->owners != NULL) {
        r = assign_owners(&f);
    }
    pmt_pagemap_clear(&f.dicts);
    pmt_raw_free(f.owned);
    if (fill->sizes) {
        if (r < 0) {
            sizer_clear(&sz);
        }
        else {
            r = sizer_finish(&sz, t);
        }
    }
    return r;
}

/* ---- module functions --------------------------------------------------- */

static PyObject *
pmt_getsizeof_func(PyObject *Py_UNUSED(module), PyObject *op)
{
    Py_ssize_t size = pmt_getsizeof(op);
    return size < 0 ? NULL : PyLong_FromSsize_t(size);
}

static int
truth_arg(PyObject *value, int *out)
{
    int r = PyObject_IsTrue(value);
    if (r < 0) {
        return -1;
    }
    *out = r;
    return 0;
}

static int
append_rows(PyObject *list, pmt_typetable *t, PyObject *owner_of, int with_owner)
{
    pmt_typestat *e, *tmp;
    HASH_ITER(hh, t->head, e, tmp) {
        if (e->count == 0) {
            continue;
        }
        PyObject *row;
        if (!with_owner) {
            row = Py_BuildValue("(Onn)", (PyObject *)e->type, e->count, e->size);
        }
        else if (owner_of == NULL) {
            row = Py_BuildValue("(OOnn)", (PyObject *)e->type, Py_None, e->count, e->size);
        }
        else {
            row = Py_BuildValue("(OOnn)", owner_of, (PyObject *)e->type, e->count, e->size);
        }
        if (row == NULL || PyList_Append(list, row) < 0) {
            Py_XDECREF(row);
            return -1;
        }
        Py_DECREF(row);
    }
    return 0;
}

/* type_sizes(deep=False, ignore=None, skip_stack=False, reference=None,
   sizes=True, owners=False) -> [(type, count, size), ...], or with owners
   [(type, owner type or None, count, size), ...] where the rows with an
   owner count the dicts that are __dict__ of that owner type's objects. */
static PyObject *
pmt_type_sizes(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {
        "deep", "ignore", "skip_stack", "reference", "sizes", "owners", NULL,
    };
    PyObject *argv[6] = {Py_False, Py_None, Py_False, Py_None, Py_True, Py_False};
    if (pmt_parse_args("type_sizes", args, nargs, kwnames, names, 0, argv) < 0) {
        return NULL;
    }
    pmt_walk_opts opts = {0};
    pmt_fill_opts fill = {0};
    int owners;
    if (truth_arg(argv[0], &opts.deep) < 0 || truth_arg(argv[2], &opts.skip_stack) < 0
        || truth_arg(argv[4], &fill.sizes) < 0 || truth_arg(argv[5], &owners) < 0) {
        return NULL;
    }
    if (owners && !fill.sizes) {
        PyErr_SetString(PyExc_ValueError, "owners=True needs sizes=True");
        return NULL;
    }
    if (argv[1] != Py_None) {
        if (!PyTuple_Check(argv[1])) {
            PyErr_Format(PyExc_TypeError, "ignore must be a tuple or None, not %.100s",
                         Py_TYPE(argv[1])->tp_name);
            return NULL;
        }
        opts.ignore = argv[1];
    }
    if (argv[3] != Py_None) {
        fill.reference = pmt_heapref_map(argv[3], "reference");
        if (fill.reference == NULL) {
            return NULL;
        }
    }
    PyObject *own[8];
    if (pmt_own_types(module, own, 8) < 0) {
        return NULL;
    }
    opts.skip_types = own;
    /* The argument objects are held by the caller for the call. */
    pmt_typetable t, owner_table;
    pmt_types_init(&t);
    pmt_types_init(&owner_table);
    fill.owners = owners ? &owner_table : NULL;
    PyObject *res = NULL;
    if (pmt_types_from_walk(&t, &opts, &fill) == 0) {
        res = PyList_New(0);
        if (res != NULL && (append_rows(res, &t, NULL, owners) < 0
                            || append_rows(res, &owner_table, (PyObject *)&PyDict_Type,
                                           owners) < 0)) {
            Py_CLEAR(res);
        }
    }
    pmt_types_clear(&t);
    pmt_types_clear(&owner_table);
    pmt_own_types_clear(own);
    return res;
}

PyMethodDef pmt_sizes_methods[] = {
    {"getsizeof", pmt_getsizeof_func, METH_O,
     "getsizeof(obj) -> sys.getsizeof(obj), computed natively where the type allows."},
    {"type_sizes", (PyCFunction)(void (*)(void))pmt_type_sizes, METH_FASTCALL | METH_KEYWORDS,
     "type_sizes(deep=False, ignore=None, skip_stack=False, reference=None, sizes=True,"
     " owners=False) -> list of (type, count, bytes), or with owners of (type, owner type"
     " or None, count, bytes), for the objects walked."},
    {NULL, NULL, 0, NULL},
};
