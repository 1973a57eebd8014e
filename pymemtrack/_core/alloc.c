/* object_traceback(obj): tracemalloc's record of the block holding obj,
   found with the right pre-header size on every version (see compat.h). */
#include "alloc.h"

static PyObject *
pmt_object_traceback(PyObject *Py_UNUSED(module), PyObject *obj)
{
    uintptr_t block = (uintptr_t)obj - pmt_preheader_size(obj);
    /* None when tracemalloc is not tracing or did not see the allocation. */
    return _PyTraceMalloc_GetTraceback(0, block);
}

PyMethodDef pmt_alloc_methods[] = {
    {"object_traceback", pmt_object_traceback, METH_O,
     "object_traceback(obj) -> tracemalloc's raw frames ((filename, lineno), ...) for the"
     " block holding obj, most recent first, or None when it was not traced."},
    {NULL, NULL, 0, NULL},
};
