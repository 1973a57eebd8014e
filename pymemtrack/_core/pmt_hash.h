/* The one way pymemtrack includes uthash: memory from pmt_raw_* (rawmem.h), and an
   out-of-memory that sets a flag (turned into MemoryError) instead of exit(). */
#ifndef PMT_HASH_H
#define PMT_HASH_H

#include "compat.h"

/* Set to 1 by uthash when an insertion could not allocate; the element is
   then not in the table. Defined in typetable.c; reset it before each add. */
extern int pmt_hash_oom;

#define uthash_malloc(sz) pmt_raw_malloc(sz)
#define uthash_free(ptr, sz) pmt_raw_free(ptr)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(elt) (pmt_hash_oom = 1)

#include <uthash.h>

#endif /* PMT_HASH_H */
