/* pymemtrack._core: module definition, multi-phase init and state only. */
#include "compat.h"
#include "alloc.h"
#include "frames.h"
#include "heapref.h"
#include "cycles.h"
#include "ids.h"
#include "memory.h"
#include "query.h"
#include "refs.h"
#include "sizes.h"
#include "rawmem.h"
#include "snapshot.h"

typedef struct {
    PyTypeObject *snapshot_type;
    PyTypeObject *idmap_type;
    PyTypeObject *partition_type;
    PyTypeObject *heapref_type;
} pmt_state;

static int
add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **slot)
{
    *slot = (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
    if (*slot == NULL) {
        return -1;
    }
    return PyModule_AddType(module, *slot);
}

static int
pmt_exec(PyObject *module)
{
#if PMT_FREE_THREADED
    PyErr_SetString(PyExc_ImportError,
                    "pymemtrack does not support free-threaded CPython builds yet: "
                    "its heap walk and tables rely on the GIL");
    return -1;
#endif
    pmt_state *st = PyModule_GetState(module);
    if (PyModule_AddFunctions(module, pmt_query_methods) < 0
        || PyModule_AddFunctions(module, pmt_refs_methods) < 0
        || PyModule_AddFunctions(module, pmt_alloc_methods) < 0
        || PyModule_AddFunctions(module, pmt_frames_methods) < 0
        || PyModule_AddFunctions(module, pmt_cycles_methods) < 0
        || PyModule_AddFunctions(module, pmt_memory_methods) < 0
        || PyModule_AddFunctions(module, pmt_rawmem_methods) < 0
        || add_type(module, &pmt_snapshot_spec, &st->snapshot_type) < 0
        || add_type(module, &pmt_idmap_spec, &st->idmap_type) < 0
        || PyModule_AddFunctions(module, pmt_sizes_methods) < 0
        || add_type(module, &pmt_partition_spec, &st->partition_type) < 0
        || add_type(module, &pmt_heapref_spec, &st->heapref_type) < 0) {
        return -1;
    }
    return 0;
}

static int
pmt_traverse(PyObject *module, visitproc visit, void *arg)
{
    pmt_state *st = PyModule_GetState(module);
    Py_VISIT(st->snapshot_type);
    Py_VISIT(st->idmap_type);
    Py_VISIT(st->partition_type);
    Py_VISIT(st->heapref_type);
    return 0;
}

static int
pmt_clear(PyObject *module)
{
    pmt_state *st = PyModule_GetState(module);
    Py_CLEAR(st->snapshot_type);
    Py_CLEAR(st->idmap_type);
    Py_CLEAR(st->partition_type);
    Py_CLEAR(st->heapref_type);
    return 0;
}

static void
pmt_free(void *module)
{
    pmt_clear((PyObject *)module);
}

static PyModuleDef_Slot pmt_slots[] = {
    {Py_mod_exec, pmt_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef pmt_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pymemtrack._core",
    .m_doc = "Native heap walks, per-type tables and snapshots for pymemtrack.",
    .m_size = sizeof(pmt_state),
    .m_slots = pmt_slots,
    .m_traverse = pmt_traverse,
    .m_clear = pmt_clear,
    .m_free = pmt_free,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModuleDef_Init(&pmt_module);
}
