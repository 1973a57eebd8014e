/* Snapshot: per-type counts (and bytes) of the heap at one moment. It holds
   type names, never types, and is not a GC object: it cannot keep a class
   alive and never appears in any walk, its own included. */
#ifndef PMT_SNAPSHOT_H
#define PMT_SNAPSHOT_H

#include "compat.h"

/* The Snapshot type spec; module.c creates the type from it. */
extern PyType_Spec pmt_snapshot_spec;

/* Seconds since the epoch, as a snapshot's timestamp records them. */
double pmt_now(void);

/* The Partition type spec (pymemtrack.heap()'s result): the same non-GC row
   storage, rows given in display order; module.c creates the type. */
extern PyType_Spec pmt_partition_spec;

#endif /* PMT_SNAPSHOT_H */
