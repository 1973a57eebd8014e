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

/* Called by pmt_walk_heap_ends() for each tracked object (borrowed), with
   from_back 0 for an object met from the front of its collector list (in
   list order) and 1 for one met from the back (in reverse list order).
   The same rules as pmt_visit_fn, and one freedom more: it may overwrite
   op's _gc_prev, as the walk reads the link to the next object from the
   back before the call (it must put the word back before the collector or
   any other walk runs; garbage.c does). */
typedef int (*pmt_visit_end_fn)(PyObject *op, int from_back, void *arg);

/* Each collector list in turn, from both ends at once as
   pmt_walk_heap_unordered() does, saying which end each object was met
   from: for each list, the objects met from the front come in list order,
   those met from the back in reverse list order, and they meet once.
   Where that walk is not available, every object in gc.get_objects() order,
   all from the front. Returns 0, or -1 with an exception set. */
int pmt_walk_heap_ends(pmt_visit_end_fn visit, void *arg);

/* Test hook: how many objects in the collector's lists have a _gc_prev that
   is not the link to the one before them (0 when all are intact), or -1
   where the lists cannot be read (3.14+, free-threaded builds). */
Py_ssize_t pmt_gc_broken_links(void);

/* gc.get_objects() (new reference, NULL with an exception): for walks that
   run Python code per object and so need the objects held. */
PyObject *pmt_gc_objects(void);

/* gc.get_freeze_count(): objects gc.freeze() hid from every walk; -1 on error. */
Py_ssize_t pmt_gc_freeze_count(void);

#endif /* PMT_WALK_H */
