/* Where an object was allocated, read from tracemalloc's own table. */
#ifndef PMT_ALLOC_H
#define PMT_ALLOC_H

#include "compat.h"

/* The allocation functions, added to the module by module.c. */
extern PyMethodDef pmt_alloc_methods[];

#endif /* PMT_ALLOC_H */
