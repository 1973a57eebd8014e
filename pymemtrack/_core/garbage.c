/* Which GC objects are cyclic garbage right now, without collecting,
   finalizing or moving anything (garbage_cycles(), see cycles.c).

   The collector's own reasoning (Python/gc.c: update_refs, subtract_refs,
   move_unreachable) replayed on a side table:

   1. walk:      note every GC-tracked object, in walk order k = 0..n-1.
   2. table:     like update_refs, which keeps its copies in the GC header,
                 each walked object's _gc_prev becomes PMT_GC_MARK | k as the walk
                 passes it, the real word saved in saved[k] and put back
                 before any Python object is made or freed (as refindex.c
                 does). So "is this referent in the table, and which k" is a
                 read of the header the tracked test loads anyway, not a
                 probe into a table twice the heap's size: one cache miss per
                 reference instead of two. Tracked objects the walk does not
                 see (frozen by gc.freeze(), in the permanent generation) stay
                 unmarked: outside the table. refs[k] is a copy of the
                 refcount, less the walk's own +1. Immortal objects (3.12+)
                 and counts of 2**30 or more get a fixed large count: they
                 are roots.
   3. subtract:  tp_traverse of every object; each referent found in the
                 table has its copy decremented and the edge is recorded
                 (source k -> target k, compressed sparse rows). What is left
                 is the number of references from outside the GC objects:
                 > 0 means a root. A negative count means some tp_traverse
                 visits a reference it does not own: noted (once per type)
                 and treated as a root.
   4. reach:     everything reachable from a root along the recorded edges is
                 alive (explicit stack, no recursion, no second traverse);
                 the rest is garbage.
   5. subgraph:  the garbage (in walk order) and the edges between garbage,
                 which scc.c groups into cycles.

   No Python code runs during these steps, and none may until the headers
   are back: a failed allocation only sets c->oom, and the MemoryError is
   raised after pmt_garbage_free_heap() (see garbage.h). The collector is
   disabled for the whole call and its state restored on every exit. All
   side memory is PyMem_Raw*, accounted so the call can say how many bytes
   per GC object it needed: 8 for the walk order, 8 for the saved header,
   4 for the refcount copy, 4 for the edge offsets, 1 for the state, up to 4
   for the reachability stack, and 4 per reference between GC objects. */

#include "garbage.h"
#include "walk.h"

#define REFS_CAP (1 << 30)            /* counts at or above it: a root */
#define REFBATCH PMT_CYC_REFBATCH
#define MAX_ANOMALIES PMT_CYC_MAX_ANOMALIES
#define AHEAD 8                       /* objects prefetched ahead of a traverse */
#define NOT_IN_TABLE UINT32_MAX       /* pmt_gc_marked_index(): unmarked */

/* A marked header is PMT_GC_PREV(op) == PMT_GC_MARK | k (compat.h). The
   real word's low bits are the collector's flags (FINALIZED among them), so
   PyObject_GC_IsFinalized() must wait for the headers to be back. */

/* ---- side memory --------------------------------------------------------- */

/* Test hook: when > 0, the n-th side allocation from now fails. */
static Py_ssize_t fail_countdown = 0;

void
pmt_garbage_fail_after(Py_ssize_t n)
{
    fail_countdown = n;
}

static void *
cyc_realloc(pmt_cyc *c, void *p, size_t old_bytes, size_t new_bytes)
{
    if (fail_countdown > 0 && --fail_countdown == 0) {
        return NULL;
    }
    void *q = pmt_raw_realloc(p, new_bytes ? new_bytes : 1);
    if (q != NULL) {
        c->bytes = c->bytes - old_bytes + new_bytes;
        if (c->bytes > c->peak) {
            c->peak = c->bytes;
        }
    }
    return q;
}

void *
pmt_cyc_calloc(pmt_cyc *c, size_t count, size_t size)
{
    if (count != 0 && size > PY_SSIZE_T_MAX / count) {
        return NULL;
    }
    void *p = cyc_realloc(c, NULL, 0, count * size);
    if (p != NULL) {
        memset(p, 0, count * size);
    }
    return p;
}

void
pmt_cyc_free(pmt_cyc *c, void *p, size_t bytes)
{
    if (p != NULL) {
        pmt_raw_free(p);
        c->bytes -= bytes;
    }
}

int
pmt_cyc_grow(pmt_cyc *c, void **arr, Py_ssize_t *cap, Py_ssize_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    Py_ssize_t new_cap = *cap ? *cap : 1024;
    while (new_cap < need) {
        if (new_cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)elem) {
            return -1;
        }
        new_cap *= 2;
    }
    void *p = cyc_realloc(c, *arr, (size_t)*cap * elem, (size_t)new_cap * elem);
    if (p == NULL) {
        return -1;
    }
    *arr = p;
    *cap = new_cap;
    return 0;
}

/* Puts the headers of order[0 .. n) back and frees saved. */
static void
unmark_table(pmt_cyc *c)
{
    for (Py_ssize_t k = 0; k < c->n && c->saved != NULL; k++) {
        if (k + AHEAD < c->n) {
            PMT_PREFETCH(&PMT_GC_PREV(c->order[k + AHEAD]));
        }
        PMT_GC_PREV(c->order[k]) = c->saved[k];
    }
    pmt_cyc_free(c, c->saved, (size_t)c->saved_cap * sizeof(uintptr_t));
    c->saved = NULL;
    c->saved_cap = 0;
}

void
pmt_garbage_free_heap(pmt_cyc *c)
{
    unmark_table(c);
    pmt_cyc_free(c, c->order, (size_t)c->order_cap * sizeof(PyObject *));
    c->order = NULL;
    c->order_cap = 0;
    pmt_cyc_free(c, c->refs, (size_t)c->refs_cap * sizeof(int32_t));
    c->refs = NULL;
    c->refs_cap = 0;
    pmt_cyc_free(c, c->hoff, ((size_t)c->n + 1) * sizeof(uint32_t));
    c->hoff = NULL;
    pmt_cyc_free(c, c->hedges, (size_t)c->hecap * sizeof(uint32_t));
    c->hedges = NULL;
    c->hecap = 0;
    pmt_cyc_free(c, c->alive, (size_t)c->n);
    c->alive = NULL;
}

void
pmt_garbage_raise(const pmt_cyc *c)
{
    if (c->too_many) {
        PyErr_SetString(PyExc_OverflowError,
                        "too many GC objects or references for garbage_cycles()");
    }
    else if (c->oom) {
        PyErr_NoMemory();
    }
}

void
pmt_garbage_clear(pmt_cyc *c)
{
    size_t G = (size_t)c->G;
    pmt_garbage_free_heap(c);
    pmt_cyc_free(c, c->gop, G * sizeof(PyObject *));
    pmt_cyc_free(c, c->gk, G * sizeof(uint32_t));
    pmt_cyc_free(c, c->eoff, (G + 1) * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->edges, (size_t)c->ecap * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->comp, G * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->out, G * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->owner, G * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->owned, c->owned_cap * sizeof(pmt_cyc_owned));
    pmt_cyc_free(c, c->owned_list, (size_t)c->nowned * sizeof(PyObject *));
    pmt_cyc_free(c, c->owned_start, ((size_t)c->ngroups + 1) * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->gstart, G * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->gmembers, G * sizeof(Py_ssize_t));
    pmt_cyc_free(c, c->gcycle, G);
    pmt_cyc_free(c, c->flags, G);
}

/* ---- steps 1-2: the walk and the side table ----------------------------------- */

/* Grows the three arrays indexed by k to hold k + 1 items; each keeps its
   own capacity, so a failure leaves the accounting right. */
static int
grow_table(pmt_cyc *c, Py_ssize_t k)
{
    if (pmt_cyc_grow(c, (void **)&c->order, &c->order_cap, k + 1, sizeof(PyObject *)) < 0
        || pmt_cyc_grow(c, (void **)&c->saved, &c->saved_cap, k + 1, sizeof(uintptr_t)) < 0
        || pmt_cyc_grow(c, (void **)&c->refs, &c->refs_cap, k + 1, sizeof(int32_t)) < 0) {
        return -1;
    }
    return 0;
}

/* Steps 1-2 at once: the walk has just read op's GC header (its _gc_next),
   so the mark costs no extra cache miss. The walk holds op (+1) during the
   call, hence the - 1. Never raises (returns 1 to stop): the failure is
   raised once the headers are back. */
static int
note_visit(PyObject *op, void *arg)
{
    pmt_cyc *c = (pmt_cyc *)arg;
    Py_ssize_t k = c->n;
    if ((uint64_t)k >= UINT32_MAX / 2) {
        c->too_many = 1;
        return 1;
    }
    if ((k == c->order_cap || k == c->saved_cap || k == c->refs_cap) && grow_table(c, k) < 0) {
        c->oom = 1;
        return 1;
    }
    Py_ssize_t refcnt = Py_REFCNT(op) - 1;
    c->order[k] = op;
    c->refs[k] = PMT_IS_IMMORTAL(op) || refcnt >= REFS_CAP ? REFS_CAP : (int32_t)refcnt;
    c->saved[k] = PMT_GC_PREV(op);
    PMT_GC_PREV(op) = PMT_GC_MARK | (uintptr_t)k;
    c->n = k + 1;
    return 0;
}

static int
build_table(pmt_cyc *c)
{
    /* note_visit never returns -1, so the walk cannot fail with an
       exception (a Python object) made while headers are marked. */
    (void)pmt_walk_heap(note_visit, c);
    return c->oom || c->too_many ? -1 : 0;
}

/* ---- step 3: subtract internal references, record the edges --------------------- */

static void
note_negative(pmt_cyc *c, PyObject *src, PyObject *victim)
{
    c->nnegative++;
    PyTypeObject *tp = Py_TYPE(src);
    for (int i = 0; i < c->nbad; i++) {
        if (c->bad_src[i] == tp) {
            return;
        }
    }
    if (c->nbad < MAX_ANOMALIES) {
        c->bad_src[c->nbad] = tp;
        c->bad_dst[c->nbad] = Py_TYPE(victim);
        c->nbad++;
    }
}

/* Looks the buffered referents up, decrements their counts and appends the
   edges; edges stay grouped by source, in walk order. Three passes, so the
   cache misses of each overlap: the referents' headers (the GC header and
   the type pointer around op), then their refcount copies. */
static int
flush_batch(pmt_cyc *c)
{
    for (int i = 0; i < c->nbatch; i++) {
        PMT_PREFETCH((uintptr_t *)c->batch[i] - 2);
        PMT_PREFETCH(c->batch[i]);
    }
    for (int i = 0; i < c->nbatch; i++) {
        uint32_t k = pmt_gc_marked_index(c->batch[i]);
        c->dstk[i] = k;
        if (k != NOT_IN_TABLE) {
            PMT_PREFETCH(&c->refs[k]);
        }
    }
    if (c->hne + c->nbatch > (Py_ssize_t)UINT32_MAX) {
        c->too_many = 1;              /* the offsets are 32-bit */
        return -1;
    }
    if (pmt_cyc_grow(c, (void **)&c->hedges, &c->hecap, c->hne + c->nbatch,
                     sizeof(uint32_t)) < 0) {
        c->oom = 1;
        return -1;
    }
    for (int i = 0; i < c->nbatch; i++) {
        uint32_t k = c->dstk[i];
        if (k == NOT_IN_TABLE) {
            continue;
        }
        while (c->nextk <= (Py_ssize_t)c->srck[i]) {
            c->hoff[c->nextk++] = (uint32_t)c->hne;
        }
        if (--c->refs[k] == -1) {
            note_negative(c, c->order[c->srck[i]], c->batch[i]);
        }
        c->hedges[c->hne++] = k;
    }
    c->nbatch = 0;
    return 0;
}

static int
visit_decref(PyObject *ref, void *arg)
{
    pmt_cyc *c = (pmt_cyc *)arg;
    c->srck[c->nbatch] = c->curk;
    c->batch[c->nbatch++] = ref;
    if (c->nbatch == REFBATCH && flush_batch(c) < 0) {
        return 1;
    }
    return 0;
}

static int
subtract_refs(pmt_cyc *c)
{
    c->hoff = pmt_cyc_calloc(c, (size_t)c->n + 1, sizeof(uint32_t));
    if (c->hoff == NULL) {
        c->oom = 1;
        return -1;
    }
    for (Py_ssize_t k = 0; k < c->n; k++) {
        if (k + AHEAD < c->n) {
            PMT_PREFETCH(c->order[k + AHEAD]);
        }
        PyObject *op = c->order[k];
        traverseproc traverse = Py_TYPE(op)->tp_traverse;
        if (traverse != NULL) {
            c->curk = (uint32_t)k;
            (void)traverse(op, visit_decref, c);
            if (c->oom || c->too_many) {
                return -1;
            }
        }
    }
    if (flush_batch(c) < 0) {
        return -1;
    }
    while (c->nextk <= c->n) {
        c->hoff[c->nextk++] = (uint32_t)c->hne;
    }
    return 0;
}

/* ---- step 4: reachability from the roots ------------------------------------- */

static int
mark_reachable(pmt_cyc *c)
{
    int ret = -1;
    uint32_t *stack = NULL;
    Py_ssize_t sp = 0, cap = 0;
    c->alive = pmt_cyc_calloc(c, (size_t)c->n, 1);
    if (c->alive == NULL) {
        goto done;
    }
    uint32_t holder_k = c->holder != NULL ? pmt_gc_marked_index(c->holder) : NOT_IN_TABLE;
    for (Py_ssize_t k = 0; k < c->n; k++) {   /* roots: positive, or negative (noted) */
        if (c->refs[k] != 0) {
            if (sp == cap && pmt_cyc_grow(c, (void **)&stack, &cap, sp + 1, sizeof(uint32_t)) < 0) {
                goto done;
            }
            c->alive[k] = 1;
            stack[sp++] = (uint32_t)k;
        }
    }
    c->nreached = sp;
    while (sp > 0) {
        uint32_t k = stack[--sp];
        if (k == holder_k) {
            continue;
        }
        uint32_t e = c->hoff[k], end = c->hoff[k + 1];
        if (sp + (Py_ssize_t)(end - e) > cap
            && pmt_cyc_grow(c, (void **)&stack, &cap, sp + (Py_ssize_t)(end - e),
                            sizeof(uint32_t)) < 0) {
            goto done;
        }
        for (; e < end; e++) {
            uint32_t t = c->hedges[e];
            if (!c->alive[t]) {
                c->alive[t] = 1;
                stack[sp++] = t;
                c->nreached++;
            }
        }
    }
    ret = 0;
done:
    pmt_cyc_free(c, stack, (size_t)cap * sizeof(uint32_t));
    if (ret < 0) {
        c->oom = 1;
    }
    return ret;
}

/* ---- step 5: the garbage subgraph -------------------------------------------- */

/* The node of garbage object k (k must be garbage). */
static Py_ssize_t
node_of(const pmt_cyc *c, uint32_t k)
{
    Py_ssize_t lo = 0, hi = c->G - 1;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (c->gk[mid] < k) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

/* Numbers the garbage in walk order and copies its edges. */
static int
build_subgraph(pmt_cyc *c)
{
    Py_ssize_t G = c->n - c->nreached;
    if (G == 0) {
        return 0;
    }
    c->gop = pmt_cyc_calloc(c, (size_t)G, sizeof(PyObject *));
    c->gk = pmt_cyc_calloc(c, (size_t)G, sizeof(uint32_t));
    c->eoff = pmt_cyc_calloc(c, (size_t)G + 1, sizeof(Py_ssize_t));
    c->G = G;
    if (c->gop == NULL || c->gk == NULL || c->eoff == NULL) {
        goto nomem;
    }
    Py_ssize_t g = 0;
    for (Py_ssize_t k = 0; k < c->n && g < G; k++) {
        if (!c->alive[k]) {
            c->gk[g] = (uint32_t)k;
            c->gop[g++] = c->order[k];
        }
    }
    for (g = 0; g < G; g++) {
        uint32_t k = c->gk[g];
        c->eoff[g] = c->ne;
        for (uint32_t e = c->hoff[k], end = c->hoff[k + 1]; e < end; e++) {
            uint32_t t = c->hedges[e];
            if (c->alive[t]) {
                continue;
            }
            if (c->ne == c->ecap
                && pmt_cyc_grow(c, (void **)&c->edges, &c->ecap, c->ne + 1,
                                sizeof(Py_ssize_t)) < 0) {
                goto nomem;
            }
            c->edges[c->ne++] = node_of(c, t);
        }
    }
    c->eoff[G] = c->ne;
    return 0;
nomem:
    c->oom = 1;
    return -1;
}

/* Iterative Tarjan: c->comp[v] in completion order, so a component is
   numbered before every component that reaches it (reverse topological). */
/* ---- what else only a group keeps alive ------------------------------------ */

/* Objects outside the table (strs, bytes, ints, untracked tuples...) that the
   garbage refers to as many times as their refcount, all from one group, die
   with that group: they count in its size. One level deep. */

static inline size_t
owned_index(PyObject *op, size_t cap)
{
    uint64_t h = ((uint64_t)(uintptr_t)op >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

static int
owned_grow(pmt_cyc *c)
{
    size_t cap = c->owned_cap ? c->owned_cap * 2 : 256;
    pmt_cyc_owned *fresh = pmt_cyc_calloc(c, cap, sizeof(pmt_cyc_owned));
    if (fresh == NULL) {
        return -1;
    }
    for (size_t i = 0; i < c->owned_cap; i++) {
        pmt_cyc_owned *e = &c->owned[i];
        if (e->op != NULL) {
            size_t j = owned_index(e->op, cap);
            while (fresh[j].op != NULL) {
                j = (j + 1) & (cap - 1);
            }
            fresh[j] = *e;
        }
    }
    pmt_cyc_free(c, c->owned, c->owned_cap * sizeof(pmt_cyc_owned));
    c->owned = fresh;
    c->owned_cap = cap;
    return 0;
}

static int
visit_owned(PyObject *ref, void *arg)
{
    pmt_cyc *c = (pmt_cyc *)arg;
    if (pmt_gc_marked_index(ref) != NOT_IN_TABLE || PMT_IS_IMMORTAL(ref)) {
        return 0;                     /* a GC object (counted), or never freed */
    }
    if (2 * (c->owned_used + 1) > c->owned_cap && owned_grow(c) < 0) {
        c->oom = 1;
        return 1;
    }
    size_t j = owned_index(ref, c->owned_cap);
    while (c->owned[j].op != NULL && c->owned[j].op != ref) {
        j = (j + 1) & (c->owned_cap - 1);
    }
    pmt_cyc_owned *e = &c->owned[j];
    if (e->op == NULL) {
        e->op = ref;
        e->group = c->cur_group;
        c->owned_used++;
    }
    else if (e->group != c->cur_group) {
        e->group = -1;
    }
    e->visits++;
    return 0;
}

int
pmt_garbage_owned(pmt_cyc *c)
{
    c->owned_start = pmt_cyc_calloc(c, (size_t)c->ngroups + 1, sizeof(Py_ssize_t));
    if (c->owned_start == NULL) {
        goto nomem;
    }
    for (Py_ssize_t v = 0; v < c->G; v++) {
        traverseproc traverse = Py_TYPE(c->gop[v])->tp_traverse;
        if (traverse == NULL) {
            continue;
        }
        c->cur_group = c->owner[v];
        (void)traverse(c->gop[v], visit_owned, c);
        if (c->oom) {
            goto nomem;
        }
    }
    /* a counting sort of the owned objects by group */
    for (size_t i = 0; i < c->owned_cap; i++) {
        pmt_cyc_owned *e = &c->owned[i];
        if (e->op != NULL && e->group >= 0 && e->visits == Py_REFCNT(e->op)) {
            c->owned_start[e->group + 1]++;
            c->nowned++;
        }
        else if (e->op != NULL) {
            e->group = -1;
        }
    }
    if (c->nowned == 0) {
        return 0;
    }
    for (Py_ssize_t g = 0; g < c->ngroups; g++) {
        c->owned_start[g + 1] += c->owned_start[g];
    }
    c->owned_list = pmt_cyc_calloc(c, (size_t)c->nowned, sizeof(PyObject *));
    if (c->owned_list == NULL) {
        c->nowned = 0;
        goto nomem;
    }
    for (size_t i = 0; i < c->owned_cap; i++) {
        pmt_cyc_owned *e = &c->owned[i];
        if (e->op != NULL && e->group >= 0) {
            c->owned_list[c->owned_start[e->group]++] = e->op;
        }
    }
    for (Py_ssize_t g = c->ngroups; g > 0; g--) {
        c->owned_start[g] = c->owned_start[g - 1];
    }
    c->owned_start[0] = 0;
    return 0;
nomem:
    c->oom = 1;
    return -1;
}

/* ---- steps 1-5 ------------------------------------------------------------------ */

int
pmt_garbage_find(pmt_cyc *c)
{
    if (build_table(c) < 0) {
        return -1;
    }
    if (subtract_refs(c) < 0 || mark_reachable(c) < 0 || build_subgraph(c) < 0) {
        return -1;
    }
    return 0;
}
