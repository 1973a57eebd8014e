/* Every raw (non-object) allocation pymemtrack makes, in one place: counted,
   and failable on demand so tests can drive every out-of-memory path.

   THE RULE for every C file in pymemtrack/_core (tests/test_mempressure.py
   greps for it): never call PyMem_RawMalloc/Calloc/Realloc/Free directly;
   call pmt_raw_malloc/calloc/realloc/free instead (same arguments, same
   semantics). uthash goes through them too (pmt_hash.h). A block from one
   family must be freed by the same family, or _raw_blocks() drifts. compat.h
   includes this header, so the replacement is a plain rename. */
#ifndef PMT_RAWMEM_H
#define PMT_RAWMEM_H

#include "compat.h"

/* PyMem_RawMalloc, unless the fault injector fails this one (NULL). */
void *pmt_raw_malloc(size_t size);

/* PyMem_RawCalloc, unless the fault injector fails this one (NULL). */
void *pmt_raw_calloc(size_t nelem, size_t elsize);

/* PyMem_RawRealloc, unless the fault injector fails this one (NULL; ptr is
   then untouched and still owned by the caller). */
void *pmt_raw_realloc(void *ptr, size_t size);

/* PyMem_RawFree; NULL is a no-op. */
void pmt_raw_free(void *ptr);

/* A hint for a block about to be written all over: on Linux its 2 MiB-
   aligned interior is backed by transparent huge pages (MADV_HUGEPAGE), so
   a pass over a fresh block takes one page fault per 2 MiB instead of one
   per 4 KiB. Nothing is allocated; elsewhere, or when it fails, a no-op. */
void pmt_raw_advise_huge(void *ptr, size_t size);

/* The test-only functions _fail_after() and _raw_blocks(), added to the
   module by module.c. */
extern PyMethodDef pmt_rawmem_methods[];

#endif /* PMT_RAWMEM_H */
