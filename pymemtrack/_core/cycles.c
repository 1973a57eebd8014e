/* garbage_cycles(): runs the analysis (garbage.c, scc.c) with the collector
   disabled, restores its state on every exit, and only then turns the
   result into Python objects: the garbage (new references, so the caller
   keeps it alive while holding it), the groups and a flags byte per object. */
#include "cycles.h"
#include "args.h"
#include "scc.h"
#include "walk.h"

/* ---- the result ------------------------------------------------------------ */

static PyObject *
materialize(pmt_cyc *c)
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
    stats = Py_BuildValue("(nnn)", c->nobjects, (Py_ssize_t)c->peak, c->nnegative);
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
    pmt_cyc c;
    memset(&c, 0, sizeof(c));
    c.holder = holder;
    PyObject *res = NULL;
    int was_enabled = PyGC_Disable();
    int ok = pmt_garbage_find(&c) == 0 && pmt_scc_group(&c) == 0
             && (c.G == 0 || pmt_garbage_owned(&c) == 0);
    /* Puts the GC headers back before any Python object is made (the result,
       or the MemoryError), on every path; the heap-sized arrays go too, so
       the peak is the analysis's own. */
    pmt_garbage_free_heap(&c);
    if (ok) {
        pmt_scc_finalized(&c);
        res = materialize(&c);
    }
    else {
        pmt_garbage_raise(&c);
    }
    pmt_garbage_clear(&c);
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
    pmt_garbage_fail_after(n);
    Py_RETURN_NONE;
}

/* _reference_pass(): the least an exact analysis must do, for the benchmark
   to compare with: one walk of the heap calling each object's tp_traverse,
   each referent only tested for being a tracked GC object. */
static int
count_tracked(PyObject *ref, void *arg)
{
    *(Py_ssize_t *)arg += pmt_gc_is_tracked(ref);
    return 0;
}

static int
traverse_one(PyObject *op, void *arg)
{
    traverseproc traverse = Py_TYPE(op)->tp_traverse;
    if (traverse != NULL) {
        (void)traverse(op, count_tracked, arg);
    }
    return 0;
}

static PyObject *
pmt_reference_pass(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t tracked = 0;
    if (pmt_walk_heap_unordered(traverse_one, &tracked) < 0) {
        return NULL;
    }
    return PyLong_FromSsize_t(tracked);
}

static PyObject *
pmt_gc_broken_links_py(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t n = pmt_gc_broken_links();
    if (n < 0) {
        Py_RETURN_NONE;
    }
    return PyLong_FromSsize_t(n);
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
    {"_reference_pass", pmt_reference_pass, METH_NOARGS,
     "_reference_pass() -> int. Benchmark yardstick: one walk of the heap calling every\n"
     "tp_traverse, each referent only tested for being a tracked GC object (how many are)."},
    {"_gc_broken_links", pmt_gc_broken_links_py, METH_NOARGS,
     "_gc_broken_links() -> int or None. Test hook: objects in the collector's lists whose\n"
     "_gc_prev is not the link to the one before them (None where the lists are not readable)."},
    {NULL, NULL, 0, NULL},
};
