/* Type names as objgraph reads them: type(o).__name__ and
   getattr(type(o), '__module__', None), without running Python code. */
#include "names.h"

int
pmt_type_names(PyTypeObject *tp, PyObject **module, PyObject **name)
{
    *module = NULL;
    *name = NULL;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyHeapTypeObject *ht = (PyHeapTypeObject *)tp;
        /* __module__ lives in the type's own dict (type_module() in
           Objects/typeobject.c); a missing or non-str one means no module. */
        PyObject *mod = NULL;
        if (tp->tp_dict != NULL) {
            mod = PyDict_GetItemString(tp->tp_dict, "__module__");
        }
        if (mod != NULL && PyUnicode_Check(mod) && PyUnicode_GET_LENGTH(mod) > 0) {
            *module = Py_NewRef(mod);
        }
        *name = Py_NewRef(ht->ht_name);
        return 0;
    }
    const char *full = tp->tp_name;
    const char *dot = strrchr(full, '.');
    if (dot != NULL) {
        *module = PyUnicode_FromStringAndSize(full, dot - full);
        *name = PyUnicode_FromString(dot + 1);
    }
    else {
        *module = PyUnicode_FromString("builtins");
        *name = PyUnicode_FromString(full);
    }
    if (*module == NULL || *name == NULL) {
        Py_CLEAR(*module);
        Py_CLEAR(*name);
        return -1;
    }
    return 0;
}

PyObject *
pmt_join_name(PyObject *module, PyObject *name)
{
    if (module == NULL) {
        return Py_NewRef(name);
    }
    return PyUnicode_FromFormat("%U.%U", module, name);
}

PyObject *
pmt_type_display(PyTypeObject *tp, int shortnames)
{
    PyObject *module, *name;
    if (pmt_type_names(tp, &module, &name) < 0) {
        return NULL;
    }
    PyObject *res = shortnames ? Py_NewRef(name) : pmt_join_name(module, name);
    Py_XDECREF(module);
    Py_DECREF(name);
    return res;
}
