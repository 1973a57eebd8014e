/* Cycles out of the garbage subgraph: iterative Tarjan (no recursion), then
   the groups and the finalizer flags. Memory is proportional to the garbage. */
#include "scc.h"

static int
tarjan(pmt_cyc *c)
{
    Py_ssize_t G = c->G;
    int ret = -1;
    size_t sz = (size_t)G * sizeof(Py_ssize_t);
    Py_ssize_t *index = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *low = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *sstack = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *cnode = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *cpos = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    char *onstack = pmt_cyc_calloc(c, (size_t)G, 1);
    c->comp = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    if (!index || !low || !sstack || !cnode || !cpos || !onstack || !c->comp) {
        c->oom = 1;
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
    pmt_cyc_free(c, index, sz);
    pmt_cyc_free(c, low, sz);
    pmt_cyc_free(c, sstack, sz);
    pmt_cyc_free(c, cnode, sz);
    pmt_cyc_free(c, cpos, sz);
    pmt_cyc_free(c, onstack, (size_t)G);
    return ret;
}

static int
has_self_loop(pmt_cyc *c, Py_ssize_t v)
{
    for (Py_ssize_t e = c->eoff[v]; e < c->eoff[v + 1]; e++) {
        if (c->edges[e] == v) {
            return 1;
        }
    }
    return 0;
}

/* Groups: each loop with what only it keeps alive (see scc.h). */
static int
make_groups(pmt_cyc *c)
{
    Py_ssize_t G = c->G, nc = c->ncomp;
    int ret = -1;
    Py_ssize_t *cstart = pmt_cyc_calloc(c, (size_t)nc + 1, sizeof(Py_ssize_t));
    Py_ssize_t *cmem = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    Py_ssize_t *owner = c->owner = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    char *cloop = pmt_cyc_calloc(c, (size_t)nc, 1);
    c->out = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    c->gstart = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    c->gmembers = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    c->gcycle = pmt_cyc_calloc(c, (size_t)G, 1);
    if (!cstart || !cmem || !owner || !cloop || !c->out || !c->gstart || !c->gmembers
        || !c->gcycle) {
        c->oom = 1;
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
    pmt_cyc_free(c, cstart, ((size_t)nc + 1) * sizeof(Py_ssize_t));
    pmt_cyc_free(c, cmem, (size_t)G * sizeof(Py_ssize_t));
    pmt_cyc_free(c, cloop, (size_t)nc);
    return ret;
}

/* Finalizer flags per node (but PMT_CYC_FINALIZED, see pmt_scc_finalized),
   and what a legacy tp_del object makes uncollectable. */
static int
make_flags(pmt_cyc *c)
{
    Py_ssize_t G = c->G;
    c->flags = pmt_cyc_calloc(c, (size_t)G, 1);
    Py_ssize_t *queue = pmt_cyc_calloc(c, (size_t)G, sizeof(Py_ssize_t));
    if (c->flags == NULL || queue == NULL) {
        pmt_cyc_free(c, queue, (size_t)G * sizeof(Py_ssize_t));
        c->oom = 1;
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
    pmt_cyc_free(c, queue, (size_t)G * sizeof(Py_ssize_t));
    return 0;
}

int
pmt_scc_group(pmt_cyc *c)
{
    if (c->G == 0) {
        return 0;
    }
    if (tarjan(c) < 0 || make_groups(c) < 0 || make_flags(c) < 0) {
        return -1;
    }
    return 0;
}

void
pmt_scc_finalized(pmt_cyc *c)
{
    for (Py_ssize_t v = 0; v < c->G; v++) {
        if (PyObject_GC_IsFinalized(c->gop[v])) {
            c->flags[v] |= PMT_CYC_FINALIZED;
        }
    }
}
