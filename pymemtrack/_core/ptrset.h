/* A set of non-zero 64-bit keys (object addresses, fingerprints) in raw
   memory: open addressing with linear probing, no Python objects, safe to
   use inside heap walks. */
#ifndef PMT_PTRSET_H
#define PMT_PTRSET_H

#include "compat.h"

typedef struct {
    uint64_t *slots;        /* 0 marks an empty slot */
    size_t mask;            /* capacity - 1 (capacity is a power of two) */
    size_t used;
} pmt_ptrset;

/* Empties s without allocating. */
void pmt_ptrset_init(pmt_ptrset *s);

/* Frees the slots; s is empty (and reusable) afterwards. */
void pmt_ptrset_clear(pmt_ptrset *s);

/* Adds key (non-zero): 1 if it was new, 0 if already present, -1 with
   MemoryError when the table could not grow (the key is then not added). */
int pmt_ptrset_add(pmt_ptrset *s, uint64_t key);

/* 1 if key is in s, else 0. */
int pmt_ptrset_has(const pmt_ptrset *s, uint64_t key);

/* Bytes of raw memory s holds. */
size_t pmt_ptrset_bytes(const pmt_ptrset *s);

/* The key of an object address (non-zero for any object). */
static inline uint64_t
pmt_ptrkey(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* The same table with a 64-bit value per key. */
typedef struct {
    uint64_t *keys;         /* 0 marks an empty slot */
    uint64_t *values;
    size_t mask;
    size_t used;
} pmt_ptrmap;

/* Empties m without allocating. */
void pmt_ptrmap_init(pmt_ptrmap *m);

/* Frees the slots; m is empty afterwards. */
void pmt_ptrmap_clear(pmt_ptrmap *m);

/* Sets key (non-zero) to value. 0, or -1 with MemoryError (m unchanged). */
int pmt_ptrmap_put(pmt_ptrmap *m, uint64_t key, uint64_t value);

/* The slot holding key, or -1 when absent; m->values[slot] may be written. */
Py_ssize_t pmt_ptrmap_find(const pmt_ptrmap *m, uint64_t key);

#endif /* PMT_PTRSET_H */
