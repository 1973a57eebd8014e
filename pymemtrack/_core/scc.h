/* Garbage grouped into cycles: strongly connected components (iterative
   Tarjan), each object outside a loop given to one loop, finalizer flags. */
#ifndef PMT_SCC_H
#define PMT_SCC_H

#include "garbage.h"

/* Flags per garbage object, in the bytes that garbage_cycles() returns. */
#define PMT_CYC_FINALIZE 1       /* its type has tp_finalize (__del__ or C) */
#define PMT_CYC_LEGACY 2         /* its type has a legacy tp_del */
#define PMT_CYC_FINALIZED 4      /* its finalizer already ran (resurrected) */
#define PMT_CYC_UNCOLLECTABLE 8  /* a tp_del object reaches it: gc keeps it */
#define PMT_CYC_MEMBER 16        /* in the loop itself, not only kept by it */

/* Groups c's garbage subgraph: c->out/gstart/gmembers/gcycle/ngroups, c->owner
   and c->flags. Each loop (a component of 2+ nodes, or 1 with an edge to
   itself) comes with what only it keeps alive: an object outside every loop
   goes to the first loop, in topological order (a loop before the loops it
   reaches), that reaches it without passing through another loop. 0, or
   -1 with c->oom. */
int pmt_scc_group(pmt_cyc *c);

/* Adds PMT_CYC_FINALIZED to c->flags. The collector keeps that bit in the GC
   header's _gc_prev, so this runs once pmt_garbage_free_heap() has put the
   headers back. */
void pmt_scc_finalized(pmt_cyc *c);

#endif /* PMT_SCC_H */
