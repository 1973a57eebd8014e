/* Walking every object the garbage collector tracks. */
#ifndef PMT_WALK_H
#define PMT_WALK_H

#include "compat.h"

/* Called for each tracked object (borrowed). Return 0 to go on, 1 to stop
   early, -1 to stop with an exception set. It must not create, free or run
   Python objects or code: on 3.12+ it runs inside the collector's own walk. */
typedef int (*pmt_visit_fn)(PyObject *op, void *arg);

/* Calls visit for every GC-tracked object, in gc.get_objects() order, with
   collection disabled. Returns 0, or -1 with an exception set. */
int pmt_walk_heap(pmt_visit_fn visit, void *arg);

/* pmt_walk_heap() in no particular order, for walks whose result does not
   depend on it: on 3.10-3.13 GIL builds each collector list is walked from
   both ends at once (two chains of cache misses that overlap, where one
   chain waits for each in turn); elsewhere pmt_walk_heap(). */
int pmt_walk_heap_unordered(pmt_visit_fn visit, void *arg);

/* gc.get_objects() (new reference, NULL with an exception): for walks that
   run Python code per object and so need the objects held. */
PyObject *pmt_gc_objects(void);

/* gc.get_freeze_count(): objects gc.freeze() hid from every walk; -1 on error. */
Py_ssize_t pmt_gc_freeze_count(void);

#endif /* PMT_WALK_H */
