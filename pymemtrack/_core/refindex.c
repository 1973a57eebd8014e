/* Reverse-reference index: one heap walk numbers the GC objects (the number
   goes in each object's GC header for the build), one tp_traverse pass
   records every edge between them, and a counting sort turns the edges into
   per-object referrer lists (CSR). No recursion, no Python object created
   per object or edge. */
#include "refindex.h"
#include "walk.h"

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
    PyObject **objs = pmt_raw_realloc(ix->objs, (size_t)cap * sizeof(PyObject *));
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

/* ---- marking: the node number in each object's GC header ---------------- */

/* While the index is built, each tracked object's _gc_prev holds
   PMT_GC_MARK | in-edge count << 32 | node; saved[] keeps the real words. A
   referent's header shares its cache line with the tracked flag read just
   before, so turning a referent into a node costs no extra memory access. */
#define PMT_COUNT_ONE ((uintptr_t)1 << 32)
#define PMT_COUNT_MASK (((uintptr_t)0x7FFFFFFF) << 32)

static void
mark_nodes(pmt_refindex *ix, uintptr_t *saved)
{
    for (Py_ssize_t i = 0; i < ix->ntracked; i++) {
        uintptr_t *prev = &PMT_GC_PREV(ix->objs[i]);
        saved[i] = *prev;
        *prev = PMT_GC_MARK | (uintptr_t)i;
    }
}

/* Puts every header back; the in-edge counts go to roff[v + 1]. */
static void
unmark_nodes(pmt_refindex *ix, const uintptr_t *saved)
{
    for (Py_ssize_t i = 0; i < ix->ntracked; i++) {
        uintptr_t *prev = &PMT_GC_PREV(ix->objs[i]);
        ix->roff[i + 1] = (uint32_t)((*prev & PMT_COUNT_MASK) >> 32);
        *prev = saved[i];
    }
}

/* Numbers the extras: a walked object keeps its node; others (untracked, or
   hidden by gc.freeze) are appended and mapped in others. */
static int
add_extras(pmt_refindex *ix, PyObject *const *extra, Py_ssize_t nextra, pmt_node *nodes,
           pmt_ptrmap *others)
{
    for (Py_ssize_t j = 0; j < nextra; j++) {
        pmt_node v = pmt_gc_marked_index(extra[j]);   /* PMT_NO_NODE: unmarked */
        if (v == PMT_NO_NODE) {
            v = pmt_node_of(others, extra[j]);
        }
        if (v == PMT_NO_NODE) {
            v = (pmt_node)ix->n;
            if (add_extra(ix, extra[j]) < 0 || pmt_ptrmap_put(others, pmt_ptrkey(extra[j]), v) < 0) {
                return -1;
            }
        }
        nodes[j] = v;
    }
    return 0;
}

/* ---- recording the edges ------------------------------------------------- */

/* The forward edges, grouped by referrer: fdst[foff[i] .. foff[i+1]). */
typedef struct {
    uint32_t *foff;
    pmt_node *fdst;
    Py_ssize_t len, cap;
    const pmt_ptrmap *others;   /* extras that are not marked */
    pmt_node first_other;
    uint32_t *other_counts;
    enum { EDGES_OK, EDGES_OOM, EDGES_TOO_MANY } status;
} fwd_edges;

static int
edge_visit(PyObject *dst, void *arg)
{
    fwd_edges *f = (fwd_edges *)arg;
    pmt_node v = PMT_NO_NODE;
    if (pmt_gc_is_tracked(dst)) {
        uintptr_t *prev = &PMT_GC_PREV(dst);
        uintptr_t h = *prev;
        if (h & PMT_GC_MARK) {
            if ((h & PMT_COUNT_MASK) == PMT_COUNT_MASK) {
                f->status = EDGES_TOO_MANY;
                return -1;
            }
            *prev = h + PMT_COUNT_ONE;
            v = (pmt_node)h;
        }
    }
    if (v == PMT_NO_NODE && f->others->used > 0) {
        v = pmt_node_of(f->others, dst);
        if (v == PMT_NO_NODE) {
            return 0;
        }
        f->other_counts[v - f->first_other]++;
    }
    if (v == PMT_NO_NODE) {
        return 0;                   /* untracked or non-GC: never a referrer */
    }
    if (f->len == f->cap) {
        Py_ssize_t cap = f->cap ? f->cap * 2 : 1 << 16;
        pmt_node *fdst = cap >= (Py_ssize_t)UINT32_MAX ? NULL
                         : pmt_raw_realloc(f->fdst, (size_t)cap * sizeof(pmt_node));
        if (fdst == NULL) {
            f->status = cap >= (Py_ssize_t)UINT32_MAX ? EDGES_TOO_MANY : EDGES_OOM;
            return -1;
        }
        f->fdst = fdst;
        f->cap = cap;
    }
    f->fdst[f->len++] = v;
    return 0;
}

/* Calls tp_traverse of every node. Runs while the headers are marked: sets
   f->status or leaves an exception set, raises nothing itself. */
static int
record_edges(pmt_refindex *ix, fwd_edges *f)
{
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        PyObject *op = ix->objs[i];
        f->foff[i] = (uint32_t)f->len;
        traverseproc traverse = Py_TYPE(op)->tp_traverse;
        if (traverse != NULL && PyObject_IS_GC(op) && traverse(op, edge_visit, f) != 0) {
            return -1;
        }
    }
    f->foff[ix->n] = (uint32_t)f->len;
    ix->nedges = f->len;
    return 0;
}

/* Counting sort of the edges by referent: the referrer lists, each ascending. */
static int
build_reverse(pmt_refindex *ix, const fwd_edges *f)
{
    uint32_t *roff = ix->roff;
    for (Py_ssize_t v = 0; v < ix->n; v++) {
        roff[v + 1] += roff[v];             /* roff[v] = start of v's list */
    }
    ix->rsrc = pmt_raw_malloc((size_t)(ix->nedges ? ix->nedges : 1) * sizeof(pmt_node));
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

/* Marks the headers, numbers the extras, records the edges and puts the
   headers back, whatever fails in between. */
static int
index_edges(pmt_refindex *ix, PyObject *const *extra, Py_ssize_t nextra, pmt_node *nodes,
            fwd_edges *f)
{
    pmt_ptrmap others;
    uintptr_t *saved = pmt_raw_malloc((size_t)(ix->ntracked ? ix->ntracked : 1)
                                       * sizeof(uintptr_t));
    pmt_ptrmap_init(&others);
    if (saved == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int ret = -1;
    mark_nodes(ix, saved);
    /* No Python code, no deallocation from here to unmark_nodes. */
    if (add_extras(ix, extra, nextra, nodes, &others) == 0) {
        f->foff = pmt_raw_malloc((size_t)(ix->n + 1) * sizeof(uint32_t));
        ix->roff = pmt_raw_calloc((size_t)ix->n + 1, sizeof(uint32_t));
        f->others = &others;
        f->first_other = (pmt_node)ix->ntracked;
        f->other_counts = ix->roff == NULL ? NULL : ix->roff + ix->ntracked + 1;
        if (f->foff != NULL && ix->roff != NULL) {
            ret = record_edges(ix, f);
        }
        else {
            f->status = EDGES_OOM;
        }
    }
    if (ix->roff != NULL) {
        unmark_nodes(ix, saved);
    }
    else {
        for (Py_ssize_t i = 0; i < ix->ntracked; i++) {
            PMT_GC_PREV(ix->objs[i]) = saved[i];
        }
    }
    pmt_raw_free(saved);
    pmt_ptrmap_clear(&others);
    if (f->status == EDGES_OOM) {
        PyErr_NoMemory();
        ret = -1;
    }
    else if (f->status == EDGES_TOO_MANY) {
        PyErr_SetString(PyExc_MemoryError, "too many references for the reference index");
        ret = -1;
    }
    else if (ret < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_SystemError, "a tp_traverse failed while indexing references");
    }
    return ret;
}

int
pmt_refindex_build(pmt_refindex *ix, PyObject *const *extra, Py_ssize_t nextra,
                   pmt_node *extra_nodes)
{
    memset(ix, 0, sizeof(*ix));
    ix->gc_was_enabled = PyGC_Disable();
    ix->built = 1;
    fwd_edges f;
    memset(&f, 0, sizeof(f));
    int ret = -1;
    if (walk_nodes(ix) == 0) {
        ix->ntracked = ix->n;
        if (index_edges(ix, extra, nextra, extra_nodes, &f) == 0) {
            ret = build_reverse(ix, &f);
        }
    }
    pmt_raw_free(f.foff);
    pmt_raw_free(f.fdst);
    return ret;
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
    pmt_raw_free(ix->roff);
    pmt_raw_free(ix->rsrc);
    memset(ix, 0, sizeof(*ix));
    /* Last: a released object may run arbitrary code in its deallocator. */
    if (holder != NULL) {
        Py_DECREF(holder);
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_DECREF(objs[i]);
        }
        pmt_raw_free(objs);
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
    return pmt_read_ids_ex(ids, what, 0, out, nout);
}

int
pmt_read_ids_ex(PyObject *ids, const char *what, int skip_non_ints,
                uintptr_t **out, Py_ssize_t *nout)
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
            if (skip_non_ints) {
                Py_DECREF(item);
                continue;
            }
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
            uintptr_t *bigger = pmt_raw_realloc(addrs, (size_t)cap * sizeof(uintptr_t));
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
        pmt_raw_free(addrs);
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
