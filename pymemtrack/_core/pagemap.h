/* Sets of object addresses as bitmaps (or tag bytes) over 64 KiB pages of
   address space, found through a small page table with a direct-mapped
   cache: neighbouring objects share a page, so a deep walk tests and sets
   membership with few cache misses, where a hash set over millions of
   addresses misses on almost every probe. Raw memory only; safe inside
   heap walks. Memory grows with the address span the objects cover (1 bit,
   or 1 byte, per 16 bytes of it on 64-bit builds), not with their number. */
#ifndef PMT_PAGEMAP_H
#define PMT_PAGEMAP_H

#include "ptrset.h"

#define PMT_PAGE_SHIFT 16           /* 64 KiB of address space per page */
/* One slot per sizeof(PyObject) bytes (16 on 64-bit builds): no object is
   smaller than its header, so two objects never start in the same slot,
   however they are aligned. */
#if SIZEOF_VOID_P >= 8
#  define PMT_SLOT_SHIFT 4
#else
#  define PMT_SLOT_SHIFT 3
#endif
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

/* The page (bitmap or tag bytes) for address addr past the cache: created
   when create is set (NULL with MemoryError on failure), else NULL when
   absent; the cache then holds it. */
uint8_t *pmt_pagemap_page_slow(pmt_pagemap *m, uintptr_t addr, int create);

/* The page for addr, as pmt_pagemap_page_slow(). Inline, as are the set
   operations below: a deep walk calls them per object, and the cache
   answers almost every time. */
static inline uint8_t *
pmt_pagemap_page(pmt_pagemap *m, uintptr_t addr, int create)
{
    uint64_t key = (uint64_t)(addr >> PMT_PAGE_SHIFT) + 1;
    size_t c = (size_t)(key % PMT_PAGE_CACHE);
    if (m->cache_key[c] == key) {
        return m->cache_page[c];
    }
    return pmt_pagemap_page_slow(m, addr, create);
}

/* The slot of addr in its page. */
static inline size_t
pmt_pagemap_slot(uintptr_t addr)
{
    return (size_t)(addr >> PMT_SLOT_SHIFT)
           & (((size_t)1 << (PMT_PAGE_SHIFT - PMT_SLOT_SHIFT)) - 1);
}

/* Bit maps: the byte that holds p's bit, with the bit in *bit; NULL as
   pmt_pagemap_page() returns it (absent, or MemoryError when create). */
static inline uint8_t *
pmt_pagemap_bit(pmt_pagemap *m, const void *p, int create, uint8_t *bit)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = pmt_pagemap_page(m, addr, create);
    if (page == NULL) {
        return NULL;
    }
    size_t s = pmt_pagemap_slot(addr);
    *bit = (uint8_t)(1u << (s & 7));
    return page + (s >> 3);
}

/* Bit maps: adds p; 1 if it was new, 0 if present, -1 with MemoryError. */
static inline int
pmt_pagemap_add(pmt_pagemap *m, const void *p)
{
    uint8_t bit;
    uint8_t *byte = pmt_pagemap_bit(m, p, 1, &bit);
    if (byte == NULL) {
        return -1;
    }
    if (*byte & bit) {
        return 0;
    }
    *byte |= bit;
    return 1;
}

/* Bit maps: 1 if p is present, else 0. */
static inline int
pmt_pagemap_has(pmt_pagemap *m, const void *p)
{
    uint8_t bit;
    uint8_t *byte = pmt_pagemap_bit(m, p, 0, &bit);
    return byte != NULL && (*byte & bit) != 0;
}

/* Bit maps: removes p; 1 if it was present, else 0. */
static inline int
pmt_pagemap_discard(pmt_pagemap *m, const void *p)
{
    uint8_t bit;
    uint8_t *byte = pmt_pagemap_bit(m, p, 0, &bit);
    if (byte == NULL || !(*byte & bit)) {
        return 0;
    }
    *byte &= (uint8_t)~bit;
    return 1;
}

/* Tag maps: stores tag (1-255) for p. 0, or -1 with MemoryError. */
static inline int
pmt_pagemap_set_tag(pmt_pagemap *m, const void *p, uint8_t tag)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = pmt_pagemap_page(m, addr, 1);
    if (page == NULL) {
        return -1;
    }
    page[pmt_pagemap_slot(addr)] = tag;
    return 0;
}

/* Tag maps: the tag stored for p, 0 when none. */
static inline uint8_t
pmt_pagemap_tag(pmt_pagemap *m, const void *p)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = pmt_pagemap_page(m, addr, 0);
    return page == NULL ? 0 : page[pmt_pagemap_slot(addr)];
}

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
