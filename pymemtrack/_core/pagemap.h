/* Sets of object addresses as bitmaps (or tag bytes) over 16 KiB pages of
   address space, found through a small page table with a direct-mapped
   cache: neighbouring objects share a page, so a deep walk tests and sets
   membership with few cache misses, where a hash set over millions of
   addresses misses on almost every probe. Raw memory only; safe inside
   heap walks. Memory grows with the address span the objects cover (1 bit,
   or 1 byte, per 8 bytes of it), not with their number. */
#ifndef PMT_PAGEMAP_H
#define PMT_PAGEMAP_H

#include "ptrset.h"

#define PMT_PAGE_SHIFT 14           /* 16 KiB of address space per page */
#define PMT_SLOT_SHIFT 3            /* one slot per 8 bytes (objects are 8-aligned) */
#define PMT_PAGE_CACHE 64

typedef struct {
    pmt_ptrmap pages;               /* page number + 1 -> uint8_t * (owned) */
    uint64_t cache_key[PMT_PAGE_CACHE];
    uint8_t *cache_page[PMT_PAGE_CACHE];
    int tagged;                     /* 1 byte per slot, else 1 bit */
    size_t npages;
} pmt_pagemap;

/* Empties m; tagged chooses a byte per slot (pmt_pagemap_tag) over a bit. */
void pmt_pagemap_init(pmt_pagemap *m, int tagged);

/* Frees every page; m is empty afterwards. */
void pmt_pagemap_clear(pmt_pagemap *m);

/* Bit maps: adds p; 1 if it was new, 0 if present, -1 with MemoryError. */
int pmt_pagemap_add(pmt_pagemap *m, const void *p);

/* Bit maps: 1 if p is present, else 0. */
int pmt_pagemap_has(pmt_pagemap *m, const void *p);

/* Bit maps: removes p; 1 if it was present, else 0. */
int pmt_pagemap_discard(pmt_pagemap *m, const void *p);

/* Tag maps: stores tag (1-255) for p. 0, or -1 with MemoryError. */
int pmt_pagemap_set_tag(pmt_pagemap *m, const void *p, uint8_t tag);

/* Tag maps: the tag stored for p, 0 when none. */
uint8_t pmt_pagemap_tag(pmt_pagemap *m, const void *p);

/* Bytes of raw memory m holds. */
size_t pmt_pagemap_bytes(const pmt_pagemap *m);

/* A tag (1-255) for a type, so that a tag map tells objects of another type
   at a reused address apart (255 times in 256). */
static inline uint8_t
pmt_type_tag(PyTypeObject *tp)
{
    uint64_t h = (uint64_t)(uintptr_t)tp * UINT64_C(0x9E3779B97F4A7C15);
    return (uint8_t)(1 + (h >> 40) % 255);
}

#endif /* PMT_PAGEMAP_H */
