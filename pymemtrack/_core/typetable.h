/* Per-type counters keyed by type pointer, filled by one walk. */
#ifndef PMT_TYPETABLE_H
#define PMT_TYPETABLE_H

#include "pmt_hash.h"

typedef struct pmt_typestat {
    PyTypeObject *type;     /* key; the table holds a strong reference */
    Py_ssize_t count;       /* objects of exactly this type */
    Py_ssize_t size;        /* their bytes, when the walk measures sizes */
    int flag;               /* free for the caller (e.g. "name matches") */
    int size_kind;          /* sizes.c: how its objects are sized (0: not decided) */
    Py_ssize_t size_pre;    /* sizes.c: bytes sys.getsizeof adds before each object */
    PyCFunction size_fn;    /* sizes.c: the C __sizeof__ it calls directly, if any */
    UT_hash_handle hh;
} pmt_typestat;

#define PMT_TYPE_CACHE 512  /* direct-mapped cache in front of the hash */

typedef struct pmt_typetable {
    pmt_typestat *head;                     /* uthash head */
    pmt_typestat *cache[PMT_TYPE_CACHE];
    Py_ssize_t ntypes;
    Py_ssize_t total_count;
    Py_ssize_t total_size;
} pmt_typetable;

/* Empties t (no allocation). */
void pmt_types_init(pmt_typetable *t);

/* Frees every entry and drops the type references; may run arbitrary code
   (a type that dies runs its deallocator), so call it outside walks. */
void pmt_types_clear(pmt_typetable *t);

/* pmt_types_find() past the cache (borrowed entry or NULL); fills the cache. */
pmt_typestat *pmt_types_find_slow(pmt_typetable *t, PyTypeObject *tp);

/* pmt_types_get() past the cache: finds or creates the entry (borrowed;
   NULL with MemoryError). */
pmt_typestat *pmt_types_get_slow(pmt_typetable *t, PyTypeObject *tp);

/* The cache slot of tp. */
static inline size_t
pmt_types_cache_slot(PyTypeObject *tp)
{
    return ((uintptr_t)tp >> 4) % PMT_TYPE_CACHE;
}

/* The entry for tp if present (borrowed), else NULL. Inline: walks call it
   once per object, and the cache answers almost every time. */
static inline pmt_typestat *
pmt_types_find(pmt_typetable *t, PyTypeObject *tp)
{
    pmt_typestat *e = t->cache[pmt_types_cache_slot(tp)];
    return e != NULL && e->type == tp ? e : pmt_types_find_slow(t, tp);
}

/* The entry for tp, created (count 0, type held) if missing. Borrowed;
   NULL with MemoryError. Allocates no Python object: safe inside a walk. */
static inline pmt_typestat *
pmt_types_get(pmt_typetable *t, PyTypeObject *tp)
{
    pmt_typestat *e = t->cache[pmt_types_cache_slot(tp)];
    return e != NULL && e->type == tp ? e : pmt_types_get_slow(t, tp);
}

/* Counts every GC-tracked object into t. 0, or -1 with an exception. */
int pmt_types_from_heap(pmt_typetable *t);

/* Counts the objects of an iterable (objects=...) into t, keeping those for
   which filter(obj) is true when filter is not NULL/None. 0 or -1. */
int pmt_types_from_iterable(pmt_typetable *t, PyObject *iterable, PyObject *filter);

#endif /* PMT_TYPETABLE_H */
