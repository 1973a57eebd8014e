/* Which GC objects are cyclic garbage right now, without collecting,
   finalizing or moving anything (garbage_cycles(), see cycles.c).

   The collector's own reasoning (Python/gc.c: update_refs, subtract_refs,
   move_unreachable) replayed on a side table:

   1. walk:      note every GC-tracked object in a slot k of the walk order.
                 Each collector list is walked from both ends at once (two
                 chains of cache misses that overlap): objects met from the
                 front fill slots 0, 1, ... and those met from the back fill
                 slots n-1, n-2, ...; the slots between stay free. Should
                 the heap outgrow the slots (sized from the last call), the
                 headers go back, the objects are counted and the walk runs
                 again.
   2. table:     like update_refs, which keeps its refcount copies in the GC
                 header, each walked object's _gc_prev becomes
                 PMT_GC_MARK | count << 32 | k as the walk passes it: count is
                 a copy of the refcount, less the walk's own +1. So "is this
                 referent in the table, which k, and its count" is a read of
                 the header the tracked test loads anyway, not a probe into
                 a side table: one cache miss per reference, and no side
                 memory for the counts. Tracked objects the walk does not see
                 (frozen by gc.freeze(), in the permanent generation) stay
                 unmarked: outside the table. Immortal objects (3.12+) and
                 counts of 2**30 or more get a fixed large count: they are
                 roots.
   3. subtract:  tp_traverse of every object; each referent found in the
                 table has its count decremented and the edge is recorded
                 (source k -> target k, compressed sparse rows). What is left
                 is the number of references from outside the GC objects:
                 > 0 means a root. A count that would go below zero means
                 some tp_traverse visits a reference it does not own: noted
                 (once per type), and the object is a root.
   4. unmark:    one sweep in slot order reads each header's count (zero or
   5. reach:     not: a root) and puts its real word back. That word links
                 to the previous object in the collector's list, which is
                 the object in the slot before (order[k - 1]) on both sides:
                 from the back, the next object met is the previous one.
                 Only the few that differ (where each list starts and where
                 its two ends met, or a FINALIZED flag bit) were kept aside
                 by step 1, so no word per object is saved. The same sweep finds what is alive: an object the
                 sweep reaches alive (a root, or reached from an object
                 before it) has its recorded edges followed; an edge back
                 to an object the sweep has passed is followed at once,
                 depth first (explicit stack, no recursion, no second
                 traverse). The rest is garbage.
   6. subgraph:  the garbage (in slot order) and the edges between garbage,
                 which scc.c groups into cycles.

   No Python code runs during steps 1-5, and none may until the headers are
   back: a failed allocation only sets c->oom, the headers are put back
   (by the sweep, or by pmt_garbage_free_heap() when it was not reached)
   and the MemoryError is raised after (see garbage.h). The collector is
   disabled for the whole call and its state restored on every exit. All
   side memory is counted, so the call can say how many bytes per GC object
   it needed: 8 for the walk order, 4 for the edge offsets (both with a
   sixteenth more for free slots), a bit for the
   alive set, up to 4 for the reachability stack, and 4 per reference
   between GC objects. */

#include "garbage.h"
#include "walk.h"

#define RING PMT_CYC_RING
#define MAX_ANOMALIES PMT_CYC_MAX_ANOMALIES
#define AHEAD 32                      /* objects prefetched ahead of a pass */
#define NOT_IN_TABLE UINT32_MAX       /* pmt_gc_marked_index(): unmarked */

/* The count in a marked header (bits 32-62, below PMT_GC_MARK). */
#define COUNT_SHIFT 32
#define COUNT_MASK ((uintptr_t)0x7FFFFFFF)
#define COUNT_ONE ((uintptr_t)1 << COUNT_SHIFT)
#define COUNT_CAP ((uintptr_t)1 << 30)        /* counts at or above it: a root */
#define COUNT_NEGATIVE COUNT_MASK             /* went below zero (sticky): a root */
#define COUNT_OF(h) ((h) >> COUNT_SHIFT & COUNT_MASK)

/* A bit set by k (alive). */
#define BIT_WORDS(n) (((size_t)(n) + 63) / 64)
#define BIT_TEST(set, k) ((set)[(k) >> 6] >> ((k) & 63) & 1)
#define BIT_SET(set, k) ((set)[(k) >> 6] |= (uint64_t)1 << ((k) & 63))

/* The GC header address of op (PyGC_Head, right before the object), as
   _gc_prev of the next object in the collector's list holds it. */
#define GC_HEAD_ADDR(op) ((uintptr_t)(op) - 2 * sizeof(uintptr_t))

/* How many objects and references the last analysis saw: the next one
   sizes its arrays from them instead of growing (and copying) them. */
static Py_ssize_t last_objects = 0, last_references = 0;

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
        pmt_raw_advise_huge(q, new_bytes);    /* the heap-sized arrays: fewer faults */
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

/* Sizes *arr to hold want items now (a size hint: no doubling). 0 or -1. */
static int
cyc_reserve(pmt_cyc *c, void **arr, Py_ssize_t *cap, Py_ssize_t want, size_t elem)
{
    if (want <= *cap) {
        return 0;
    }
    if (want > PY_SSIZE_T_MAX / (Py_ssize_t)elem) {
        return -1;
    }
    void *p = cyc_realloc(c, *arr, (size_t)*cap * elem, (size_t)want * elem);
    if (p == NULL) {
        return -1;
    }
    *arr = p;
    *cap = want;
    return 0;
}

/* The size hint for a table that held last items: a little more. */
static Py_ssize_t
hinted(Py_ssize_t last)
{
    return last + last / 16 + 1024;
}

/* ---- the slots ------------------------------------------------------------------- */

/* The walked slots in ascending order: [0, nfront), then [back, n). */
static inline Py_ssize_t
first_slot(const pmt_cyc *c)
{
    return c->nfront > 0 ? 0 : c->back;
}

static inline Py_ssize_t
next_slot(const pmt_cyc *c, Py_ssize_t k)
{
    return ++k == c->nfront ? c->back : k;
}

/* The slot AHEAD slots after the first (n when there is none): a pass
   prefetches order[ahead] and moves it on with next_slot(). */
static Py_ssize_t
first_ahead(const pmt_cyc *c)
{
    Py_ssize_t p = first_slot(c);
    for (int i = 0; i < AHEAD && p < c->n; i++) {
        p = next_slot(c, p);
    }
    return p;
}

/* ---- the headers back on any failure, and the end of it all -------------------- */

/* Where the sweep is in c->unlinked (ascending) and c->unlinked_back
   (descending), for k = first_slot(), next_slot()... in turn. */
typedef struct {
    Py_ssize_t front, back;
} unlinked_cursor;

static inline unlinked_cursor
cursor_start(const pmt_cyc *c)
{
    return (unlinked_cursor){.front = 0, .back = c->nunlinked_back - 1};
}

/* The real _gc_prev of order[k]. The first slot of each side is unlinked,
   so order[k - 1] is a walked slot of the same side. */
static inline uintptr_t
real_word(const pmt_cyc *c, Py_ssize_t k, unlinked_cursor *u)
{
    if (k < c->nfront) {
        if (u->front < c->nunlinked && c->unlinked[u->front].k == k) {
            return c->unlinked[u->front++].word;
        }
    }
    else if (u->back >= 0 && c->unlinked_back[u->back].k == k) {
        return c->unlinked_back[u->back--].word;
    }
    return GC_HEAD_ADDR(c->order[k - 1]);
}

/* Puts back the header of slot k, for k in slot order from first_slot()
   (*u from cursor_start(), *p from first_ahead() follow it), prefetching
   the header AHEAD slots on; returns the marked word it held. */
static inline uintptr_t
restore_slot(const pmt_cyc *c, Py_ssize_t k, Py_ssize_t *p, unlinked_cursor *u)
{
    if (*p < c->n) {
        PMT_PREFETCH_W(&PMT_GC_PREV(c->order[*p]));
        *p = next_slot(c, *p);
    }
    PyObject *op = c->order[k];
    uintptr_t h = PMT_GC_PREV(op);
    PMT_GC_PREV(op) = real_word(c, k, u);
    return h;
}

/* Puts the headers of every walked slot back, if still marked. */
static void
unmark_table(pmt_cyc *c)
{
    if (!c->marked) {
        return;
    }
    unlinked_cursor u = cursor_start(c);
    Py_ssize_t p = first_ahead(c);
    for (Py_ssize_t k = first_slot(c); k < c->n; k = next_slot(c, k)) {
        (void)restore_slot(c, k, &p, &u);
    }
    c->marked = 0;
}

void
pmt_garbage_free_heap(pmt_cyc *c)
{
    unmark_table(c);
    pmt_cyc_free(c, c->unlinked, (size_t)c->unlinked_cap * sizeof(pmt_cyc_unlinked));
    c->unlinked = NULL;
    c->nunlinked = c->unlinked_cap = 0;
    pmt_cyc_free(c, c->unlinked_back, (size_t)c->unlinked_back_cap * sizeof(pmt_cyc_unlinked));
    c->unlinked_back = NULL;
    c->nunlinked_back = c->unlinked_back_cap = 0;
    pmt_cyc_free(c, c->order, (size_t)c->n * sizeof(PyObject *));
    c->order = NULL;
    pmt_cyc_free(c, c->hoff, ((size_t)c->n + 1) * sizeof(uint32_t));
    c->hoff = NULL;
    pmt_cyc_free(c, c->hedges, (size_t)c->hecap * sizeof(uint32_t));
    c->hedges = NULL;
    c->hecap = 0;
    pmt_cyc_free(c, c->alive, BIT_WORDS(c->n) * sizeof(uint64_t));
    c->alive = NULL;
    c->n = c->nfront = c->back = 0;
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

/* ---- steps 1-2: the walk and the table in the headers ---------------------------- */

/* Slots for the walk, all free: want of them, or more when order has more. */
static int
reset_slots(pmt_cyc *c, Py_ssize_t want)
{
    if (want >= (Py_ssize_t)(UINT32_MAX / 2)) {
        c->too_many = 1;              /* k has 31 bits in the header */
        return -1;
    }
    if (cyc_reserve(c, (void **)&c->order, &c->n, want, sizeof(PyObject *)) < 0) {
        c->oom = 1;
        return -1;
    }
    c->nfront = 0;
    c->back = c->n;
    c->nunlinked = c->nunlinked_back = 0;
    c->pending = 0;
    c->overflow = 0;
    return 0;
}

/* A free slot for the next object: 0, or 1 to stop the walk. With nothing
   met from the back (a walk from the front only) order can grow; else the
   back slots cannot move (their k are in the headers): c->overflow. */
static int
need_slot(pmt_cyc *c)
{
    if (c->nfront < c->back) {
        return 0;
    }
    if (c->back < c->n) {
        c->overflow = 1;
        return 1;
    }
    if (c->n >= (Py_ssize_t)(UINT32_MAX / 4)) {
        c->too_many = 1;
        return 1;
    }
    if (pmt_cyc_grow(c, (void **)&c->order, &c->n, c->n + 1, sizeof(PyObject *)) < 0) {
        c->oom = 1;
        return 1;
    }
    c->back = c->n;
    return 0;
}

/* Records the real word of front slot k. 0, or -1 with c->oom (before its
   header is marked). */
static int
record_unlinked(pmt_cyc *c, Py_ssize_t k, uintptr_t word)
{
    if (c->nunlinked == c->unlinked_cap
        && pmt_cyc_grow(c, (void **)&c->unlinked, &c->unlinked_cap, c->nunlinked + 1,
                        sizeof(pmt_cyc_unlinked)) < 0) {
        c->oom = 1;
        return -1;
    }
    c->unlinked[c->nunlinked].k = k;
    c->unlinked[c->nunlinked++].word = word;
    return 0;
}

/* The back slot filled last is unlinked unless op, the next object met
   from the back, is its real predecessor (op NULL: the walk is over). Room
   for its record was made before its header was marked: this cannot fail. */
static void
settle_pending(pmt_cyc *c, PyObject *op)
{
    if (c->pending && (op == NULL || c->pend.word != GC_HEAD_ADDR(op))) {
        c->unlinked_back[c->nunlinked_back++] = c->pend;
    }
    c->pending = 0;
}

/* Steps 1-2 at once: the walk has just read op's GC header (its _gc_next),
   so the mark costs no extra cache miss. The walk holds op (+1) during the
   call, hence the - 1. Never raises (returns 1 to stop): the failure is
   raised once the headers are back. */
static int
note_visit(PyObject *op, int from_back, void *arg)
{
    pmt_cyc *c = (pmt_cyc *)arg;
    if (need_slot(c) != 0) {
        return 1;
    }
    uintptr_t real = PMT_GC_PREV(op);
    Py_ssize_t k;
    if (!from_back) {
        k = c->nfront;
        if ((k == 0 || real != GC_HEAD_ADDR(c->order[k - 1]))
            && record_unlinked(c, k, real) < 0) {
            return 1;
        }
        c->nfront = k + 1;
    }
    else {
        /* room for the pending record and for this one's */
        if (pmt_cyc_grow(c, (void **)&c->unlinked_back, &c->unlinked_back_cap,
                         c->nunlinked_back + 2, sizeof(pmt_cyc_unlinked)) < 0) {
            c->oom = 1;
            return 1;
        }
        settle_pending(c, op);
        k = --c->back;
        c->pending = 1;
        c->pend.k = k;
        c->pend.word = real;
    }
    uintptr_t count = (uintptr_t)(Py_REFCNT(op) - 1);
    if (PMT_IS_IMMORTAL(op) || count >= COUNT_CAP) {
        count = COUNT_CAP;
    }
    c->order[k] = op;
    PMT_GC_PREV(op) = PMT_GC_MARK | count << COUNT_SHIFT | (uintptr_t)k;
    return 0;
}

static int
count_visit(PyObject *Py_UNUSED(op), void *arg)
{
    (*(Py_ssize_t *)arg)++;
    return 0;
}

static int
build_table(pmt_cyc *c)
{
    Py_ssize_t want = hinted(last_objects);
    for (;;) {
        if (reset_slots(c, want) < 0) {
            return -1;
        }
        /* From here on the headers of the walked slots are marked.
           note_visit never returns -1, so the walk cannot fail with an
           exception (a Python object) made while headers are marked. */
        c->marked = 1;
        (void)pmt_walk_heap_ends(note_visit, c);
        settle_pending(c, NULL);
        if (!c->overflow) {
            break;
        }
        /* More objects than slots: the headers go back, and the walk runs
           again with a slot for each. No Python code runs and the collector
           is disabled, so the count still holds when the walk runs. */
        unmark_table(c);
        Py_ssize_t count = 0;
        (void)pmt_walk_heap_unordered(count_visit, &count);
        want = hinted(count);
    }
    c->nobjects = c->nfront + (c->n - c->back);
    if (c->oom || c->too_many) {
        return -1;
    }
    c->holder_k = c->holder != NULL ? pmt_gc_marked_index(c->holder) : NOT_IN_TABLE;
    return 0;
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

/* Looks referent op of object src up: if it is in the table, decrements its
   count (in the header the test just read) and appends the edge src -> its
   k, counted in hoff[src + 1]. 0, or -1 with c->oom or c->too_many. */
static inline int
take(pmt_cyc *c, PyObject *op, uint32_t src)
{
    if (!pmt_gc_is_tracked(op)) {
        return 0;
    }
    uintptr_t h = PMT_GC_PREV(op);
    if (!(h & PMT_GC_MARK)) {
        return 0;                     /* tracked, not walked: frozen */
    }
    if (c->hne == c->hecap) {
        if (c->hne >= (Py_ssize_t)UINT32_MAX) {
            c->too_many = 1;          /* the offsets are 32-bit */
            return -1;
        }
        if (pmt_cyc_grow(c, (void **)&c->hedges, &c->hecap, c->hne + 1, sizeof(uint32_t)) < 0) {
            c->oom = 1;
            return -1;
        }
    }
    uintptr_t count = COUNT_OF(h);
    if (count == 0) {
        note_negative(c, c->order[src], op);
        PMT_GC_PREV(op) = h | COUNT_NEGATIVE << COUNT_SHIFT;
    }
    else if (count != COUNT_NEGATIVE) {
        PMT_GC_PREV(op) = h - COUNT_ONE;
    }
    c->hoff[src + 1]++;
    c->hedges[c->hne++] = (uint32_t)h;
    return 0;
}

/* Looks up every referent still waiting, oldest first. 0 or -1. */
static int
drain_ring(pmt_cyc *c)
{
    while (c->nring > 0) {
        int slot = c->ringhead;
        c->ringhead = (c->ringhead + 1) & (RING - 1);
        c->nring--;
        if (take(c, c->ring[slot], c->ringsrc[slot]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Queues referent ref of the object being traversed, its header prefetched;
   the one queued RING referents ago is looked up now (so edges stay in
   visit order). 0 or -1. */
static inline int
enqueue(pmt_cyc *c, PyObject *ref)
{
    PMT_PREFETCH_W((uintptr_t *)ref - 2);
    PMT_PREFETCH(ref);
    int slot = (c->ringhead + c->nring) & (RING - 1);
    if (c->nring == RING) {
        if (take(c, c->ring[slot], c->ringsrc[slot]) < 0) {
            return -1;
        }
        c->ringhead = (c->ringhead + 1) & (RING - 1);
        c->nring--;
    }
    c->ring[slot] = ref;
    c->ringsrc[slot] = c->curk;
    c->nring++;
    return 0;
}

static int
visit_decref(PyObject *ref, void *arg)
{
    return enqueue((pmt_cyc *)arg, ref) < 0 ? 1 : 0;
}

/* What tp_traverse of op does with visit_decref. Exact lists and tuples
   (public layouts, a large share of most heaps) are read here, without a
   call per item, last item first as their tp_traverse visits them; the
   rest go through tp_traverse. 0 or -1. */
static int
traverse_decref(pmt_cyc *c, PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject **items;
    Py_ssize_t size;
    if (tp == &PyList_Type) {
        items = ((PyListObject *)op)->ob_item;
        size = Py_SIZE(op);
    }
    else if (tp == &PyTuple_Type) {
        items = ((PyTupleObject *)op)->ob_item;
        size = Py_SIZE(op);
    }
    else {
        if (tp->tp_traverse != NULL) {
            (void)tp->tp_traverse(op, visit_decref, c);
        }
        return c->oom || c->too_many ? -1 : 0;
    }
    for (Py_ssize_t i = size - 1; i >= 0; i--) {
        if (items[i] != NULL && enqueue(c, items[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
subtract_refs(pmt_cyc *c)
{
    c->hoff = cyc_realloc(c, NULL, 0, ((size_t)c->n + 1) * sizeof(uint32_t));
    if (c->hoff == NULL
        || (last_references > 0
            && cyc_reserve(c, (void **)&c->hedges, &c->hecap, hinted(last_references),
                           sizeof(uint32_t)) < 0)) {
        c->oom = 1;
        return -1;
    }
    /* hoff[k + 1] counts k's edges: zero for the free slots, and for each
       walked one before any of its edges is counted */
    c->hoff[0] = 0;
    memset(c->hoff + c->nfront + 1, 0, (size_t)(c->back - c->nfront) * sizeof(uint32_t));
    Py_ssize_t p = first_ahead(c);
    for (Py_ssize_t k = first_slot(c); k < c->n; k = next_slot(c, k)) {
        if (p < c->n) {
            PMT_PREFETCH(c->order[p]);
            p = next_slot(c, p);
        }
        c->hoff[k + 1] = 0;
        c->curk = (uint32_t)k;
        if (traverse_decref(c, c->order[k]) < 0) {
            return -1;
        }
    }
    if (drain_ring(c) < 0) {
        return -1;
    }
    for (Py_ssize_t k = 0; k < c->n; k++) {     /* counts to offsets */
        c->hoff[k + 1] += c->hoff[k];
    }
    return 0;
}

/* ---- steps 4-5: the headers back, and reachability from the roots ----------- */

/* Marks t alive if it was not; one more reached. */
static inline int
reach(pmt_cyc *c, uint32_t t)
{
    if (BIT_TEST(c->alive, t)) {
        return 0;
    }
    BIT_SET(c->alive, t);
    c->nreached++;
    return 1;
}

/* Follows the edges of alive object sweep, where the sweep is: what they
   reach beyond it waits for the sweep, what is behind it is expanded now,
   depth first. The holder's references are not followed. 0, or -1 when
   the stack cannot grow. */
static int
expand(pmt_cyc *c, uint32_t sweep, uint32_t **stack, Py_ssize_t *cap)
{
    Py_ssize_t sp = 0;
    uint32_t k = sweep;
    for (;;) {
        if (k != c->holder_k) {
            uint32_t e = c->hoff[k], end = c->hoff[k + 1];
            if (sp + (Py_ssize_t)(end - e) > *cap
                && pmt_cyc_grow(c, (void **)stack, cap, sp + (Py_ssize_t)(end - e),
                                sizeof(uint32_t)) < 0) {
                return -1;
            }
            for (; e < end; e++) {
                uint32_t t = c->hedges[e];
                if (reach(c, t) && t < sweep) {
                    (*stack)[sp++] = t;
                }
            }
        }
        if (sp == 0) {
            return 0;
        }
        k = (*stack)[--sp];
    }
}

/* Steps 4-5 in one sweep in slot order, which reads the headers and the
   edges in the order they were written: each header's count says whether
   it is a root, then its real word goes back; an object alive when the
   sweep reaches it (a root, or reached from an object before it) is
   expanded. Each alive object is expanded once. If memory runs out the
   headers still all go back (then -1 with c->oom). */
static int
unmark_and_reach(pmt_cyc *c)
{
    uint32_t *stack = NULL;
    Py_ssize_t cap = 0;
    c->alive = pmt_cyc_calloc(c, BIT_WORDS(c->n), sizeof(uint64_t));
    if (c->alive == NULL) {
        c->oom = 1;
        unmark_table(c);
        return -1;
    }
    for (Py_ssize_t k = c->nfront; k < c->back; k++) {
        BIT_SET(c->alive, k);         /* free slots: not garbage, not counted */
    }
    unlinked_cursor u = cursor_start(c);
    Py_ssize_t p = first_ahead(c);
    for (Py_ssize_t k = first_slot(c); k < c->n; k = next_slot(c, k)) {
        uintptr_t h = restore_slot(c, k, &p, &u);
        if (c->oom) {
            continue;                 /* only the headers, now */
        }
        if (COUNT_OF(h) != 0) {
            reach(c, (uint32_t)k);
        }
        if (BIT_TEST(c->alive, k) && expand(c, (uint32_t)k, &stack, &cap) < 0) {
            c->oom = 1;
        }
    }
    c->marked = 0;
    pmt_cyc_free(c, stack, (size_t)cap * sizeof(uint32_t));
    return c->oom ? -1 : 0;
}

/* ---- the garbage's referents ------------------------------------------------ */

/* Objects outside the table (strs, bytes, ints, untracked tuples...) that the
   garbage refers to as many times as their refcount, all from one group, die
   with that group: they count in its size. One level deep. The headers are
   back by then, so step 6 enters the garbage's referents that are in the
   table (its recorded edges) as PMT_CYC_IN_TABLE: not counted. */

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

/* The entry of op, made (with group) if missing; NULL when out of memory. */
static pmt_cyc_owned *
owned_entry(pmt_cyc *c, PyObject *op, Py_ssize_t group)
{
    if (2 * (c->owned_used + 1) > c->owned_cap && owned_grow(c) < 0) {
        return NULL;
    }
    size_t j = owned_index(op, c->owned_cap);
    while (c->owned[j].op != NULL && c->owned[j].op != op) {
        j = (j + 1) & (c->owned_cap - 1);
    }
    pmt_cyc_owned *e = &c->owned[j];
    if (e->op == NULL) {
        e->op = op;
        e->group = group;
        c->owned_used++;
    }
    return e;
}

static int
visit_owned(PyObject *ref, void *arg)
{
    pmt_cyc *c = (pmt_cyc *)arg;
    if (PMT_IS_IMMORTAL(ref)) {
        return 0;                     /* never freed */
    }
    pmt_cyc_owned *e = owned_entry(c, ref, c->cur_group);
    if (e == NULL) {
        c->oom = 1;
        return 1;
    }
    if (e->group == PMT_CYC_IN_TABLE) {
        return 0;                     /* a GC object: counted where it belongs */
    }
    if (e->group != c->cur_group) {
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

/* ---- step 6: the garbage subgraph -------------------------------------------- */

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

/* Numbers the garbage in slot order and copies its edges; every referent
   they lead to, garbage or not, is entered as in the table (see above). */
static int
build_subgraph(pmt_cyc *c)
{
    Py_ssize_t G = c->nobjects - c->nreached;
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
        if ((k & 63) == 0 && c->alive[k >> 6] == UINT64_MAX) {
            k += 63;                  /* 64 alive */
            continue;
        }
        if (!BIT_TEST(c->alive, k)) {
            c->gk[g] = (uint32_t)k;
            c->gop[g++] = c->order[k];
        }
    }
    for (g = 0; g < G; g++) {
        uint32_t k = c->gk[g];
        c->eoff[g] = c->ne;
        for (uint32_t e = c->hoff[k], end = c->hoff[k + 1]; e < end; e++) {
            uint32_t t = c->hedges[e];
            pmt_cyc_owned *entry = owned_entry(c, c->order[t], PMT_CYC_IN_TABLE);
            if (entry == NULL) {
                goto nomem;
            }
            entry->group = PMT_CYC_IN_TABLE;
            if (BIT_TEST(c->alive, t)) {
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

/* ---- steps 1-6 ------------------------------------------------------------------ */

int
pmt_garbage_find(pmt_cyc *c)
{
    if (build_table(c) < 0 || subtract_refs(c) < 0 || unmark_and_reach(c) < 0) {
        return -1;
    }
    last_objects = c->nobjects;
    last_references = c->hne;
    return build_subgraph(c);
}
