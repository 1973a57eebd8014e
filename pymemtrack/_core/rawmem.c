/* Raw allocations with a live-block count and a one-shot fault injector.

   The counters are C11 atomics: the functions take no lock and may be
   called without the GIL. The injector is armed by _fail_after(n) (tests
   only): the n-th allocation attempt from then on returns NULL, once. */
#include "rawmem.h"

#include <stdatomic.h>
#if defined(__linux__)
#  include <sys/mman.h>
#endif

static atomic_llong live_blocks;     /* blocks allocated and not yet freed */
static atomic_llong attempts;        /* allocation attempts since the last _fail_after() */
static atomic_llong fail_at;         /* the attempt number that fails; 0: none */

/* 1 when this attempt must fail (and disarms the injector). */
static inline int
inject_failure(void)
{
    long long n = atomic_fetch_add_explicit(&attempts, 1, memory_order_relaxed) + 1;
    long long target = atomic_load_explicit(&fail_at, memory_order_relaxed);
    if (target != 0 && n == target) {
        atomic_store_explicit(&fail_at, 0, memory_order_relaxed);
        return 1;
    }
    return 0;
}

void *
pmt_raw_malloc(size_t size)
{
    if (inject_failure()) {
        return NULL;
    }
    void *p = PyMem_RawMalloc(size);
    if (p != NULL) {
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    }
    return p;
}

void *
pmt_raw_calloc(size_t nelem, size_t elsize)
{
    if (inject_failure()) {
        return NULL;
    }
    void *p = PyMem_RawCalloc(nelem, elsize);
    if (p != NULL) {
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    }
    return p;
}

void *
pmt_raw_realloc(void *ptr, size_t size)
{
    if (inject_failure()) {
        return NULL;
    }
    void *p = PyMem_RawRealloc(ptr, size);
    if (p != NULL && ptr == NULL) {
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    }
    return p;
}

void
pmt_raw_free(void *ptr)
{
    if (ptr != NULL) {
        atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
        PyMem_RawFree(ptr);
    }
}

void
pmt_raw_advise_huge(void *ptr, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)ptr + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)ptr + size) & ~(huge - 1);
    if (end > start) {
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    }
#else
    (void)ptr;
    (void)size;
#endif
}

static PyObject *
pmt_fail_after(PyObject *Py_UNUSED(module), PyObject *arg)
{
    long long n = 0;
    if (arg != Py_None) {
        if (!PyLong_Check(arg)) {
            PyErr_Format(PyExc_TypeError, "_fail_after() argument must be an int or None, not %.100s",
                         Py_TYPE(arg)->tp_name);
            return NULL;
        }
        n = PyLong_AsLongLong(arg);
        if (n == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (n < 0) {
            PyErr_SetString(PyExc_ValueError, "_fail_after() argument must be >= 0 or None");
            return NULL;
        }
    }
    /* Disarm first, so the result's own allocation cannot be the one that fails. */
    atomic_store_explicit(&fail_at, 0, memory_order_relaxed);
    long long made = atomic_exchange_explicit(&attempts, 0, memory_order_relaxed);
    PyObject *res = PyLong_FromLongLong(made);
    if (res != NULL) {
        atomic_store_explicit(&fail_at, n, memory_order_relaxed);
    }
    return res;
}

static PyObject *
pmt_raw_blocks(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLongLong(atomic_load_explicit(&live_blocks, memory_order_relaxed));
}

PyMethodDef pmt_rawmem_methods[] = {
    {"_fail_after", pmt_fail_after, METH_O,
     "_fail_after(n) -> int. Test only: make pymemtrack's n-th raw allocation from now fail "
     "(once; 0 or None disarms). Returns the number of raw allocations attempted since the "
     "previous call."},
    {"_raw_blocks", pmt_raw_blocks, METH_NOARGS,
     "_raw_blocks() -> int. Test only: raw memory blocks pymemtrack holds right now."},
    {NULL, NULL, 0, NULL},
};
