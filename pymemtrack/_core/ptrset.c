/* Open-addressing set of 64-bit keys; grows at 3/4 load, Fibonacci hashing
   so that aligned addresses spread over the slots. */
#include "ptrset.h"

#define MIN_CAPACITY 1024

static inline size_t
slot_of(uint64_t key, size_t mask)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 20) & mask;
}

void
pmt_ptrset_init(pmt_ptrset *s)
{
    s->slots = NULL;
    s->mask = 0;
    s->used = 0;
}

void
pmt_ptrset_clear(pmt_ptrset *s)
{
    pmt_raw_free(s->slots);
    pmt_ptrset_init(s);
}

static void
insert_new(uint64_t *slots, size_t mask, uint64_t key)
{
    size_t i = slot_of(key, mask);
    while (slots[i] != 0) {
        i = (i + 1) & mask;
    }
    slots[i] = key;
}

static int
grow(pmt_ptrset *s)
{
    size_t cap = s->slots == NULL ? MIN_CAPACITY : (s->mask + 1) * 2;
    if (cap > PY_SSIZE_T_MAX / sizeof(uint64_t)) {
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *slots = pmt_raw_calloc(cap, sizeof(uint64_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (s->slots != NULL) {
        for (size_t i = 0; i <= s->mask; i++) {
            if (s->slots[i] != 0) {
                insert_new(slots, cap - 1, s->slots[i]);
            }
        }
        pmt_raw_free(s->slots);
    }
    s->slots = slots;
    s->mask = cap - 1;
    return 0;
}

int
pmt_ptrset_add(pmt_ptrset *s, uint64_t key)
{
    if (s->slots == NULL || (s->used + 1) * 4 > (s->mask + 1) * 3) {
        if (pmt_ptrset_has(s, key)) {
            return 0;
        }
        if (grow(s) < 0) {
            return -1;
        }
    }
    size_t i = slot_of(key, s->mask);
    while (s->slots[i] != 0) {
        if (s->slots[i] == key) {
            return 0;
        }
        i = (i + 1) & s->mask;
    }
    s->slots[i] = key;
    s->used++;
    return 1;
}

int
pmt_ptrset_has(const pmt_ptrset *s, uint64_t key)
{
    if (s->slots == NULL) {
        return 0;
    }
    size_t i = slot_of(key, s->mask);
    while (s->slots[i] != 0) {
        if (s->slots[i] == key) {
            return 1;
        }
        i = (i + 1) & s->mask;
    }
    return 0;
}

size_t
pmt_ptrset_bytes(const pmt_ptrset *s)
{
    return s->slots == NULL ? 0 : (s->mask + 1) * sizeof(uint64_t);
}

void
pmt_ptrmap_init(pmt_ptrmap *m)
{
    m->keys = NULL;
    m->values = NULL;
    m->mask = 0;
    m->used = 0;
}

void
pmt_ptrmap_clear(pmt_ptrmap *m)
{
    pmt_raw_free(m->keys);
    pmt_raw_free(m->values);
    pmt_ptrmap_init(m);
}

static int
map_grow(pmt_ptrmap *m)
{
    size_t cap = m->keys == NULL ? MIN_CAPACITY : (m->mask + 1) * 2;
    if (cap > PY_SSIZE_T_MAX / sizeof(uint64_t)) {
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *keys = pmt_raw_calloc(cap, sizeof(uint64_t));
    uint64_t *values = keys == NULL ? NULL : pmt_raw_malloc(cap * sizeof(uint64_t));
    if (values == NULL) {
        pmt_raw_free(keys);
        PyErr_NoMemory();
        return -1;
    }
    if (m->keys != NULL) {
        for (size_t i = 0; i <= m->mask; i++) {
            if (m->keys[i] != 0) {
                size_t j = slot_of(m->keys[i], cap - 1);
                while (keys[j] != 0) {
                    j = (j + 1) & (cap - 1);
                }
                keys[j] = m->keys[i];
                values[j] = m->values[i];
            }
        }
        pmt_raw_free(m->keys);
        pmt_raw_free(m->values);
    }
    m->keys = keys;
    m->values = values;
    m->mask = cap - 1;
    return 0;
}

Py_ssize_t
pmt_ptrmap_find(const pmt_ptrmap *m, uint64_t key)
{
    if (m->keys == NULL) {
        return -1;
    }
    size_t i = slot_of(key, m->mask);
    while (m->keys[i] != 0) {
        if (m->keys[i] == key) {
            return (Py_ssize_t)i;
        }
        i = (i + 1) & m->mask;
    }
    return -1;
}

int
pmt_ptrmap_put(pmt_ptrmap *m, uint64_t key, uint64_t value)
{
    Py_ssize_t found = pmt_ptrmap_find(m, key);
    if (found >= 0) {
        m->values[found] = value;
        return 0;
    }
    if ((m->used + 1) * 4 > (m->mask + 1) * 3 || m->keys == NULL) {
        if (map_grow(m) < 0) {
            return -1;
        }
    }
    size_t i = slot_of(key, m->mask);
    while (m->keys[i] != 0) {
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    m->values[i] = value;
    m->used++;
    return 0;
}
