/* Object sizes exactly as sys.getsizeof() reports them, computed in C, and
   per-type byte totals next to the counts in the type tables. */
#ifndef PMT_SIZES_H
#define PMT_SIZES_H

#include "deepwalk.h"
#include "typetable.h"

/* One sized walk's state. Objects whose __sizeof__ is not one CPython's core
   defines in C (a Python method, or another extension's) would run foreign
   code inside the walk; they wait here, held by strong references in raw
   memory, and are sized by pmt_sizer_finish() once the walk is over. */
typedef struct {
    PyObject *name;             /* the interned str "__sizeof__" (owned) */
    PyObject **objs;            /* deferred objects (owned references) */
    pmt_typestat **entries;     /* their type-table entries */
    Py_ssize_t n, cap;
} pmt_sizer;

/* Prepares s. 0, or -1 with an exception. */
int pmt_sizer_init(pmt_sizer *s);

/* Adds sys.getsizeof(op) to e->size and t->total_size, or defers op. Runs
   no Python code and creates no Python object other than, for a few core
   types (dict on 3.13, type, code, frame, generators), the int their C
   __sizeof__ returns. Safe inside a walk. 0, or -1 with MemoryError. */
int pmt_sizer_add(pmt_sizer *s, pmt_typetable *t, pmt_typestat *e, PyObject *op);

/* Sizes the deferred objects (this runs their __sizeof__), releases them and
   s. A __sizeof__ that raises an Exception (other than MemoryError) or
   returns a non-int or negative size counts its objects with their basic
   size, and warns once per type (RuntimeWarning). 0, or -1 with an
   exception (MemoryError, a BaseException, a warning made an error); then
   nothing is leaked either. */
int pmt_sizer_finish(pmt_sizer *s, pmt_typetable *t);

/* Releases s without sizing (error paths); keeps any current exception. */
void pmt_sizer_clear(pmt_sizer *s);

/* sys.getsizeof(op), computed natively where the type allows; raises as
   sys.getsizeof does. -1 with an exception on error. */
Py_ssize_t pmt_getsizeof(PyObject *op);

/* What a filling walk records besides counts. */
typedef struct {
    int sizes;                      /* bytes, into e->size and t->total_size */
    pmt_pagemap *reference;         /* NULL or a HeapReference's map: objects found
                                       there with their type's tag are not counted */
    pmt_typetable *owners;          /* NULL, or per owner type: the exact dicts that are
                                       the __dict__ of its objects (then taken out of the
                                       dict row of the main table); needs sizes */
} pmt_fill_opts;

/* Counts (and measures, owners...) the objects opts selects into t.
   0, or -1 with an exception. */
int pmt_types_from_walk(pmt_typetable *t, const pmt_walk_opts *opts, const pmt_fill_opts *fill);

/* getsizeof() and type_sizes(), added to the module by module.c. */
extern PyMethodDef pmt_sizes_methods[];

#endif /* PMT_SIZES_H */
