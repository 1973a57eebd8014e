/* Finding cyclic garbage without collecting it: the side table, the
   subtract and reach passes, the garbage subgraph, and the side memory they
   use. The algorithm is described at the top of garbage.c. */
#ifndef PMT_GARBAGE_H
#define PMT_GARBAGE_H

#include "compat.h"

#define PMT_CYC_MAX_ANOMALIES 16      /* distinct (traverser type) reported */
#define PMT_CYC_RING 32               /* referents prefetched ahead of their lookup */

/* A referent of garbage outside the table (not a GC object, untracked, or
   frozen), or one inside it (group PMT_CYC_IN_TABLE: not counted). */
typedef struct {
    PyObject *op;                     /* NULL marks an empty slot */
    Py_ssize_t visits;                /* references from garbage objects */
    Py_ssize_t group;                 /* the group they come from; -1: several */
} pmt_cyc_owned;

#define PMT_CYC_IN_TABLE (-2)         /* pmt_cyc_owned.group of a walked GC object */

/* A walked object whose header's real word is not the link to the object
   in the slot before it (see garbage.c). */
typedef struct {
    Py_ssize_t k;
    uintptr_t word;
} pmt_cyc_unlinked;

/* The state of one analysis; zero it, run pmt_garbage_find(), then
   pmt_scc_group(), pmt_garbage_owned(); pmt_garbage_clear() frees it all. */
typedef struct {
    /* side memory accounting */
    size_t bytes, peak;
    int oom;                          /* an allocation failed, MemoryError not raised yet */

    /* 1-2: the walked objects by slot k; the table is in their GC headers
       (see garbage.c). The walk meets each collector list from both ends:
       slots [0, nfront) hold the objects met from the front, [back, n) those
       met from the back, and [nfront, back) are free. */
    PyObject **order;
    Py_ssize_t n;                     /* slots in order (the bound of every k) */
    Py_ssize_t nfront, back;
    Py_ssize_t nobjects;              /* walked: nfront + n - back */
    int marked;                       /* their headers are marked now */
    int overflow;                     /* the walk found no free slot: walk again */
    pmt_cyc_unlinked *unlinked;       /* front slots, ascending k */
    Py_ssize_t nunlinked, unlinked_cap;
    pmt_cyc_unlinked *unlinked_back;  /* back slots, descending k */
    Py_ssize_t nunlinked_back, unlinked_back_cap;
    int pending;                      /* pend: the back slot filled last, */
    pmt_cyc_unlinked pend;            /* linked or not (the next one says) */
    int too_many;                     /* 2**31 GC objects or 2**32 references:
                                         OverflowError, not raised yet */

    /* 3: referents given by tp_traverse wait in a ring, their headers
       prefetched, and are looked up PMT_CYC_RING referents later, so the
       cache misses overlap instead of queueing */
    PyObject *ring[PMT_CYC_RING];
    uint32_t ringsrc[PMT_CYC_RING];   /* the object whose tp_traverse gave it */
    int nring, ringhead;              /* how many wait, from which slot */
    uint32_t curk;                    /* the object whose tp_traverse runs */
    uint32_t *hoff;                   /* n + 1 offsets into hedges, by k */
    uint32_t *hedges;                 /* target k of each reference */
    Py_ssize_t hne, hecap;
    PyTypeObject *bad_src[PMT_CYC_MAX_ANOMALIES], *bad_dst[PMT_CYC_MAX_ANOMALIES];
    int nbad;
    Py_ssize_t nnegative;

    /* 4 */
    uint64_t *alive;                  /* a bit by k */
    Py_ssize_t nreached;
    PyObject *holder;                 /* its references do not keep alive */
    uint32_t holder_k;

    /* 5: the garbage subgraph, nodes 0..G-1 in slot order */
    Py_ssize_t G;
    PyObject **gop;
    uint32_t *gk;                     /* walk index of each node, ascending */
    Py_ssize_t *eoff;                 /* G + 1 offsets into edges */
    Py_ssize_t *edges;
    Py_ssize_t ne, ecap;
    Py_ssize_t *comp;                 /* component of each node */
    Py_ssize_t ncomp;
    Py_ssize_t *out;                  /* nodes in group order */
    Py_ssize_t *owner;                /* group of each node */
    Py_ssize_t *gstart, *gmembers;    /* per group: first index in out, loop size */
    char *gcycle;                     /* per group: a real loop (else a lone head) */
    Py_ssize_t ngroups;
    unsigned char *flags;             /* per node */

    /* the garbage's referents: what only one group refers to, among those
       outside the table; those inside it are entered by step 6 */
    pmt_cyc_owned *owned;
    size_t owned_cap, owned_used;
    Py_ssize_t cur_group;
    PyObject **owned_list;            /* group after group */
    Py_ssize_t nowned;
    Py_ssize_t *owned_start;          /* ngroups + 1 offsets into owned_list */
} pmt_cyc;

/* The table lives in the GC headers of the walked objects. From the table
   build until pmt_garbage_find() (or, on its failure, pmt_garbage_free_heap())
   puts them back, no Python object may be created or freed and no Python
   code may run (not even PyErr_NoMemory(), which makes an exception object):
   a step that cannot allocate sets c->oom and returns -1, and the caller
   raises MemoryError after pmt_garbage_free_heap() (pmt_garbage_raise()). */

/* Steps 1-5: walks the heap marking the headers, finds the garbage, puts
   the headers back and builds the garbage subgraph (c->G nodes in walk
   order, c->gop borrowed). Runs no Python code; the caller disables the
   collector. 0, or -1 with c->oom or c->too_many (the headers may still be
   marked: pmt_garbage_free_heap() puts them back). */
int pmt_garbage_find(pmt_cyc *c);

/* Fills c->owned_list/owned_start: objects outside the table that only one
   group refers to (needs c->owner from pmt_scc_group). 0, or -1 with c->oom. */
int pmt_garbage_owned(pmt_cyc *c);

/* Puts back every header still marked, then frees the heap-sized arrays
   (slots, edges, bits); the garbage stays. Safe to call again. */
void pmt_garbage_free_heap(pmt_cyc *c);

/* Raises what a failed step recorded in c (c->oom, c->too_many); call it
   after pmt_garbage_free_heap(). */
void pmt_garbage_raise(const pmt_cyc *c);

/* Frees everything c owns (it holds no Python references). */
void pmt_garbage_clear(pmt_cyc *c);

/* Test hook: the n-th side allocation from now fails (0: never). */
void pmt_garbage_fail_after(Py_ssize_t n);

/* Side memory: accounted in c->bytes/c->peak, NULL on failure (no exception set). */
void *pmt_cyc_calloc(pmt_cyc *c, size_t count, size_t size);

/* Frees p, of the given size, allocated by pmt_cyc_calloc/pmt_cyc_grow. */
void pmt_cyc_free(pmt_cyc *c, void *p, size_t bytes);

/* Grows *arr (elem-sized items, *cap of them) to hold need items. 0 or -1. */
int pmt_cyc_grow(pmt_cyc *c, void **arr, Py_ssize_t *cap, Py_ssize_t need, size_t elem);

#endif /* PMT_GARBAGE_H */
