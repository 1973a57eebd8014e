/* objgraph-compatible queries over the heap: typestats, count, by_type, at, at_addrs. */
#ifndef PMT_QUERY_H
#define PMT_QUERY_H

#include "compat.h"

/* The query functions, added to the module by module.c. */
extern PyMethodDef pmt_query_methods[];

#endif /* PMT_QUERY_H */
