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

uint8_t *
pmt_pagemap_page_slow(pmt_pagemap *m, uintptr_t addr, int create)
{
    uint64_t key = (uint64_t)(addr >> PMT_PAGE_SHIFT) + 1;
    size_t c = (size_t)(key % PMT_PAGE_CACHE);
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

size_t
pmt_pagemap_bytes(const pmt_pagemap *m)
{
    size_t table = m->pages.keys == NULL ? 0 : (m->pages.mask + 1) * 2 * sizeof(uint64_t);
    return m->npages * page_bytes(m) + table;
}
