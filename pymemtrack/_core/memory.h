/* Process memory as the OS and the allocators see it: RSS, glibc malloc
   (mallinfo2) and pymalloc figures, and malloc_trim. Only real figures:
   what the platform cannot say is None. */
#ifndef PMT_MEMORY_H
#define PMT_MEMORY_H

#include "compat.h"

/* memory_stats() and malloc_trim(), added to the module by module.c. */
extern PyMethodDef pmt_memory_methods[];

#endif /* PMT_MEMORY_H */
