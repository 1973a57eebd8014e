/* Page bitmaps (and tag bytes) for address sets; see pagemap.h. */
#include "pagemap.h"

#define SLOTS_PER_PAGE ((size_t)1 << (PMT_PAGE_SHIFT - PMT_SLOT_SHIFT))

static inline size_t
page_bytes(const pmt_pagemap *m)
{
    return m->tagged ? SLOTS_PER_PAGE : SLOTS_PER_PAGE / 8;
}

void
pmt_pagemap_init(pmt_pagemap *m, int tagged)
{
    memset(m, 0, sizeof(*m));
    pmt_ptrmap_init(&m->pages);
    m->tagged = tagged;
}

void
pmt_pagemap_clear(pmt_pagemap *m)
{
    if (m->pages.keys != NULL) {
        for (size_t i = 0; i <= m->pages.mask; i++) {
            if (m->pages.keys[i] != 0) {
                pmt_raw_free((void *)(uintptr_t)m->pages.values[i]);
            }
        }
    }
    pmt_ptrmap_clear(&m->pages);
    pmt_pagemap_init(m, m->tagged);
}

/* The page holding p; created when create is set (NULL with MemoryError
   on failure), else NULL when absent. */
static inline uint8_t *
page_of(pmt_pagemap *m, uintptr_t addr, int create)
{
    uint64_t key = (uint64_t)(addr >> PMT_PAGE_SHIFT) + 1;
    size_t c = (size_t)(key % PMT_PAGE_CACHE);
    if (m->cache_key[c] == key) {
        return m->cache_page[c];
    }
    uint8_t *page;
    Py_ssize_t slot = pmt_ptrmap_find(&m->pages, key);
    if (slot >= 0) {
        page = (uint8_t *)(uintptr_t)m->pages.values[slot];
    }
    else {
        if (!create) {
            return NULL;
        }
        page = pmt_raw_calloc(1, page_bytes(m));
        if (page == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        if (pmt_ptrmap_put(&m->pages, key, (uint64_t)(uintptr_t)page) < 0) {
            pmt_raw_free(page);
            return NULL;
        }
        m->npages++;
    }
    m->cache_key[c] = key;
    m->cache_page[c] = page;
    return page;
}

static inline size_t
slot_in_page(uintptr_t addr)
{
    return (size_t)(addr >> PMT_SLOT_SHIFT) & (SLOTS_PER_PAGE - 1);
}

int
pmt_pagemap_add(pmt_pagemap *m, const void *p)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = page_of(m, addr, 1);
    if (page == NULL) {
        return -1;
    }
    size_t s = slot_in_page(addr);
    uint8_t bit = (uint8_t)(1u << (s & 7));
    if (page[s >> 3] & bit) {
        return 0;
    }
    page[s >> 3] |= bit;
    return 1;
}

int
pmt_pagemap_has(pmt_pagemap *m, const void *p)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = page_of(m, addr, 0);
    if (page == NULL) {
        return 0;
    }
    size_t s = slot_in_page(addr);
    return (page[s >> 3] >> (s & 7)) & 1;
}

int
pmt_pagemap_discard(pmt_pagemap *m, const void *p)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = page_of(m, addr, 0);
    if (page == NULL) {
        return 0;
    }
    size_t s = slot_in_page(addr);
    uint8_t bit = (uint8_t)(1u << (s & 7));
    int had = (page[s >> 3] & bit) != 0;
    page[s >> 3] &= (uint8_t)~bit;
    return had;
}

int
pmt_pagemap_set_tag(pmt_pagemap *m, const void *p, uint8_t tag)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = page_of(m, addr, 1);
    if (page == NULL) {
        return -1;
    }
    page[slot_in_page(addr)] = tag;
    return 0;
}

uint8_t
pmt_pagemap_tag(pmt_pagemap *m, const void *p)
{
    uintptr_t addr = (uintptr_t)p;
    uint8_t *page = page_of(m, addr, 0);
    return page == NULL ? 0 : page[slot_in_page(addr)];
}

size_t
pmt_pagemap_bytes(const pmt_pagemap *m)
{
    size_t table = m->pages.keys == NULL ? 0 : (m->pages.mask + 1) * 2 * sizeof(uint64_t);
    return m->npages * page_bytes(m) + table;
}
