/* Breadth-first searches over references. Backwards (who refers to X) they
   run over a reference index built for the call; forwards (what X refers
   to) they call tp_traverse of each expanded object, as gc.get_referents
   does. Every search holds a strong reference to each object it has met
   until it returns, so Python code it runs (predicate, filter) cannot free
   them under it, and it returns only after dropping all of them. */
#include "refs.h"
#include "args.h"
#include "refindex.h"

#define PMT_UNSEEN UINT32_MAX

typedef struct {
    int backrefs;
    pmt_refindex ix;            /* backwards: the whole heap */
    PyObject **fobjs;           /* forwards: the objects met so far (held) */
    Py_ssize_t fn, fcap;
    pmt_ptrmap fmap;
    pmt_node *parent;           /* per node */
    uint32_t *depth;            /* per node, PMT_UNSEEN until queued */
    Py_ssize_t statecap;
    pmt_node *queue;
    Py_ssize_t qhead, qtail, qcap;
    uintptr_t *ignore;          /* sorted ids never entered */
    Py_ssize_t nignore;
    PyObject **nbr;             /* neighbours of the node being expanded (held) */
    pmt_node *nbrnode;          /* backwards: their nodes */
    Py_ssize_t nnbr, nbrcap;
    pmt_node *starts;           /* the nodes of the targets */
    int oom;
} search;

static PyObject *
node_obj(const search *s, pmt_node v)
{
    return s->backrefs ? s->ix.objs[v] : s->fobjs[v];
}

static int
grow_state(search *s, Py_ssize_t need)
{
    if (need <= s->statecap) {
        return 0;
    }
    Py_ssize_t cap = s->statecap ? s->statecap : 256;
    while (cap < need) {
        cap *= 2;
    }
    pmt_node *parent = pmt_raw_realloc(s->parent, (size_t)cap * sizeof(pmt_node));
    if (parent != NULL) {
        s->parent = parent;
    }
    uint32_t *depth = parent ? pmt_raw_realloc(s->depth, (size_t)cap * sizeof(uint32_t)) : NULL;
    if (depth == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    s->depth = depth;
    for (Py_ssize_t i = s->statecap; i < cap; i++) {
        s->depth[i] = PMT_UNSEEN;
        s->parent[i] = PMT_NO_NODE;
    }
    s->statecap = cap;
    return 0;
}

static pmt_node node_of(search *s, PyObject *op);

/* Sets up a search that will start from targets[0 .. ntargets): their
   nodes are s->starts[0 .. ntargets). */
static int
search_init(search *s, int backrefs, PyObject *const *targets, Py_ssize_t ntargets,
            PyObject *ignore_ids)
{
    memset(s, 0, sizeof(*s));
    s->backrefs = backrefs;
    if (pmt_read_ids(ignore_ids, "extra_ignore", &s->ignore, &s->nignore) < 0) {
        return -1;
    }
    s->starts = pmt_raw_malloc((size_t)(ntargets ? ntargets : 1) * sizeof(pmt_node));
    if (s->starts == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (backrefs) {
        if (pmt_refindex_build(&s->ix, targets, ntargets, s->starts) < 0) {
            return -1;
        }
        return grow_state(s, s->ix.n);
    }
    pmt_ptrmap_init(&s->fmap);
    for (Py_ssize_t j = 0; j < ntargets; j++) {
        s->starts[j] = node_of(s, targets[j]);
        if (s->starts[j] == PMT_NO_NODE) {
            return -1;
        }
    }
    return 0;
}

static void
clear_neighbours(search *s)
{
    Py_ssize_t n = s->nnbr;
    s->nnbr = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_DECREF(s->nbr[i]);
    }
}

static void
search_free(search *s)
{
    clear_neighbours(s);
    pmt_raw_free(s->nbr);
    pmt_raw_free(s->nbrnode);
    pmt_raw_free(s->starts);
    pmt_raw_free(s->parent);
    pmt_raw_free(s->depth);
    pmt_raw_free(s->queue);
    pmt_raw_free(s->ignore);
    pmt_ptrmap_clear(&s->fmap);
    PyObject **fobjs = s->fobjs;
    Py_ssize_t fn = s->fn;
    s->fobjs = NULL;
    s->fn = 0;
    for (Py_ssize_t i = 0; i < fn; i++) {
        Py_DECREF(fobjs[i]);
    }
    pmt_raw_free(fobjs);
    pmt_refindex_free(&s->ix);
}

/* Forwards: the node of op, added when new. PMT_NO_NODE with an exception. */
static pmt_node
node_of(search *s, PyObject *op)
{
    pmt_node v = pmt_node_of(&s->fmap, op);
    if (v != PMT_NO_NODE) {
        return v;
    }
    if (s->fn >= (Py_ssize_t)PMT_NO_NODE - 1) {
        PyErr_SetString(PyExc_MemoryError, "too many objects in one search");
        return PMT_NO_NODE;
    }
    if (s->fn == s->fcap) {
        Py_ssize_t cap = s->fcap ? s->fcap * 2 : 256;
        PyObject **objs = pmt_raw_realloc(s->fobjs, (size_t)cap * sizeof(PyObject *));
        if (objs == NULL) {
            PyErr_NoMemory();
            return PMT_NO_NODE;
        }
        s->fobjs = objs;
        s->fcap = cap;
    }
    v = (pmt_node)s->fn;
    if (grow_state(s, s->fn + 1) < 0 || pmt_ptrmap_put(&s->fmap, pmt_ptrkey(op), v) < 0) {
        return PMT_NO_NODE;
    }
    s->fobjs[s->fn++] = Py_NewRef(op);
    return v;
}

static int
push(search *s, pmt_node v, uint32_t depth, pmt_node parent)
{
    if (s->qtail == s->qcap) {
        Py_ssize_t cap = s->qcap ? s->qcap * 2 : 256;
        pmt_node *q = pmt_raw_realloc(s->queue, (size_t)cap * sizeof(pmt_node));
        if (q == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        s->queue = q;
        s->qcap = cap;
    }
    s->queue[s->qtail++] = v;
    s->depth[v] = depth;
    s->parent[v] = parent;
    return 0;
}

static int
hold_neighbour(search *s, PyObject *op, pmt_node v)
{
    if (s->nnbr == s->nbrcap) {
        Py_ssize_t cap = s->nbrcap ? s->nbrcap * 2 : 64;
        PyObject **nbr = pmt_raw_realloc(s->nbr, (size_t)cap * sizeof(PyObject *));
        if (nbr != NULL) {
            s->nbr = nbr;
        }
        pmt_node *nodes = nbr == NULL ? NULL
                          : pmt_raw_realloc(s->nbrnode, (size_t)cap * sizeof(pmt_node));
        if (nodes == NULL) {
            s->oom = 1;
            return -1;
        }
        s->nbrnode = nodes;
        s->nbrcap = cap;
    }
    s->nbrnode[s->nnbr] = v;
    s->nbr[s->nnbr++] = Py_NewRef(op);
    return 0;
}

/* The node of neighbour i: known backwards, looked up (or added) forwards. */
static pmt_node
neighbour_node(search *s, Py_ssize_t i)
{
    return s->backrefs ? s->nbrnode[i] : node_of(s, s->nbr[i]);
}

static int
referent_visit(PyObject *op, void *arg)
{
    return hold_neighbour((search *)arg, op, PMT_NO_NODE);
}

/* Fills s->nbr as objgraph's edge function would: gc.get_referrers (each
   referrer once, heap order) backwards, gc.get_referents (tp_traverse order,
   repeats kept) forwards. 0, or -1 with an exception. */
static int
neighbours(search *s, pmt_node u)
{
    clear_neighbours(s);
    s->oom = 0;
    if (s->backrefs) {
        const pmt_refindex *ix = &s->ix;
        for (Py_ssize_t k = ix->roff[u]; k < ix->roff[u + 1]; k++) {
            if (k > ix->roff[u] && ix->rsrc[k] == ix->rsrc[k - 1]) {
                continue;
            }
            if (hold_neighbour(s, ix->objs[ix->rsrc[k]], ix->rsrc[k]) < 0) {
                break;
            }
        }
    }
    else {
        PyObject *op = s->fobjs[u];
        traverseproc traverse = Py_TYPE(op)->tp_traverse;
        if (PyObject_IS_GC(op) && traverse != NULL && traverse(op, referent_visit, s) != 0
            && !s->oom && !PyErr_Occurred()) {
            PyErr_Format(PyExc_SystemError, "tp_traverse of %.100s failed", Py_TYPE(op)->tp_name);
            return -1;
        }
    }
    if (s->oom) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int
ignored(const search *s, PyObject *op)
{
    return pmt_ids_contain(s->ignore, s->nignore, op);
}

/* [node v, its parent, ..., the start], reversed when reverse is true. */
static PyObject *
chain_list(const search *s, pmt_node v, int reverse)
{
    Py_ssize_t len = 0;
    for (pmt_node w = v; w != PMT_NO_NODE; w = s->parent[w]) {
        len++;
    }
    PyObject *list = PyList_New(len);
    if (list == NULL) {
        return NULL;
    }
    Py_ssize_t i = 0;
    for (pmt_node w = v; w != PMT_NO_NODE; w = s->parent[w], i++) {
        PyList_SET_ITEM(list, reverse ? len - 1 - i : i, Py_NewRef(node_obj(s, w)));
    }
    return list;
}

static int
as_depth(PyObject *value, const char *what, Py_ssize_t *out)
{
    if (!PyLong_Check(value) || PyBool_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what,
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    *out = PyLong_AsSsize_t(value);
    if (*out == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        PyObject *zero = PyLong_FromLong(0);
        int negative = zero == NULL ? -1 : PyObject_RichCompareBool(value, zero, Py_LT);
        Py_XDECREF(zero);
        if (negative < 0) {
            return -1;
        }
        *out = negative ? -1 : PY_SSIZE_T_MAX;
    }
    if (*out < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0", what);
        return -1;
    }
    return 0;
}

static int
check_callable(PyObject *value, const char *what)
{
    if (value != Py_None && !PyCallable_Check(value)) {
        PyErr_Format(PyExc_TypeError, "%s must be callable or None, not %.100s", what,
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    return 0;
}

/* ---- find_chain ----------------------------------------------------------- */

/* Whether op ends the search: in stop ids, or predicate(op) is true. -1 on error. */
static int
matches(PyObject *op, PyObject *predicate, const uintptr_t *stop, Py_ssize_t nstop)
{
    if (predicate == Py_None) {
        return pmt_ids_contain(stop, nstop, op);
    }
    PyObject *r = PyObject_CallOneArg(predicate, op);
    if (r == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(r);
    Py_DECREF(r);
    return truth;
}

static PyObject *
pmt_find_chain(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
               PyObject *kwnames)
{
    static const char *const names[] = {"obj", "predicate", "max_depth", "extra_ignore",
                                        "backrefs", "stop_ids", NULL};
    PyObject *argv[6] = {NULL, Py_None, NULL, Py_None, Py_True, Py_None};
    if (pmt_parse_args("find_chain", args, nargs, kwnames, names, 3, argv) < 0) {
        return NULL;
    }
    PyObject *obj = argv[0], *predicate = argv[1];
    Py_ssize_t max_depth;
    int backrefs = PyObject_IsTrue(argv[4]);
    if (backrefs < 0 || as_depth(argv[2], "max_depth", &max_depth) < 0
        || check_callable(predicate, "predicate") < 0) {
        return NULL;
    }
    uintptr_t *stop = NULL;
    Py_ssize_t nstop = 0;
    if (pmt_read_ids(argv[5], "stop_ids", &stop, &nstop) < 0) {
        return NULL;
    }
    search s;
    PyObject *res = NULL;
    if (search_init(&s, backrefs, &obj, 1, argv[3]) < 0) {
        goto done;
    }
    if (push(&s, s.starts[0], 0, PMT_NO_NODE) < 0) {
        goto done;
    }
    while (s.qhead < s.qtail) {
        pmt_node u = s.queue[s.qhead++];
        int m = matches(node_obj(&s, u), predicate, stop, nstop);
        if (m < 0) {
            goto done;
        }
        if (m) {
            res = chain_list(&s, u, !backrefs);
            goto done;
        }
        if ((Py_ssize_t)s.depth[u] >= max_depth) {
            continue;
        }
        if (neighbours(&s, u) < 0) {
            goto done;
        }
        for (Py_ssize_t i = 0; i < s.nnbr; i++) {
            if (ignored(&s, s.nbr[i])) {
                continue;
            }
            pmt_node v = neighbour_node(&s, i);
            if (v == PMT_NO_NODE) {
                goto done;
            }
            if (s.depth[v] == PMT_UNSEEN && push(&s, v, s.depth[u] + 1, u) < 0) {
                goto done;
            }
        }
    }
    res = PyList_New(1);                    /* not found: [obj], as objgraph */
    if (res != NULL) {
        PyList_SET_ITEM(res, 0, Py_NewRef(obj));
    }
done:
    pmt_raw_free(stop);
    search_free(&s);
    return res;
}

/* ---- ref_graph ------------------------------------------------------------ */

/* One expanded (or reached) node: (obj, depth, neighbours or None, skipped). */
static int
append_entry(PyObject *entries, PyObject *obj, uint32_t depth, PyObject *nbrs, Py_ssize_t skipped)
{
    PyObject *entry = Py_BuildValue("(OIOn)", obj, (unsigned int)depth, nbrs ? nbrs : Py_None,
                                    skipped);
    if (entry == NULL) {
        return -1;
    }
    int r = PyList_Append(entries, entry);
    Py_DECREF(entry);
    return r;
}

/* Expands u as objgraph's _show_graph does: filter, then at most too_many. */
static PyObject *
expand(search *s, pmt_node u, PyObject *filter, Py_ssize_t too_many, Py_ssize_t *skipped)
{
    PyObject *list = PyList_New(0);
    if (list == NULL || neighbours(s, u) < 0) {
        Py_XDECREF(list);
        return NULL;
    }
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < s->nnbr; i++) {
        PyObject *op = s->nbr[i];
        if (ignored(s, op)) {
            continue;
        }
        if (filter != Py_None) {
            int keep = matches(op, filter, NULL, 0);
            if (keep < 0) {
                goto error;
            }
            if (!keep) {
                continue;
            }
        }
        if (n >= too_many) {
            (*skipped)++;
            continue;
        }
        pmt_node v = neighbour_node(s, i);
        if (v == PMT_NO_NODE || PyList_Append(list, op) < 0) {
            goto error;
        }
        if (s->depth[v] == PMT_UNSEEN && push(s, v, s->depth[u] + 1, u) < 0) {
            goto error;
        }
        n++;
    }
    return list;
error:
    Py_DECREF(list);
    return NULL;
}

static PyObject *
pmt_ref_graph(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const names[] = {"objs", "backrefs", "max_depth", "extra_ignore",
                                        "filter", "too_many", "cull_ids", NULL};
    PyObject *argv[7] = {NULL, Py_True, NULL, Py_None, Py_None, NULL, Py_None};
    if (pmt_parse_args("ref_graph", args, nargs, kwnames, names, 3, argv) < 0) {
        return NULL;
    }
    if (!PyList_CheckExact(argv[0])) {
        PyErr_Format(PyExc_TypeError, "objs must be a list, not %.100s", Py_TYPE(argv[0])->tp_name);
        return NULL;
    }
    PyObject *objs = argv[0], *filter = argv[4];
    Py_ssize_t max_depth, too_many = 10;
    int backrefs = PyObject_IsTrue(argv[1]);
    if (backrefs < 0 || as_depth(argv[2], "max_depth", &max_depth) < 0
        || (argv[5] != NULL && as_depth(argv[5], "too_many", &too_many) < 0)
        || check_callable(filter, "filter") < 0) {
        return NULL;
    }
    uintptr_t *cull = NULL;
    Py_ssize_t ncull = 0;
    if (pmt_read_ids(argv[6], "cull_ids", &cull, &ncull) < 0) {
        return NULL;
    }
    /* Hold the start objects: the caller's list may change under a filter. */
    Py_ssize_t nobjs = PyList_GET_SIZE(objs);
    PyObject **held = pmt_raw_malloc((size_t)(nobjs ? nobjs : 1) * sizeof(PyObject *));
    if (held == NULL) {
        pmt_raw_free(cull);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < nobjs; i++) {
        held[i] = Py_NewRef(PyList_GET_ITEM(objs, i));
    }
    search s;
    PyObject *entries = NULL;
    if (search_init(&s, backrefs, held, nobjs, argv[3]) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < nobjs; i++) {
        if (push(&s, s.starts[i], 0, PMT_NO_NODE) < 0) {
            goto done;
        }
    }
    entries = PyList_New(0);
    if (entries == NULL) {
        goto done;
    }
    while (s.qhead < s.qtail) {
        pmt_node u = s.queue[s.qhead++];
        PyObject *op = node_obj(&s, u);
        PyObject *nbrs = NULL;
        Py_ssize_t skipped = 0;
        if ((Py_ssize_t)s.depth[u] < max_depth && !pmt_ids_contain(cull, ncull, op)) {
            nbrs = expand(&s, u, filter, too_many, &skipped);
            if (nbrs == NULL) {
                Py_CLEAR(entries);
                goto done;
            }
        }
        int r = append_entry(entries, op, s.depth[u], nbrs, skipped);
        Py_XDECREF(nbrs);
        if (r < 0) {
            Py_CLEAR(entries);
            goto done;
        }
    }
done:
    search_free(&s);
    for (Py_ssize_t i = 0; i < nobjs; i++) {
        Py_DECREF(held[i]);
    }
    pmt_raw_free(held);
    pmt_raw_free(cull);
    return entries;
}

/* ---- retention_paths -------------------------------------------------------- */

enum { ROOT_LISTED, ROOT_CLASS, ROOT_UNREFERENCED };
static const char *const root_kinds[] = {"root", "class", "unreferenced"};

/* Most extra paths kept when the last BFS level is finished for ties, and
   most paths from unreferenced objects beyond limit (the search does not
   stop at those: a path from a named root explains more). */
#define PMT_TIE_EXTRA 64
#define PMT_OUTSIDE_EXTRA 8

static int
add_path(PyObject *paths, const search *s, pmt_node v, int kind)
{
    PyObject *chain = chain_list(s, v, 0);      /* root first, target last */
    if (chain == NULL) {
        return -1;
    }
    PyObject *item = Py_BuildValue("(sN)", root_kinds[kind], chain);
    if (item == NULL) {
        return -1;
    }
    int r = PyList_Append(paths, item);
    Py_DECREF(item);
    return r;
}

static PyObject *
pmt_retention_paths(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs,
                    PyObject *kwnames)
{
    static const char *const names[] = {"obj", "root_ids", "extra_ignore", "skip_direct_ids",
                                        "limit", NULL};
    PyObject *argv[5] = {NULL, Py_None, Py_None, Py_None, NULL};
    if (pmt_parse_args("retention_paths", args, nargs, kwnames, names, 1, argv) < 0) {
        return NULL;
    }
    PyObject *obj = argv[0];
    Py_ssize_t limit = 1;
    if (argv[4] != NULL && as_depth(argv[4], "limit", &limit) < 0) {
        return NULL;
    }
    uintptr_t *roots = NULL, *skip = NULL;
    Py_ssize_t nroots = 0, nskip = 0;
    search s;
    memset(&s, 0, sizeof(s));
    PyObject *paths = NULL, *res = NULL;
    if (pmt_read_ids(argv[1], "root_ids", &roots, &nroots) < 0
        || pmt_read_ids(argv[3], "skip_direct_ids", &skip, &nskip) < 0
        || search_init(&s, 1, &obj, 1, argv[2]) < 0) {
        goto done;
    }
    pmt_node t = s.starts[0];
    if (push(&s, t, 0, PMT_NO_NODE) < 0) {
        goto done;
    }
    Py_ssize_t unexplained = pmt_refindex_unexplained(&s.ix, t);
    paths = PyList_New(0);
    if (paths == NULL) {
        goto done;
    }
    Py_ssize_t found = 0, outside = 0, direct = 0;
    uint32_t last_depth = PMT_UNSEEN;       /* finish this level once limit is met */
    while (s.qhead < s.qtail && limit > 0) {
        pmt_node u = s.queue[s.qhead++];
        PyObject *op = s.ix.objs[u];
        if (found >= limit && (s.depth[u] > last_depth || found >= limit + PMT_TIE_EXTRA)) {
            break;
        }
        int kind = -1;
        if (pmt_ids_contain(roots, nroots, op)) {
            kind = ROOT_LISTED;
        }
        else if (PyType_Check(op)) {
            kind = ROOT_CLASS;
        }
        if (kind < 0) {
            Py_ssize_t referrers = 0;
            const pmt_refindex *ix = &s.ix;
            for (Py_ssize_t k = ix->roff[u]; k < ix->roff[u + 1]; k++) {
                PyObject *src = ix->objs[ix->rsrc[k]];
                if (ignored(&s, src)) {
                    continue;
                }
                if (u == t && pmt_ids_contain(skip, nskip, src)) {
                    direct += k == ix->roff[u] || ix->rsrc[k] != ix->rsrc[k - 1];
                    continue;
                }
                referrers++;
                pmt_node v = ix->rsrc[k];
                if (s.depth[v] == PMT_UNSEEN && push(&s, v, s.depth[u] + 1, u) < 0) {
                    goto done;
                }
            }
            if (referrers == 0 && u != t) {
                kind = ROOT_UNREFERENCED;
            }
        }
        if (kind == ROOT_UNREFERENCED) {
            /* Kept (a few), but the search goes on for a named root. */
            if (outside < limit + PMT_OUTSIDE_EXTRA && add_path(paths, &s, u, kind) < 0) {
                goto done;
            }
            outside++;
        }
        else if (kind >= 0) {
            if (add_path(paths, &s, u, kind) < 0) {
                goto done;
            }
            if (++found == limit) {
                last_depth = s.depth[u];
            }
        }
    }
    res = Py_BuildValue("(nnO)", unexplained, direct, paths);
done:
    Py_XDECREF(paths);
    pmt_raw_free(roots);
    pmt_raw_free(skip);
    search_free(&s);
    return res;
}

/* ---- leaking_objects, refindex_info ---------------------------------------- */

static PyObject *
pmt_leaking_objects(PyObject *Py_UNUSED(module), PyObject *objects)
{
    PyObject *items = NULL;
    if (objects != Py_None) {
        items = PySequence_Fast(objects, "objects must be an iterable of objects or None");
        if (items == NULL) {
            return NULL;
        }
    }
    /* The extras: the objects, then the container passed in and its copy,
       which objgraph does not count as referrers. */
    Py_ssize_t nitems = items ? PySequence_Fast_GET_SIZE(items) : 0;
    PyObject **extra = pmt_raw_malloc((size_t)(nitems + 2) * sizeof(PyObject *));
    pmt_node *nodes = pmt_raw_malloc((size_t)(nitems + 2) * sizeof(pmt_node));
    pmt_refindex ix;
    memset(&ix, 0, sizeof(ix));
    PyObject *res = NULL;
    if (extra == NULL || nodes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t nextra = nitems;
    if (items != NULL) {
        if (nitems > 0) {       /* an empty list's item array is NULL */
            memcpy(extra, PySequence_Fast_ITEMS(items), (size_t)nitems * sizeof(PyObject *));
        }
        extra[nextra++] = objects;
        extra[nextra++] = items;
    }
    if (pmt_refindex_build(&ix, extra, nextra, nodes) < 0) {
        goto done;
    }
    pmt_node container = items ? nodes[nitems] : PMT_NO_NODE;
    pmt_node copy = items ? nodes[nitems + 1] : PMT_NO_NODE;
    res = PyList_New(0);
    Py_ssize_t n = items ? nitems : ix.ntracked;
    for (Py_ssize_t i = 0; res != NULL && i < n; i++) {
        pmt_node v = items ? nodes[i] : (pmt_node)i;
        int referred = 0;
        for (uint32_t k = ix.roff[v]; k < ix.roff[v + 1] && !referred; k++) {
            referred = ix.rsrc[k] != container && ix.rsrc[k] != copy;
        }
        if (!referred && PyList_Append(res, ix.objs[v]) < 0) {
            Py_CLEAR(res);
        }
    }
done:
    pmt_refindex_free(&ix);
    pmt_raw_free(extra);
    pmt_raw_free(nodes);
    Py_XDECREF(items);
    return res;
}

static PyObject *
pmt_refindex_info(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    pmt_refindex ix;
    PyObject *res = NULL;
    if (pmt_refindex_build(&ix, NULL, 0, NULL) == 0) {
        res = Py_BuildValue("{s:n,s:n}", "objects", ix.n, "edges", ix.nedges);
    }
    pmt_refindex_free(&ix);
    return res;
}

PyMethodDef pmt_refs_methods[] = {
    {"find_chain", (PyCFunction)(void (*)(void))pmt_find_chain, METH_FASTCALL | METH_KEYWORDS,
     "find_chain(obj, predicate, max_depth, extra_ignore=None, backrefs=True, stop_ids=None)"
     " -> objgraph's shortest chain (predicate None: stop at an object in stop_ids)."},
    {"ref_graph", (PyCFunction)(void (*)(void))pmt_ref_graph, METH_FASTCALL | METH_KEYWORDS,
     "ref_graph(objs, backrefs, max_depth, extra_ignore=None, filter=None, too_many=10,"
     " cull_ids=None) -> [(obj, depth, neighbours or None, skipped)] in objgraph's BFS order."},
    {"retention_paths", (PyCFunction)(void (*)(void))pmt_retention_paths,
     METH_FASTCALL | METH_KEYWORDS,
     "retention_paths(obj, root_ids=None, extra_ignore=None, skip_direct_ids=None, limit=1)"
     " -> (unexplained refcount, referrers skipped as direct, [(kind, [root, ..., obj])])."},
    {"leaking_objects", pmt_leaking_objects, METH_O,
     "leaking_objects(objects) -> the objects (all GC objects if None) no GC object refers to."},
    {"refindex_info", pmt_refindex_info, METH_NOARGS,
     "refindex_info() -> {'objects': n, 'edges': m} of a freshly built reference index."},
    {NULL, NULL, 0, NULL},
};
