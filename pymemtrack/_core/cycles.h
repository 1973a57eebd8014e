/* Cyclic garbage found without collecting it: the collector's reasoning
   replayed on a side table, the garbage grouped into cycles. */
#ifndef PMT_CYCLES_H
#define PMT_CYCLES_H

#include "compat.h"

/* Flags per garbage object, in the bytes that garbage_cycles() returns. */
#define PMT_CYC_FINALIZE 1       /* its type has tp_finalize (__del__ or C) */
#define PMT_CYC_LEGACY 2         /* its type has a legacy tp_del */
#define PMT_CYC_FINALIZED 4      /* its finalizer already ran (resurrected) */
#define PMT_CYC_UNCOLLECTABLE 8  /* a tp_del object reaches it: gc keeps it */
#define PMT_CYC_MEMBER 16        /* in the loop itself, not only kept by it */

/* garbage_cycles() and its allocation-failure test hook, added by module.c. */
extern PyMethodDef pmt_cycles_methods[];

#endif /* PMT_CYCLES_H */
