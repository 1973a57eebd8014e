/* garbage_cycles(): which GC objects are cyclic garbage right now, grouped
   into cycles, without collecting, finalizing or moving anything.

   The collector's own reasoning (Python/gc.c: update_refs, subtract_refs,
   move_unreachable) replayed on a side table keyed by object pointer:

   1. walk:      note every GC-tracked object, in walk order k = 0..n-1.
   2. table:     open addressing, linear probing, one 16-byte slot
                 {op, refs, k} per object at load <= 0.5. refs is a copy of
                 the refcount, read after the walk so neither the 3.12+
                 visitor's +1 nor the 3.10/3.11 gc.get_objects() list's +1
                 is in it. Immortal objects (3.12+) and counts of 2**30 or
                 more get a fixed large count: they are roots.
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
   5. group:     the garbage subgraph (nodes in walk order) is split into
                 strongly connected components (iterative Tarjan), and each
                 garbage object outside a loop is given to exactly one loop:
                 the first, in topological order of the loops (a loop before
                 the loops it reaches), that reaches it without passing
                 through another loop.
   6. only then, still with the collector disabled, the garbage objects are
      put into a new list (new references) and the call returns.

   No Python code runs during steps 1-5 (on 3.10/3.11 gc.get_objects() fires
   its audit event first, before the list it returns is built). The
   collector is disabled for the whole call and its state restored on every
   exit. All side memory is PyMem_Raw*, accounted so the call can say how
   many bytes per GC object it needed: 16 per table slot (two slots per
   object), 8 for the walk order, 8 for the edge offsets, 1 for the state,
   up to 4 for the reachability stack, and 4 per reference between GC
   objects. */
#include "cycles.h"
#include "args.h"
#include "walk.h"

#define REFS_CAP (1 << 30)            /* counts at or above it: a root */
#define MAX_ANOMALIES 16              /* distinct (traverser type) reported */
#define REFBATCH 256                  /* referents looked up together */
#define AHEAD 8                       /* objects prefetched ahead of a traverse */

#if defined(__GNUC__) || defined(__clang__)
#  define PREFETCH(p) __builtin_prefetch(p)
#else
#  define PREFETCH(p) ((void)0)
#endif

typedef struct {
    PyObject *op;                     /* key; NULL marks an empty slot */
    int32_t refs;                     /* the refcount copy, see above */
    uint32_t k;                       /* walk order index */
} cyc_slot;

/* A referent outside the table (not a GC object, or untracked) of garbage. */
typedef struct {
    PyObject *op;                     /* NULL marks an empty slot */
    Py_ssize_t visits;                /* references from garbage objects */
    Py_ssize_t group;                 /* the group they come from; -1: several */
} cyc_owned;

typedef struct {
    /* side memory accounting */
    size_t bytes, peak;
    int oom;                          /* a visitor could not allocate */

    /* 1-2: objects in walk order, the table */
    PyObject **order;
    Py_ssize_t n, order_cap;
    cyc_slot *slots;
    size_t cap;

    /* 3: referents collected by tp_traverse, looked up in batches so the
       cache misses on the table overlap (prefetched) instead of queueing */
    PyObject *refs[REFBATCH];
    uint32_t srck[REFBATCH];          /* the object whose tp_traverse gave it */
    size_t idx[REFBATCH];
    int nrefs;
    uint32_t curk;                    /* the object whose tp_traverse runs */
    Py_ssize_t nextk;                 /* first object whose offset is unset */
    size_t *hoff;                     /* n + 1 offsets into hedges, by k */
    uint32_t *hedges;                 /* target k of each reference */
    Py_ssize_t hne, hecap;
    PyTypeObject *bad_src[MAX_ANOMALIES], *bad_dst[MAX_ANOMALIES];
    int nbad;
    Py_ssize_t nnegative;

    /* 4 */
    unsigned char *alive;             /* by k */
    Py_ssize_t nreached;
    PyObject *holder;                 /* its references do not keep alive */

    /* 5: the garbage subgraph, nodes 0..G-1 in walk order */
    Py_ssize_t G;
    PyObject **gop;
    uint32_t *gk;                     /* walk index of each node, ascending */
    Py_ssize_t *eoff;                 /* G + 1 offsets into edges */
    Py_ssize_t *edges;
    Py_ssize_t ne, ecap;
    Py_ssize_t *comp;                 /* component of each node */
    Py_ssize_t ncomp;
    Py_ssize_t *out;                  /* nodes in group order */
    Py_ssize_t *owner;                /* group of each node */
    Py_ssize_t *gstart, *gmembers;    /* per group: first index in out, loop size */
    char *gcycle;                     /* per group: a real loop (else a lone head) */
    Py_ssize_t ngroups;
    unsigned char *flags;             /* per node */

    /* what only one group refers to, among referents outside the table */
    cyc_owned *owned;
    size_t owned_cap, owned_used;
    Py_ssize_t cur_group;
    PyObject **owned_list;            /* group after group */
    Py_ssize_t nowned;
    Py_ssize_t *owned_start;          /* ngroups + 1 offsets into owned_list */
} cyc_ctx;

/* ---- side memory --------------------------------------------------------- */

/* Test hook: when > 0, the n-th side allocation from now fails. */
static Py_ssize_t fail_countdown = 0;

static void *
cyc_realloc(cyc_ctx *c, void *p, size_t old_bytes, size_t new_bytes)
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

static void *
cyc_calloc(cyc_ctx *c, size_t count, size_t size)
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

static void
cyc_free(cyc_ctx *c, void *p, size_t bytes)
{
    if (p != NULL) {
        pmt_raw_free(p);
        c->bytes -= bytes;
    }
}

/* Grows *arr (elements of size elem, *cap of them) to hold at least need. */
static int
cyc_grow(cyc_ctx *c, void **arr, Py_ssize_t *cap, Py_ssize_t need, size_t elem)
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

static void
free_heap_arrays(cyc_ctx *c)
{
    cyc_free(c, c->order, (size_t)c->order_cap * sizeof(PyObject *));
    c->order = NULL;
    c->order_cap = 0;
    cyc_free(c, c->slots, c->cap * sizeof(cyc_slot));
    c->slots = NULL;
    c->cap = 0;
    cyc_free(c, c->hoff, ((size_t)c->n + 1) * sizeof(size_t));
    c->hoff = NULL;
    cyc_free(c, c->hedges, (size_t)c->hecap * sizeof(uint32_t));
    c->hedges = NULL;
    c->hecap = 0;
    cyc_free(c, c->alive, (size_t)c->n);
    c->alive = NULL;
}

static void
ctx_free(cyc_ctx *c)
{
    size_t G = (size_t)c->G;
    free_heap_arrays(c);
    cyc_free(c, c->gop, G * sizeof(PyObject *));
    cyc_free(c, c->gk, G * sizeof(uint32_t));
    cyc_free(c, c->eoff, (G + 1) * sizeof(Py_ssize_t));
    cyc_free(c, c->edges, (size_t)c->ecap * sizeof(Py_ssize_t));
    cyc_free(c, c->comp, G * sizeof(Py_ssize_t));
    cyc_free(c, c->out, G * sizeof(Py_ssize_t));
    cyc_free(c, c->owner, G * sizeof(Py_ssize_t));
    cyc_free(c, c->owned, c->owned_cap * sizeof(cyc_owned));
    cyc_free(c, c->owned_list, (size_t)c->nowned * sizeof(PyObject *));
    cyc_free(c, c->owned_start, ((size_t)c->ngroups + 1) * sizeof(Py_ssize_t));
    cyc_free(c, c->gstart, G * sizeof(Py_ssize_t));
    cyc_free(c, c->gmembers, G * sizeof(Py_ssize_t));
    cyc_free(c, c->gcycle, G);
    cyc_free(c, c->flags, G);
}

/* ---- steps 1-2: the walk and the side table ----------------------------------- */

static inline size_t
slot_index(const cyc_ctx *c, PyObject *op)
{
    uint64_t h = ((uint64_t)(uintptr_t)op >> 4) * UINT64_C(0x9E3779B97F4A7C15);
#ifdef __SIZEOF_INT128__
    return (size_t)(((unsigned __int128)h * c->cap) >> 64);   /* Lemire's range map */
#else
    return (size_t)(h % c->cap);
#endif
}

static inline cyc_slot *
table_find_at(const cyc_ctx *c, PyObject *op, size_t i)
{
    for (;;) {
        cyc_slot *s = &c->slots[i];
        if (s->op == op) {
            return s;
        }
        if (s->op == NULL) {
            return NULL;
        }
        if (++i == c->cap) {
            i = 0;
        }
    }
}

static inline cyc_slot *
table_find(const cyc_ctx *c, PyObject *op)
{
    return table_find_at(c, op, slot_index(c, op));
}

static int
note_visit(PyObject *op, void *arg)
{
    cyc_ctx *c = (cyc_ctx *)arg;
    if (c->n == c->order_cap
        && cyc_grow(c, (void **)&c->order, &c->order_cap, c->n + 1, sizeof(PyObject *)) < 0) {
        c->oom = 1;                   /* raised after the walk, not inside it */
        return 1;
    }
    c->order[c->n++] = op;
    return 0;
}

static int
build_table(cyc_ctx *c)
{
    if (pmt_walk_heap(note_visit, c) < 0) {
        return -1;
    }
    if (c->oom) {
        goto nomem;
    }
    if ((uint64_t)c->n >= UINT32_MAX / 2) {
        PyErr_SetString(PyExc_OverflowError, "too many GC objects for garbage_cycles()");
        return -1;
    }
    c->slots = cyc_calloc(c, (size_t)c->n * 2 + 16, sizeof(cyc_slot));
    if (c->slots == NULL) {
        goto nomem;
    }
    c->cap = (size_t)c->n * 2 + 16;
    for (Py_ssize_t k = 0; k < c->n; k++) {
        if (k + AHEAD < c->n) {
            PREFETCH(c->order[k + AHEAD]);
            PREFETCH(&c->slots[slot_index(c, c->order[k + AHEAD])]);
        }
        PyObject *op = c->order[k];
        size_t i = slot_index(c, op);
        while (c->slots[i].op != NULL && c->slots[i].op != op) {
            if (++i == c->cap) {
                i = 0;
            }
        }
        Py_ssize_t refcnt = Py_REFCNT(op);
        c->slots[i].op = op;
        c->slots[i].refs = PMT_IS_IMMORTAL(op) || refcnt >= REFS_CAP ? REFS_CAP : (int32_t)refcnt;
        c->slots[i].k = (uint32_t)k;
    }
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* ---- step 3: subtract internal references, record the edges --------------------- */

static void
note_negative(cyc_ctx *c, PyObject *src, PyObject *victim)
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

/* Looks the buffered referents up (prefetched first), decrements their
   counts and appends the edges; edges stay grouped by source, in walk order. */
static int
flush_refs(cyc_ctx *c)
{
    for (int i = 0; i < c->nrefs; i++) {
        c->idx[i] = slot_index(c, c->refs[i]);
        PREFETCH(&c->slots[c->idx[i]]);
    }
    if (cyc_grow(c, (void **)&c->hedges, &c->hecap, c->hne + c->nrefs, sizeof(uint32_t)) < 0) {
        c->oom = 1;
        return -1;
    }
    for (int i = 0; i < c->nrefs; i++) {
        cyc_slot *s = table_find_at(c, c->refs[i], c->idx[i]);
        if (s == NULL) {
            continue;                 /* not a GC-tracked object */
        }
        while (c->nextk <= (Py_ssize_t)c->srck[i]) {
            c->hoff[c->nextk++] = (size_t)c->hne;
        }
        if (--s->refs == -1) {
            note_negative(c, c->order[c->srck[i]], c->refs[i]);
        }
        c->hedges[c->hne++] = s->k;
    }
    c->nrefs = 0;
    return 0;
}

static int
visit_decref(PyObject *ref, void *arg)
{
    cyc_ctx *c = (cyc_ctx *)arg;
    c->srck[c->nrefs] = c->curk;
    c->refs[c->nrefs++] = ref;
    if (c->nrefs == REFBATCH && flush_refs(c) < 0) {
        return 1;
    }
    return 0;
}

static int
subtract_refs(cyc_ctx *c)
{
    c->hoff = cyc_calloc(c, (size_t)c->n + 1, sizeof(size_t));
    if (c->hoff == NULL) {
        goto nomem;
    }
    for (Py_ssize_t k = 0; k < c->n; k++) {
        if (k + AHEAD < c->n) {
            PREFETCH(c->order[k + AHEAD]);
        }
        PyObject *op = c->order[k];
        traverseproc traverse = Py_TYPE(op)->tp_traverse;
        if (traverse != NULL) {
            c->curk = (uint32_t)k;
            (void)traverse(op, visit_decref, c);
            if (c->oom) {
                goto nomem;
            }
        }
    }
    if (flush_refs(c) < 0) {
        goto nomem;
    }
    while (c->nextk <= c->n) {
        c->hoff[c->nextk++] = (size_t)c->hne;
    }
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* ---- step 4: reachability from the roots ------------------------------------- */

static int
mark_reachable(cyc_ctx *c)
{
    int ret = -1;
    uint32_t *stack = NULL;
    Py_ssize_t sp = 0, cap = 0;
    c->alive = cyc_calloc(c, (size_t)c->n, 1);
    if (c->alive == NULL) {
        goto done;
    }
    Py_ssize_t holder_k = -1;
    if (c->holder != NULL) {
        cyc_slot *s = table_find(c, c->holder);
        holder_k = s != NULL ? (Py_ssize_t)s->k : -1;
    }
    for (size_t i = 0; i < c->cap; i++) {     /* roots: positive, or negative (noted) */
        cyc_slot *s = &c->slots[i];
        if (s->op != NULL && s->refs != 0) {
            if (sp == cap && cyc_grow(c, (void **)&stack, &cap, sp + 1, sizeof(uint32_t)) < 0) {
                goto done;
            }
            c->alive[s->k] = 1;
            stack[sp++] = s->k;
        }
    }
    c->nreached = sp;
    while (sp > 0) {
        uint32_t k = stack[--sp];
        if ((Py_ssize_t)k == holder_k) {
            continue;
        }
        size_t e = c->hoff[k], end = c->hoff[k + 1];
        if (sp + (Py_ssize_t)(end - e) > cap
            && cyc_grow(c, (void **)&stack, &cap, sp + (Py_ssize_t)(end - e), sizeof(uint32_t)) < 0) {
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
    cyc_free(c, stack, (size_t)cap * sizeof(uint32_t));
    if (ret < 0) {
        PyErr_NoMemory();
    }
    return ret;
}

/* ---- step 5: the garbage subgraph -------------------------------------------- */

/* The node of garbage object k (k must be garbage). */
static Py_ssize_t
node_of(const cyc_ctx *c, uint32_t k)
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
build_subgraph(cyc_ctx *c)
{
    Py_ssize_t G = c->n - c->nreached;
    if (G == 0) {
        return 0;
    }
    c->gop = cyc_calloc(c, (size_t)G, sizeof(PyObject *));
    c->gk = cyc_calloc(c, (size_t)G, sizeof(uint32_t));
    c->eoff = cyc_calloc(c, (size_t)G + 1, sizeof(Py_ssize_t));
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
        for (size_t e = c->hoff[k], end = c->hoff[k + 1]; e < end; e++) {
            uint32_t t = c->hedges[e];
            if (c->alive[t]) {
                continue;
            }
            if (c->ne == c->ecap
                && cyc_grow(c, (void **)&c->edges, &c->ecap, c->ne + 1, sizeof(Py_ssize_t)) < 0) {
                goto nomem;
            }
            c->edges[c->ne++] = node_of(c, t);
        }
    }
    c->eoff[G] = c->ne;
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* Iterative Tarjan: c->comp[v] in completion order, so a component is
   numbered before every component that reaches it (reverse topological). */
static int
tarjan(cyc_ctx *c)
{
    Py_ssize_t G = c->G;
    int ret = -1;
    size_t sz = (size_t)G * sizeof(Py_ssize_t);
    Py_ssize_t *index = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *low = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *sstack = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *cnode = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *cpos = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    char *onstack = cyc_calloc(c, (size_t)G, 1);
    c->comp = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    if (!index || !low || !sstack || !cnode || !cpos || !onstack || !c->comp) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t v = 0; v < G; v++) {
        index[v] = -1;
    }
    Py_ssize_t next = 0, ssp = 0, csp = 0;
    for (Py_ssize_t root = 0; root < G; root++) {
        if (index[root] >= 0) {
            continue;
        }
        index[root] = low[root] = next++;
        sstack[ssp++] = root;
        onstack[root] = 1;
        cnode[csp] = root;
        cpos[csp++] = c->eoff[root];
        while (csp > 0) {
            Py_ssize_t v = cnode[csp - 1];
            if (cpos[csp - 1] < c->eoff[v + 1]) {
                Py_ssize_t w = c->edges[cpos[csp - 1]++];
                if (index[w] < 0) {
                    index[w] = low[w] = next++;
                    sstack[ssp++] = w;
                    onstack[w] = 1;
                    cnode[csp] = w;
                    cpos[csp++] = c->eoff[w];
                }
                else if (onstack[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            csp--;
            if (low[v] == index[v]) {
                Py_ssize_t w;
                do {
                    w = sstack[--ssp];
                    onstack[w] = 0;
                    c->comp[w] = c->ncomp;
                } while (w != v);
                c->ncomp++;
            }
            if (csp > 0) {
                Py_ssize_t u = cnode[csp - 1];
                if (low[v] < low[u]) {
                    low[u] = low[v];
                }
            }
        }
    }
    ret = 0;
done:
    cyc_free(c, index, sz);
    cyc_free(c, low, sz);
    cyc_free(c, sstack, sz);
    cyc_free(c, cnode, sz);
    cyc_free(c, cpos, sz);
    cyc_free(c, onstack, (size_t)G);
    return ret;
}

static int
has_self_loop(cyc_ctx *c, Py_ssize_t v)
{
    for (Py_ssize_t e = c->eoff[v]; e < c->eoff[v + 1]; e++) {
        if (c->edges[e] == v) {
            return 1;
        }
    }
    return 0;
}

/* Groups: each loop (component of 2+ nodes, or 1 with an edge to itself)
   with what only it keeps alive; see the top of the file. */
static int
make_groups(cyc_ctx *c)
{
    Py_ssize_t G = c->G, nc = c->ncomp;
    int ret = -1;
    Py_ssize_t *cstart = cyc_calloc(c, (size_t)nc + 1, sizeof(Py_ssize_t));
    Py_ssize_t *cmem = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *owner = c->owner = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    char *cloop = cyc_calloc(c, (size_t)nc, 1);
    c->out = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    c->gstart = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    c->gmembers = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    c->gcycle = cyc_calloc(c, (size_t)G, 1);
    if (!cstart || !cmem || !owner || !cloop || !c->out || !c->gstart || !c->gmembers
        || !c->gcycle) {
        PyErr_NoMemory();
        goto done;
    }
    /* members of each component, in node order (a counting sort) */
    for (Py_ssize_t v = 0; v < G; v++) {
        cstart[c->comp[v] + 1]++;
    }
    for (Py_ssize_t k = 0; k < nc; k++) {
        cstart[k + 1] += cstart[k];
    }
    for (Py_ssize_t v = 0; v < G; v++) {
        cmem[cstart[c->comp[v]]++] = v;
    }
    for (Py_ssize_t k = nc; k > 0; k--) {
        cstart[k] = cstart[k - 1];
    }
    cstart[0] = 0;
    for (Py_ssize_t k = 0; k < nc; k++) {
        Py_ssize_t size = cstart[k + 1] - cstart[k];
        cloop[k] = size > 1 || has_self_loop(c, cmem[cstart[k]]);
    }
    for (Py_ssize_t v = 0; v < G; v++) {
        owner[v] = -1;
    }
    Py_ssize_t pos = 0;
    for (Py_ssize_t k = nc - 1; k >= 0; k--) {        /* topological order */
        Py_ssize_t first = cmem[cstart[k]];
        if (!cloop[k] && owner[first] >= 0) {
            continue;                 /* already kept alive by an earlier loop */
        }
        Py_ssize_t g = c->ngroups++;
        c->gstart[g] = pos;
        c->gcycle[g] = cloop[k];
        for (Py_ssize_t m = cstart[k]; m < cstart[k + 1]; m++) {
            owner[cmem[m]] = g;
            c->out[pos++] = cmem[m];
        }
        c->gmembers[g] = pos - c->gstart[g];
        for (Py_ssize_t q = c->gstart[g]; q < pos; q++) {   /* breadth first */
            Py_ssize_t v = c->out[q];
            for (Py_ssize_t e = c->eoff[v]; e < c->eoff[v + 1]; e++) {
                Py_ssize_t w = c->edges[e];
                if (owner[w] < 0 && !cloop[c->comp[w]]) {
                    owner[w] = g;
                    c->out[pos++] = w;
                }
            }
        }
    }
    ret = 0;
done:
    cyc_free(c, cstart, ((size_t)nc + 1) * sizeof(Py_ssize_t));
    cyc_free(c, cmem, (size_t)G * sizeof(Py_ssize_t));
    cyc_free(c, cloop, (size_t)nc);
    return ret;
}

/* Finalizer flags per node, and what a legacy tp_del object makes uncollectable. */
static int
make_flags(cyc_ctx *c)
{
    Py_ssize_t G = c->G;
    c->flags = cyc_calloc(c, (size_t)G, 1);
    Py_ssize_t *queue = cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    if (c->flags == NULL || queue == NULL) {
        cyc_free(c, queue, (size_t)G * sizeof(Py_ssize_t));
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t qlen = 0;
    for (Py_ssize_t v = 0; v < G; v++) {
        PyObject *op = c->gop[v];
        PyTypeObject *tp = Py_TYPE(op);
        unsigned char f = 0;
        if (tp->tp_finalize != NULL) {
            f |= PMT_CYC_FINALIZE;
        }
        if (PyObject_GC_IsFinalized(op)) {
            f |= PMT_CYC_FINALIZED;
        }
        if (tp->tp_del != NULL) {
            f |= PMT_CYC_LEGACY | PMT_CYC_UNCOLLECTABLE;
            queue[qlen++] = v;
        }
        c->flags[v] = f;
    }
    for (Py_ssize_t q = 0; q < qlen; q++) {
        Py_ssize_t v = queue[q];
        for (Py_ssize_t e = c->eoff[v]; e < c->eoff[v + 1]; e++) {
            Py_ssize_t w = c->edges[e];
            if (!(c->flags[w] & PMT_CYC_UNCOLLECTABLE)) {
                c->flags[w] |= PMT_CYC_UNCOLLECTABLE;
                queue[qlen++] = w;
            }
        }
    }
    for (Py_ssize_t g = 0; g < c->ngroups; g++) {
        if (c->gcycle[g]) {
            for (Py_ssize_t m = 0; m < c->gmembers[g]; m++) {
                c->flags[c->out[c->gstart[g] + m]] |= PMT_CYC_MEMBER;
            }
        }
    }
    cyc_free(c, queue, (size_t)G * sizeof(Py_ssize_t));
    return 0;
}

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
owned_grow(cyc_ctx *c)
{
    size_t cap = c->owned_cap ? c->owned_cap * 2 : 256;
    cyc_owned *fresh = cyc_calloc(c, cap, sizeof(cyc_owned));
    if (fresh == NULL) {
        return -1;
    }
    for (size_t i = 0; i < c->owned_cap; i++) {
        cyc_owned *e = &c->owned[i];
        if (e->op != NULL) {
            size_t j = owned_index(e->op, cap);
            while (fresh[j].op != NULL) {
                j = (j + 1) & (cap - 1);
            }
            fresh[j] = *e;
        }
    }
    cyc_free(c, c->owned, c->owned_cap * sizeof(cyc_owned));
    c->owned = fresh;
    c->owned_cap = cap;
    return 0;
}

static int
visit_owned(PyObject *ref, void *arg)
{
    cyc_ctx *c = (cyc_ctx *)arg;
    if (table_find(c, ref) != NULL || PMT_IS_IMMORTAL(ref)) {
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
    cyc_owned *e = &c->owned[j];
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

static int
find_owned(cyc_ctx *c)
{
    c->owned_start = cyc_calloc(c, (size_t)c->ngroups + 1, sizeof(Py_ssize_t));
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
        cyc_owned *e = &c->owned[i];
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
    c->owned_list = cyc_calloc(c, (size_t)c->nowned, sizeof(PyObject *));
    if (c->owned_list == NULL) {
        c->nowned = 0;
        goto nomem;
    }
    for (size_t i = 0; i < c->owned_cap; i++) {
        cyc_owned *e = &c->owned[i];
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
    PyErr_NoMemory();
    return -1;
}

/* ---- step 6: the result ---------------------------------------------------- */

static PyObject *
materialize(cyc_ctx *c)
{
    PyObject *objects = NULL, *groups = NULL, *flags = NULL, *anomalies = NULL, *owned = NULL;
    PyObject *stats = NULL, *res = NULL;
    Py_ssize_t G = c->G;

    objects = PyList_New(G);
    groups = PyList_New(c->ngroups);
    flags = PyBytes_FromStringAndSize(NULL, G);
    anomalies = PyList_New(c->nbad);
    owned = PyList_New(c->nowned);
    if (objects == NULL || groups == NULL || flags == NULL || anomalies == NULL
        || owned == NULL) {
        goto done;
    }
    for (Py_ssize_t k = 0; k < c->nowned; k++) {
        PyList_SET_ITEM(owned, k, Py_NewRef(c->owned_list[k]));
    }
    char *fb = PyBytes_AS_STRING(flags);
    for (Py_ssize_t k = 0; k < G; k++) {
        Py_ssize_t v = c->out[k];
        PyList_SET_ITEM(objects, k, Py_NewRef(c->gop[v]));
        fb[k] = (char)c->flags[v];
    }
    for (Py_ssize_t g = 0; g < c->ngroups; g++) {
        Py_ssize_t end = g + 1 < c->ngroups ? c->gstart[g + 1] : G;
        Py_ssize_t nowned = c->nowned ? c->owned_start[g + 1] - c->owned_start[g] : 0;
        PyObject *t = Py_BuildValue("(nnOn)", c->gmembers[g], end - c->gstart[g],
                                    c->gcycle[g] ? Py_True : Py_False, nowned);
        if (t == NULL) {
            goto done;
        }
        PyList_SET_ITEM(groups, g, t);
    }
    for (int i = 0; i < c->nbad; i++) {
        PyObject *t = PyTuple_Pack(2, (PyObject *)c->bad_src[i], (PyObject *)c->bad_dst[i]);
        if (t == NULL) {
            goto done;
        }
        PyList_SET_ITEM(anomalies, i, t);
    }
    stats = Py_BuildValue("(nnn)", c->n, (Py_ssize_t)c->peak, c->nnegative);
    if (stats == NULL) {
        goto done;
    }
    res = PyTuple_Pack(6, objects, groups, flags, owned, anomalies, stats);
done:
    Py_XDECREF(owned);
    Py_XDECREF(objects);
    Py_XDECREF(groups);
    Py_XDECREF(flags);
    Py_XDECREF(anomalies);
    Py_XDECREF(stats);
    return res;
}

static PyObject *
run_analysis(PyObject *holder)
{
    cyc_ctx c;
    memset(&c, 0, sizeof(c));
    c.holder = holder;
    PyObject *res = NULL;
    int was_enabled = PyGC_Disable();
    if (build_table(&c) < 0) {
        goto done;
    }
    /* A Python audit hook for gc.get_objects (3.10/3.11) may have re-enabled
       the collector; from here on nothing may collect. */
    if (PyGC_Disable()) {
        was_enabled = 1;
    }
    if (subtract_refs(&c) < 0) {
        goto done;
    }
    if (mark_reachable(&c) < 0 || build_subgraph(&c) < 0) {
        goto done;
    }
    if (c.G > 0 && (tarjan(&c) < 0 || make_groups(&c) < 0 || make_flags(&c) < 0
                    || find_owned(&c) < 0)) {
        goto done;
    }
    /* The heap-sized arrays are no longer needed: free them before creating
       the result, so the peak is the analysis's own. */
    free_heap_arrays(&c);
    res = materialize(&c);
done:
    ctx_free(&c);
    if (was_enabled) {
        PyGC_Enable();
    }
    return res;
}

/* ---- module functions -------------------------------------------------------- */

static PyObject *
pmt_garbage_cycles(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames)
{
    static const char *const names[] = {"holder", NULL};
    PyObject *argv[1] = {Py_None};
    if (pmt_parse_args("garbage_cycles", args, nargs, kwnames, names, 0, argv) < 0) {
        return NULL;
    }
    return run_analysis(argv[0] == Py_None ? NULL : argv[0]);
}

static PyObject *
pmt_cycles_fail_after(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 0");
        return NULL;
    }
    fail_countdown = n;
    Py_RETURN_NONE;
}

PyMethodDef pmt_cycles_methods[] = {
    {"garbage_cycles", (PyCFunction)(void (*)(void))pmt_garbage_cycles,
     METH_FASTCALL | METH_KEYWORDS,
     "garbage_cycles(holder=None) -> (objects, groups, flags, owned, anomalies, stats).\n\n"
     "The GC objects that are cyclic garbage now, without collecting them. With\n"
     "holder, the references holder holds do not keep anything alive (used for\n"
     "gc.garbage). objects: new references, group after group; groups: one\n"
     "(loop_size, object_count, is_loop, owned_count) per group; flags: one byte\n"
     "per object; owned: the non-GC objects only a group refers to, group after group;\n"
     "anomalies: (traverser type, victim type) for negative counts; stats:\n"
     "(gc_objects, side_bytes_peak, negative_counts)."},
    {"_cycles_fail_after", pmt_cycles_fail_after, METH_O,
     "_cycles_fail_after(n): test hook, the n-th side allocation from now fails (0: off)."},
    {NULL, NULL, 0, NULL},
};
