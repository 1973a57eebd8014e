/* Every CPython-version shim pymemtrack needs lives here, each with the reason. */
#ifndef PMT_COMPAT_H
#define PMT_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>   /* PyMemberDef T_* codes, still needed on 3.10/3.11 */

/* PyUnstable_GC_VisitObjects() was added in 3.12 (gh-102013). Before it,
   the only public way to see the GC's objects is gc.get_objects(). */
#if PY_VERSION_HEX >= 0x030C0000
#  define PMT_HAVE_GC_VISIT 1
#else
#  define PMT_HAVE_GC_VISIT 0
#endif

/* Free-threaded builds (PEP 703, 3.13+) define Py_GIL_DISABLED. Our tables
   rely on the GIL, so such builds are refused at import. */
#ifdef Py_GIL_DISABLED
#  define PMT_FREE_THREADED 1
#else
#  define PMT_FREE_THREADED 0
#endif

/* Immortal objects (PEP 683, 3.12): the unstable public spelling arrived in
   3.14 (gh-127607); 3.12/3.13 only have the underscore one. */
#if PY_VERSION_HEX >= 0x030E0000
#  define PMT_IS_IMMORTAL(op) PyUnstable_IsImmortal(op)
#elif PY_VERSION_HEX >= 0x030C0000
#  define PMT_IS_IMMORTAL(op) _Py_IsImmortal(op)
#else
#  define PMT_IS_IMMORTAL(op) 0
#endif

/* PyType_GetModuleByDef() arrived in 3.11 (bpo-46613); methods that need the
   module state use METH_METHOD's defining_class instead, which 3.9+ has. */

/* The GC header (PyGC_Head: _gc_next, _gc_prev) sits right before every GC
   object; its layout is internal since 3.9 but the same two words in every
   default build 3.8-3.14. The collector itself borrows _gc_prev while it
   runs (update_refs stores refcount copies there); the reference index does
   the same, with collection disabled and no Python code running, and puts
   every word back (refindex.c). */
#define PMT_GC_PREV(op) (((uintptr_t *)(op))[-1])

/* PyObject_GC_IsTracked() inline (it is a function call): a GC object
   (type flag, then tp_is_gc as static types need) whose _gc_next is set. */
static inline int
pmt_gc_is_tracked(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    return (tp->tp_flags & Py_TPFLAGS_HAVE_GC)
           && (tp->tp_is_gc == NULL || tp->tp_is_gc(op))
           && ((uintptr_t *)op)[-2] != 0;
}

/* Bytes CPython allocates in front of an object: the GC header, and from
   3.11 the managed __dict__ (3.12+: and __weakref__) pointers (bpo-45947,
   gh-95245). tracemalloc traces the start of the block, so looking an object
   up needs this; 3.11's own get_object_traceback() forgot the managed-dict
   words and returns None for most class instances. */
static inline size_t
pmt_preheader_size(PyObject *op)
{
    size_t size = PyObject_IS_GC(op) ? 2 * sizeof(PyObject *) : 0;
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_HasFeature(Py_TYPE(op), Py_TPFLAGS_MANAGED_DICT | Py_TPFLAGS_MANAGED_WEAKREF)) {
        size += 2 * sizeof(PyObject *);
    }
#elif PY_VERSION_HEX >= 0x030B0000
    if (PyType_HasFeature(Py_TYPE(op), Py_TPFLAGS_MANAGED_DICT)) {
        size += 2 * sizeof(PyObject *);
    }
#endif
    return size;
}

/* _PyTraceMalloc_GetTraceback() is exported by every version we support but
   declared in an internal header from 3.13 (gh-106320 moved it). */
#if PY_VERSION_HEX >= 0x030D0000
PyAPI_FUNC(PyObject *) _PyTraceMalloc_GetTraceback(unsigned int domain, uintptr_t ptr);
#endif

#endif /* PMT_COMPAT_H */
