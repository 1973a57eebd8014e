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

/* _PyObject_DebugMallocStats() (what sys._debugmallocstats() prints) is
   exported on every version but moved to the internal headers in 3.11
   (bpo-46202 split pycore_pymem.h out of the public API); declare it. */
#if PY_VERSION_HEX >= 0x030B0000
PyAPI_FUNC(int) _PyObject_DebugMallocStats(FILE *out);
#endif

/* PyType_GetModuleByDef() arrived in 3.11 (bpo-46613); methods that need the
   module state use METH_METHOD's defining_class instead, which 3.9+ has. */

/* sys.getsizeof() adds a pre-header: the GC head (PyGC_Head, private since
   3.9: two pointers) for GC objects; 3.11 put two more pointers before
   instances with a managed __dict__ (bpo-45947), 3.12 also before those
   with managed weakrefs (gh-95245). */
#define PMT_GC_HEAD_SIZE ((Py_ssize_t)(2 * sizeof(void *)))
#if PY_VERSION_HEX >= 0x030C0000
#  define PMT_PREHEADER_FLAGS (Py_TPFLAGS_MANAGED_DICT | Py_TPFLAGS_MANAGED_WEAKREF)
#elif PY_VERSION_HEX >= 0x030B0000
#  define PMT_PREHEADER_FLAGS Py_TPFLAGS_MANAGED_DICT
#else
#  define PMT_PREHEADER_FLAGS 0
#endif

/* 3.10 keeps a PyFrameObject (a GC object) for every running function; 3.11
   made frames plain structs, materialized as objects only on demand
   (bpo-44590). PyFrame_Type and the PyLongObject layout are outside
   Python.h on 3.10. */
#if PY_VERSION_HEX < 0x030B0000
#  define PMT_RUNNING_FRAMES_ARE_OBJECTS 1
#  include <frameobject.h>
#  include <longintrepr.h>
#else
#  define PMT_RUNNING_FRAMES_ARE_OBJECTS 0
#endif

/* _PyDict_SizeOf() became internal (not exported) in 3.13 (gh-106320):
   there dict's own C __sizeof__ is called instead. */
#if PY_VERSION_HEX < 0x030D0000
#  define PMT_HAVE_DICT_SIZEOF 1
#else
#  define PMT_HAVE_DICT_SIZEOF 0
#endif

/* str lost its wchar_t cache in 3.12 (PEP 623). */
#if PY_VERSION_HEX < 0x030C0000
#  define PMT_STR_HAS_WSTR 1
#else
#  define PMT_STR_HAS_WSTR 0
#endif

/* The __dict__ that op already has (borrowed), or NULL, never creating one:
   3.11+ keep instance attributes outside any dict until one is asked for
   (bpo-45340), and _PyObject_GetDictPtr() would create it. A managed dict
   pointer sits three pointers before the object: a plain pointer on 3.11
   and 3.13, tagged with the values pointer (low bit set) on 3.12
   (gh-95245, PyDictOrValues). Callers must not
   dereference the result before checking it is an object they walked. */
static inline PyObject *
pmt_peek_dict(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
#if PY_VERSION_HEX >= 0x030B0000
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        uintptr_t slot = ((uintptr_t *)op)[-3];
#  if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
        if (slot & 1) {
            return NULL;
        }
#  endif
        return (PyObject *)slot;
    }
#endif
    Py_ssize_t offset = tp->tp_dictoffset;
    if (offset == 0) {
        return NULL;
    }
    if (offset < 0) {
#if PY_VERSION_HEX >= 0x030C0000
        if (PyLong_Check(op)) {
            return NULL;        /* 3.12+: an int's ob_size is not its length */
        }
#endif
        Py_ssize_t n = ((PyVarObject *)op)->ob_size;
        offset += (Py_ssize_t)_PyObject_VAR_SIZE(tp, n < 0 ? -n : n);
    }
    return *(PyObject **)((char *)op + offset);
}

/* PyObject_IS_GC() without the call: a GC type, and for types (tp_is_gc)
   a heap type. */
static inline int
pmt_is_gc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    return PyType_IS_GC(tp) && (tp->tp_is_gc == NULL || tp->tp_is_gc(op));
}

/* PyObject_GC_IsTracked() without a call per referent: the GC head sits
   right before every GC object (after any managed-dict pre-header) and its
   _gc_next is non-zero while tracked, on 3.8-3.13 GIL builds; elsewhere the
   public function. */
static inline int
pmt_gc_is_tracked(PyObject *op)
{
    if (!pmt_is_gc(op)) {
        return 0;
    }
#if PY_VERSION_HEX < 0x030E0000 && !PMT_FREE_THREADED
    return ((uintptr_t *)op)[-2] != 0;
#else
    return PyObject_GC_IsTracked(op);
#endif
}

/* A hint to load memory early (no-op where the compiler has none); _W when
   it is about to be written, so it comes in owned and the store needs no
   second trip. */
#if defined(__GNUC__) || defined(__clang__)
#  define PMT_PREFETCH(p) __builtin_prefetch((const void *)(p))
#  define PMT_PREFETCH_W(p) __builtin_prefetch((const void *)(p), 1)
#else
#  define PMT_PREFETCH(p) ((void)(p))
#  define PMT_PREFETCH_W(p) ((void)(p))
#endif

/* Inlined whatever the optimizer thinks (for a function whose callers pass
   constants that fold its branches away); plain inline where unknown.
   CPython's own Py_ALWAYS_INLINE arrived in 3.11. */
#if defined(__GNUC__) || defined(__clang__)
#  define PMT_ALWAYS_INLINE __attribute__((always_inline))
#else
#  define PMT_ALWAYS_INLINE
#endif

/* The GC header (PyGC_Head: _gc_next, _gc_prev) sits right before every GC
   object; its layout is internal since 3.9 but the same two words in every
   default build 3.8-3.14. The collector itself borrows _gc_prev while it
   runs (update_refs stores refcount copies there); the reference index does
   the same, with collection disabled and no Python code running, and puts
   every word back (refindex.c, garbage.c). */
#define PMT_GC_PREV(op) (((uintptr_t *)(op))[-1])

/* While the reference index or the cycle analysis runs, each object it
   walked has _gc_prev = PMT_GC_MARK | (its own bits 32-62) | its index.
   Addresses are below 2**63 on every 64-bit platform CPython runs on, so a
   real _gc_prev never has the top bit set. */
#define PMT_GC_MARK ((uintptr_t)1 << 63)

/* The index in a marked header (see PMT_GC_MARK), or UINT32_MAX: not a GC
   object, untracked, or tracked but not walked (frozen by gc.freeze()). */
static inline uint32_t
pmt_gc_marked_index(PyObject *op)
{
    if (!pmt_gc_is_tracked(op)) {
        return UINT32_MAX;
    }
    uintptr_t h = PMT_GC_PREV(op);
    return (h & PMT_GC_MARK) ? (uint32_t)h : UINT32_MAX;
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
/* Not a shim: every file allocates raw memory through rawmem.h (its rule), so
   it comes with this header. */
#include "rawmem.h"

#endif /* PMT_COMPAT_H */
