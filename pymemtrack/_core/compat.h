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

/* Not a shim: every file allocates raw memory through rawmem.h (its rule), so
   it comes with this header. */
#include "rawmem.h"

#endif /* PMT_COMPAT_H */
