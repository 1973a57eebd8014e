/* A reverse-reference index over the GC heap: every edge between GC-tracked
   objects, recorded in one tp_traverse pass into flat arrays. Lives inside
   one C call: built, queried, freed, with the collector disabled throughout. */
#ifndef PMT_REFINDEX_H
#define PMT_REFINDEX_H

#include "compat.h"   /* Python.h first; it brings stdint.h */
#include "ptrset.h"

/* A node: the dense index of an object in the index (0 .. n-1). */
typedef uint32_t pmt_node;
#define PMT_NO_NODE UINT32_MAX

/* The node stored for op in m (a ptrset.h map from address to node), or
   PMT_NO_NODE. */
static inline pmt_node
pmt_node_of(const pmt_ptrmap *m, const void *op)
{
    Py_ssize_t slot = pmt_ptrmap_find(m, pmt_ptrkey(op));
    return slot < 0 ? PMT_NO_NODE : (pmt_node)m->values[slot];
}

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
   in raw memory the caller frees with pmt_raw_free. 0 or -1 with an exception.
   An item that is not an int raises TypeError, or with skip_non_ints is
   skipped (it can never equal an id()). */
int pmt_read_ids(PyObject *ids, const char *what, uintptr_t **out, Py_ssize_t *nout);
int pmt_read_ids_ex(PyObject *ids, const char *what, int skip_non_ints,
                    uintptr_t **out, Py_ssize_t *nout);

/* Whether addr is in the sorted array ids[0 .. n). */
int pmt_ids_contain(const uintptr_t *ids, Py_ssize_t n, const void *addr);

#endif /* PMT_REFINDEX_H */
