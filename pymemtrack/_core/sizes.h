/* Object sizes exactly as sys.getsizeof() reports them, computed in C, and
   per-type byte totals next to the counts in the type tables. */
#ifndef PMT_SIZES_H
#define PMT_SIZES_H

#include "deepwalk.h"
#include "typetable.h"

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
