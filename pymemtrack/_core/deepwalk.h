/* Walks with options: every GC-tracked object and, when deep, every object
   reachable from them through tp_traverse that the GC does not track
   (untracked containers, non-GC objects such as str, int, float, bytes),
   each visited once, with an explicit stack and raw-memory tables only.

   Still invisible, deep or not: objects referenced only from C globals or
   C locals (not from any GC object), objects referenced only by running
   functions' local variables (frames are not objects on 3.11+, and on 3.10
   the running frames are skipped when skip_stack is set), objects frozen by
   gc.freeze() and what only they reach, and memory no object owns. */
#ifndef PMT_DEEPWALK_H
#define PMT_DEEPWALK_H

#include "pagemap.h"
#include "walk.h"

typedef struct {
    int deep;                       /* also untracked objects reached by tp_traverse */
    PyObject *ignore;               /* NULL or a tuple: it and its items are neither
                                       visited nor traversed */
    int skip_stack;                 /* skip the calling thread's running frames (3.10,
                                       where they are GC objects) */
    PyObject *const *skip_types;    /* NULL or NULL-terminated exact heap types not
                                       visited */
} pmt_walk_opts;

/* Calls visit(op, arg) once for each object the options select, in no
   particular order, under the rules of pmt_walk_heap (the visitor creates
   and runs no Python objects or code). Returns 0, or -1 with an exception
   set. */
int pmt_walk_objects(const pmt_walk_opts *opts, pmt_visit_fn visit, void *arg);

/* Fills out[0..max-1] with the module's own non-GC types (Snapshot,
   Partition, HeapReference, IdMap; new references) followed by NULL, so that
   deep walks do not count pymemtrack's own bookkeeping. 0 or -1. */
int pmt_own_types(PyObject *module, PyObject **out, int max);

/* Drops the references pmt_own_types() stored. */
void pmt_own_types_clear(PyObject **types);

#endif /* PMT_DEEPWALK_H */
