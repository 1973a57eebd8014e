/* A reverse-reference index over the GC heap: every edge between GC-tracked
   objects, recorded in one tp_traverse pass into flat arrays. Lives inside
   one C call: built, queried, freed, with the collector disabled throughout. */
#ifndef PMT_REFINDEX_H
#define PMT_REFINDEX_H

#include "compat.h"   /* Python.h first; it brings stdint.h */

/* A node: the dense index of an object in the index (0 .. n-1). */
typedef uint32_t pmt_node;
#define PMT_NO_NODE UINT32_MAX

/* One slot of the map: an object address (0: empty) and its node. */
typedef struct pmt_slot {
    uintptr_t key;
    pmt_node node;
} pmt_slot;

/* An open-addressing map (linear probing) from object address to node, in raw memory. */
typedef struct pmt_ptrmap {
    pmt_slot *slots;
    size_t cap;             /* any size: slots are picked by multiply-shift */
    Py_ssize_t len;
} pmt_ptrmap;

/* Empties m with room for n keys at load <= 0.6. 0, or -1 with MemoryError. */
int pmt_ptrmap_init(pmt_ptrmap *m, Py_ssize_t n);

/* The node stored for op, or PMT_NO_NODE. */
pmt_node pmt_ptrmap_get(const pmt_ptrmap *m, const void *op);

/* Stores op -> node (op must not be present); grows past load 0.6.
   0, or -1 with MemoryError. */
int pmt_ptrmap_put(pmt_ptrmap *m, const void *op, pmt_node node);

/* Frees the slots. */
void pmt_ptrmap_free(pmt_ptrmap *m);

typedef struct pmt_refindex {
    Py_ssize_t n;           /* nodes: the GC-tracked objects, then the extras */
    Py_ssize_t ntracked;    /* nodes 0 .. ntracked-1 are the tracked objects, heap order */
    Py_ssize_t nedges;      /* edges between nodes, a repeated reference counted again */
    PyObject **objs;        /* node -> object, held: by the index (3.12+) or by holder */
    PyObject *holder;       /* 3.10/3.11: the gc.get_objects() list, extras appended */
    Py_ssize_t objscap;
    uint32_t *roff;         /* n + 1 offsets into rsrc */
    pmt_node *rsrc;         /* referrers of v: rsrc[roff[v] .. roff[v+1]), ascending;
                               a repeated reference repeats its referrer */
    int gc_was_enabled;     /* restored by pmt_refindex_free */
    int built;
} pmt_refindex;

/* Builds the index over every GC-tracked object plus extra[0 .. nextra)
   (objects the query is about: untracked ones get nodes of their own), and
   sets extra_nodes[j] to the node of extra[j]. Disables the collector until
   pmt_refindex_free; the index holds a strong reference to every node, so
   Python code run by a query (a predicate) can free nothing it points to.
   0, or -1 with an exception; either way call pmt_refindex_free. */
int pmt_refindex_build(pmt_refindex *ix, PyObject *const *extra, Py_ssize_t nextra,
                       pmt_node *extra_nodes);

/* References to op not explained by edges from GC-tracked objects: its
   refcount less the index's own and its in-edges. Meaningful only before
   any Python code ran after the build; immortal objects report 0. */
Py_ssize_t pmt_refindex_unexplained(const pmt_refindex *ix, pmt_node v);

/* Drops the references (may run arbitrary code), frees the memory and
   re-enables the collector if it was enabled. Idempotent. */
void pmt_refindex_free(pmt_refindex *ix);

/* The addresses that ids (an iterable of ints, or NULL/None) yields, sorted,
   in raw memory the caller frees with PyMem_RawFree. 0 or -1 with an exception. */
int pmt_read_ids(PyObject *ids, const char *what, uintptr_t **out, Py_ssize_t *nout);

/* Whether addr is in the sorted array ids[0 .. n). */
int pmt_ids_contain(const uintptr_t *ids, Py_ssize_t n, const void *addr);

#endif /* PMT_REFINDEX_H */
