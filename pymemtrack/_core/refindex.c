/* Reverse-reference index: one heap walk numbers the GC objects, one
   tp_traverse pass records every edge between them, and a counting sort
   turns the edges into per-object referrer lists (CSR). No recursion, no
   Python object created per object or edge. */
#include "refindex.h"
#include "walk.h"

#if defined(__GNUC__) || defined(__clang__)
#  define PMT_PREFETCH(p) __builtin_prefetch(p)
#else
#  define PMT_PREFETCH(p) ((void)0)
#endif

/* How many lookups ahead the loops prefetch hash slots: enough to keep
   several cache misses in flight at once. */
#define PMT_AHEAD 12

/* Referents gathered by tp_traverse before they are resolved together
   (a batch stays in cache; an object with more referents makes it bigger). */
#define PMT_BATCH 4096

/* ---- address -> node map ---------------------------------------------- */

static inline size_t
home_slot(size_t cap, uintptr_t key)
{
    /* Fibonacci hashing of the address without its alignment bits, mapped
       onto [0, cap) by a multiply-shift (cap < 2**32). */
    uint64_t h = (uint64_t)(key >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

static inline void
map_prefetch(const pmt_ptrmap *m, uintptr_t key)
{
    size_t i = home_slot(m->cap, key);
    PMT_PREFETCH(&m->keys[i]);
    PMT_PREFETCH(&m->nodes[i]);
}

static int
map_alloc(pmt_ptrmap *m, Py_ssize_t n)
{
    size_t cap = (size_t)n + (size_t)n * 2 / 3 + 16;
    if (cap >= ((size_t)1 << 32)) {
        PyErr_SetString(PyExc_MemoryError, "too many objects for the reference index");
        return -1;
    }
    m->keys = PyMem_RawCalloc(cap, sizeof(uintptr_t));
    m->nodes = PyMem_RawMalloc(cap * sizeof(pmt_node));
    if (m->keys == NULL || m->nodes == NULL) {
        PyMem_RawFree(m->keys);
        PyMem_RawFree(m->nodes);
        m->keys = NULL;
        m->nodes = NULL;
        PyErr_NoMemory();
        return -1;
    }
    m->cap = cap;
    m->len = 0;
    return 0;
}

int
pmt_ptrmap_init(pmt_ptrmap *m, Py_ssize_t n)
{
    memset(m, 0, sizeof(*m));
    return map_alloc(m, n);
}

static inline pmt_node
map_get(const pmt_ptrmap *m, uintptr_t key)
{
    size_t i = home_slot(m->cap, key);
    for (;;) {
        uintptr_t k = m->keys[i];
        if (k == key) {
            return m->nodes[i];
        }
        if (k == 0) {
            return PMT_NO_NODE;
        }
        if (++i == m->cap) {
            i = 0;
        }
    }
}

pmt_node
pmt_ptrmap_get(const pmt_ptrmap *m, const void *op)
{
    return map_get(m, (uintptr_t)op);
}

/* Inserts a key known to be absent; the map must have room. */
static void
map_insert(pmt_ptrmap *m, uintptr_t key, pmt_node node)
{
    size_t i = home_slot(m->cap, key);
    while (m->keys[i] != 0) {
        if (++i == m->cap) {
            i = 0;
        }
    }
    m->keys[i] = key;
    m->nodes[i] = node;
    m->len++;
}

int
pmt_ptrmap_put(pmt_ptrmap *m, const void *op, pmt_node node)
{
    if ((size_t)(m->len + 1) * 5 > m->cap * 3) {
        pmt_ptrmap bigger;
        if (map_alloc(&bigger, 2 * (m->len + 1)) < 0) {
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] != 0) {
                map_insert(&bigger, m->keys[i], m->nodes[i]);
            }
        }
        pmt_ptrmap_free(m);
        *m = bigger;
    }
    map_insert(m, (uintptr_t)op, node);
    return 0;
}

void
pmt_ptrmap_free(pmt_ptrmap *m)
{
    PyMem_RawFree(m->keys);
    PyMem_RawFree(m->nodes);
    memset(m, 0, sizeof(*m));
}

/* ---- collecting the nodes ------------------------------------------------ */

static int
too_many_objects(void)
{
    PyErr_SetString(PyExc_MemoryError, "too many objects for the reference index");
    return -1;
}

#if PMT_HAVE_GC_VISIT

static int
reserve_nodes(pmt_refindex *ix, Py_ssize_t need)
{
    if (need <= ix->objscap) {
        return 0;
    }
    if (need >= (Py_ssize_t)PMT_NO_NODE) {
        return too_many_objects();
    }
    Py_ssize_t cap = ix->objscap ? ix->objscap : 1 << 16;
    while (cap < need) {
        cap *= 2;
    }
    PyObject **objs = PyMem_RawRealloc(ix->objs, (size_t)cap * sizeof(PyObject *));
    if (objs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    ix->objs = objs;
    ix->objscap = cap;
    return 0;
}

/* Heap walk visitor: numbers the object and holds it (no Python object made). */
static int
collect_visit(PyObject *op, void *arg)
{
    pmt_refindex *ix = (pmt_refindex *)arg;
    if (reserve_nodes(ix, ix->n + 1) < 0) {
        return -1;
    }
    ix->objs[ix->n++] = Py_NewRef(op);
    return 0;
}

static int
walk_nodes(pmt_refindex *ix)
{
    return pmt_walk_heap(collect_visit, ix);
}

static int
add_extra(pmt_refindex *ix, PyObject *op)
{
    if (reserve_nodes(ix, ix->n + 1) < 0) {
        return -1;
    }
    ix->objs[ix->n++] = Py_NewRef(op);
    return 0;
}

#else

/* The gc.get_objects() list already holds every object: keep it as the
   index's holder and number its items in place. */
static int
walk_nodes(pmt_refindex *ix)
{
    ix->holder = pmt_gc_objects();
    if (ix->holder == NULL) {
        return -1;
    }
    ix->n = PyList_GET_SIZE(ix->holder);
    if (ix->n >= (Py_ssize_t)PMT_NO_NODE) {
        return too_many_objects();
    }
    ix->objs = PySequence_Fast_ITEMS(ix->holder);
    return 0;
}

static int
add_extra(pmt_refindex *ix, PyObject *op)
{
    if (ix->n + 1 >= (Py_ssize_t)PMT_NO_NODE) {
        return too_many_objects();
    }
    if (PyList_Append(ix->holder, op) < 0) {
        return -1;
    }
    ix->n++;
    ix->objs = PySequence_Fast_ITEMS(ix->holder);   /* may have moved */
    return 0;
}

#endif

static int
collect_nodes(pmt_refindex *ix, PyObject *const *extra, Py_ssize_t nextra)
{
    if (walk_nodes(ix) < 0) {
        return -1;
    }
    ix->ntracked = ix->n;
    if (pmt_ptrmap_init(&ix->map, ix->n + nextra) < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        if (i + PMT_AHEAD < ix->n) {
            map_prefetch(&ix->map, (uintptr_t)ix->objs[i + PMT_AHEAD]);
        }
        map_insert(&ix->map, (uintptr_t)ix->objs[i], (pmt_node)i);
    }
    for (Py_ssize_t j = 0; j < nextra; j++) {
        if (map_get(&ix->map, (uintptr_t)extra[j]) != PMT_NO_NODE) {
            continue;                       /* tracked, or given twice */
        }
        pmt_node v = (pmt_node)ix->n;
        if (add_extra(ix, extra[j]) < 0) {
            return -1;
        }
        map_insert(&ix->map, (uintptr_t)extra[j], v);
    }
    return 0;
}

/* ---- recording the edges ------------------------------------------------- */

typedef struct {
    uintptr_t *raw;         /* referent addresses of the current batch */
    Py_ssize_t len, cap;
    int oom;
} edgebuf;

static int
edge_visit(PyObject *dst, void *arg)
{
    edgebuf *b = (edgebuf *)arg;
    if (b->len == b->cap) {
        Py_ssize_t cap = b->cap * 2;
        uintptr_t *raw = (size_t)cap > PY_SSIZE_T_MAX / sizeof(uintptr_t) ? NULL
                         : PyMem_RawRealloc(b->raw, (size_t)cap * sizeof(uintptr_t));
        if (raw == NULL) {
            b->oom = 1;     /* raised after tp_traverse returns */
            return -1;
        }
        b->raw = raw;
        b->cap = cap;
    }
    b->raw[b->len++] = (uintptr_t)dst;
    return 0;
}

static int
traverse_into(PyObject *op, edgebuf *b)
{
    traverseproc traverse = Py_TYPE(op)->tp_traverse;
    if (traverse == NULL || !PyObject_IS_GC(op) || traverse(op, edge_visit, b) == 0) {
        return 0;
    }
    if (b->oom) {
        PyErr_NoMemory();
    }
    else if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_SystemError, "tp_traverse of %.100s failed", Py_TYPE(op)->tp_name);
    }
    return -1;
}

/* The forward edges, grouped by referrer: fdst[foff[i] .. foff[i+1]). */
typedef struct {
    uint32_t *foff;
    pmt_node *fdst;
    Py_ssize_t len, cap;
} fwd_edges;

static int
reserve_edges(fwd_edges *f, Py_ssize_t more)
{
    Py_ssize_t need = f->len + more;
    if (need <= f->cap) {
        return 0;
    }
    if (need >= (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_MemoryError, "too many references for the reference index");
        return -1;
    }
    Py_ssize_t cap = f->cap ? f->cap : 1 << 16;
    while (cap < need) {
        cap *= 2;
    }
    pmt_node *fdst = PyMem_RawRealloc(f->fdst, (size_t)cap * sizeof(pmt_node));
    if (fdst == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    f->fdst = fdst;
    f->cap = cap;
    return 0;
}

/* Calls tp_traverse of every node, a batch of nodes at a time, and turns
   each batch's referent addresses into nodes (dropping referents that are
   not nodes: untracked and non-GC objects); counts in-edges into roff. */
static int
record_edges(pmt_refindex *ix, fwd_edges *f)
{
    Py_ssize_t bounds[PMT_BATCH + 1];
    edgebuf b = {.cap = PMT_BATCH};
    int ret = -1;
    b.raw = PyMem_RawMalloc(PMT_BATCH * sizeof(uintptr_t));
    if (b.raw == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    const pmt_ptrmap *m = &ix->map;
    Py_ssize_t i = 0;
    while (i < ix->n) {
        Py_ssize_t first = i;
        b.len = 0;
        while (i < ix->n && i - first < PMT_BATCH && b.len < PMT_BATCH) {
            bounds[i - first] = b.len;
            if (traverse_into(ix->objs[i], &b) < 0) {
                goto done;
            }
            i++;
        }
        bounds[i - first] = b.len;
        if (reserve_edges(f, b.len) < 0) {
            goto done;
        }
        Py_ssize_t k = 0;
        for (Py_ssize_t j = first; j < i; j++) {
            f->foff[j] = (uint32_t)f->len;
            Py_ssize_t end = bounds[j - first + 1];
            for (; k < end; k++) {
                if (k + PMT_AHEAD < b.len) {
                    map_prefetch(m, b.raw[k + PMT_AHEAD]);
                }
                pmt_node v = map_get(m, b.raw[k]);
                if (v != PMT_NO_NODE) {
                    f->fdst[f->len++] = v;
                    ix->roff[v + 1]++;
                }
            }
        }
    }
    f->foff[ix->n] = (uint32_t)f->len;
    ix->nedges = f->len;
    ret = 0;
done:
    PyMem_RawFree(b.raw);
    return ret;
}

/* Counting sort of the edges by referent: the referrer lists, each ascending. */
static int
build_reverse(pmt_refindex *ix, const fwd_edges *f)
{
    uint32_t *roff = ix->roff;
    for (Py_ssize_t v = 0; v < ix->n; v++) {
        roff[v + 1] += roff[v];             /* roff[v] = start of v's list */
    }
    ix->rsrc = PyMem_RawMalloc((size_t)(ix->nedges ? ix->nedges : 1) * sizeof(pmt_node));
    if (ix->rsrc == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        for (uint32_t k = f->foff[i]; k < f->foff[i + 1]; k++) {
            ix->rsrc[roff[f->fdst[k]]++] = (pmt_node)i;
        }
    }
    /* roff[v] now holds the end of v's list, the start of v + 1's. */
    memmove(roff + 1, roff, (size_t)ix->n * sizeof(uint32_t));
    roff[0] = 0;
    return 0;
}

int
pmt_refindex_build(pmt_refindex *ix, PyObject *const *extra, Py_ssize_t nextra)
{
    memset(ix, 0, sizeof(*ix));
    ix->gc_was_enabled = PyGC_Disable();
    ix->built = 1;
    int ret = -1;
    fwd_edges f = {0};
    if (collect_nodes(ix, extra, nextra) < 0) {
        goto done;
    }
    f.foff = PyMem_RawMalloc((size_t)(ix->n + 1) * sizeof(uint32_t));
    ix->roff = PyMem_RawCalloc((size_t)ix->n + 1, sizeof(uint32_t));
    if (f.foff == NULL || ix->roff == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (record_edges(ix, &f) < 0 || build_reverse(ix, &f) < 0) {
        goto done;
    }
    ret = 0;
done:
    PyMem_RawFree(f.foff);
    PyMem_RawFree(f.fdst);
    return ret;
}

pmt_node
pmt_refindex_find(const pmt_refindex *ix, PyObject *op)
{
    if (ix->map.keys == NULL) {
        return PMT_NO_NODE;
    }
    return map_get(&ix->map, (uintptr_t)op);
}

Py_ssize_t
pmt_refindex_unexplained(const pmt_refindex *ix, pmt_node v)
{
    PyObject *op = ix->objs[v];
    if (PMT_IS_IMMORTAL(op)) {
        return 0;
    }
    /* One reference is the index's own (or its holder list's). */
    return Py_REFCNT(op) - 1 - (Py_ssize_t)(ix->roff[v + 1] - ix->roff[v]);
}

void
pmt_refindex_free(pmt_refindex *ix)
{
    if (!ix->built) {
        return;
    }
    PyObject **objs = ix->objs;
    PyObject *holder = ix->holder;
    Py_ssize_t n = ix->n;
    int was_enabled = ix->gc_was_enabled;
    pmt_ptrmap_free(&ix->map);
    PyMem_RawFree(ix->roff);
    PyMem_RawFree(ix->rsrc);
    memset(ix, 0, sizeof(*ix));
    /* Last: a released object may run arbitrary code in its deallocator. */
    if (holder != NULL) {
        Py_DECREF(holder);
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_DECREF(objs[i]);
        }
        PyMem_RawFree(objs);
    }
    if (was_enabled) {
        PyGC_Enable();
    }
}

/* ---- id sets --------------------------------------------------------------- */

static int
cmp_addr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

int
pmt_read_ids(PyObject *ids, const char *what, uintptr_t **out, Py_ssize_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (ids == NULL || ids == Py_None) {
        return 0;
    }
    PyObject *it = PyObject_GetIter(ids);
    if (it == NULL) {
        PyErr_Format(PyExc_TypeError, "%s must be an iterable of object ids (ints), not %.100s",
                     what, Py_TYPE(ids)->tp_name);
        return -1;
    }
    uintptr_t *addrs = NULL;
    Py_ssize_t n = 0, cap = 0;
    PyObject *item;
    while ((item = PyIter_Next(it)) != NULL) {
        if (!PyLong_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s must hold object ids (ints, as id() returns), "
                         "not %.100s", what, Py_TYPE(item)->tp_name);
            Py_DECREF(item);
            break;
        }
        unsigned long long v = PyLong_AsUnsignedLongLong(item);
        Py_DECREF(item);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                break;
            }
            PyErr_Clear();                  /* negative or huge: no object there */
            continue;
        }
        if (v == 0 || v > UINTPTR_MAX) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uintptr_t *bigger = PyMem_RawRealloc(addrs, (size_t)cap * sizeof(uintptr_t));
            if (bigger == NULL) {
                PyErr_NoMemory();
                break;
            }
            addrs = bigger;
        }
        addrs[n++] = (uintptr_t)v;
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        PyMem_RawFree(addrs);
        return -1;
    }
    if (n > 1) {
        qsort(addrs, (size_t)n, sizeof(uintptr_t), cmp_addr);
    }
    *out = addrs;
    *nout = n;
    return 0;
}

int
pmt_ids_contain(const uintptr_t *ids, Py_ssize_t n, const void *addr)
{
    uintptr_t key = (uintptr_t)addr;
    return n > 0 && bsearch(&key, ids, (size_t)n, sizeof(uintptr_t), cmp_addr) != NULL;
}
