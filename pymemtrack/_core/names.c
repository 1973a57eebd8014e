/* Type names as objgraph reads them: type(o).__name__ and
   getattr(type(o), '__module__', None); without running Python code for
   every type whose metatype is plain. */
#include "names.h"

/* True when getattr(tp, '__module__') and tp.__name__ are what the plain
   `type` machinery gives (type_getattro in Objects/typeobject.c): the
   metatype keeps type's attribute lookup, and its own __module__ and
   __name__ are type's or not data descriptors (a metaclass's dict holds
   its own __module__ str, which never wins over the class's). Cython 3.2's
   shared metatype, for one, defines a __module__ getset that does win. */
static int
names_are_plain(PyTypeObject *tp)
{
    PyTypeObject *meta = Py_TYPE(tp);
    if (meta == &PyType_Type) {
        return 1;
    }
    if (meta->tp_getattro != PyType_Type.tp_getattro) {
        return 0;
    }
    static const char *const attrs[] = {"__module__", "__name__"};
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        /* Interned: the type attribute cache keeps the key it was given. */
        PyObject *key = PyUnicode_InternFromString(attrs[i]);
        if (key == NULL) {
            PyErr_Clear();
            return 0;
        }
        /* Borrowed references; _PyType_Lookup sets no error. */
        PyObject *found = _PyType_Lookup(meta, key);
        int plain = found == _PyType_Lookup(&PyType_Type, key)
                    || (found != NULL && Py_TYPE(found)->tp_descr_set == NULL);
        Py_DECREF(key);
        if (!plain) {
            return 0;
        }
    }
    return 1;
}

/* getattr(tp, name) with an interned name, or NULL with no error set. */
static PyObject *
type_attr(PyTypeObject *tp, const char *name)
{
    PyObject *key = PyUnicode_InternFromString(name);
    if (key == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *value = PyObject_GetAttr((PyObject *)tp, key);
    Py_DECREF(key);
    if (value == NULL) {
        PyErr_Clear();
    }
    return value;
}

/* objgraph's own reading, for the types the fast path cannot answer:
   name = tp.__name__; module = getattr(tp, '__module__', None), kept
   only when true, formatted with str(). Runs Python code, once per type
   (never per object); the caller's table holds a strong reference to
   every type, so code run here cannot free one under us. Any error
   reading the module means no module; an unreadable name falls back to
   the C-level name. */
static int
names_by_getattr(PyTypeObject *tp, PyObject **module, PyObject **name)
{
    PyObject *n = type_attr(tp, "__name__");
    if (n != NULL && !PyUnicode_CheckExact(n)) {
        Py_SETREF(n, PyObject_Str(n));
    }
    if (n == NULL) {
        PyErr_Clear();
        if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
            n = Py_NewRef(((PyHeapTypeObject *)tp)->ht_name);
        }
        else {
            const char *dot = strrchr(tp->tp_name, '.');
            n = PyUnicode_FromString(dot != NULL ? dot + 1 : tp->tp_name);
            if (n == NULL) {
                return -1;
            }
        }
    }
    PyObject *m = type_attr(tp, "__module__");
    if (m != NULL) {
        int truth = PyObject_IsTrue(m);
        if (truth > 0 && !PyUnicode_CheckExact(m)) {
            Py_SETREF(m, PyObject_Str(m));
        }
        else if (truth <= 0) {
            Py_CLEAR(m);
        }
    }
    if (m == NULL) {
        PyErr_Clear();
    }
    *module = m;
    *name = n;
    return 0;
}

int
pmt_type_names(PyTypeObject *tp, PyObject **module, PyObject **name)
{
    *module = NULL;
    *name = NULL;
    if (!names_are_plain(tp)) {
        return names_by_getattr(tp, module, name);
    }
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyHeapTypeObject *ht = (PyHeapTypeObject *)tp;
        /* __module__ lives in the type's own dict (type_module() in
           Objects/typeobject.c); missing means no module, and anything
           but a str is read the slow way (objgraph formats it with %s). */
        PyObject *mod = NULL;
        if (tp->tp_dict != NULL) {
            mod = PyDict_GetItemString(tp->tp_dict, "__module__");
        }
        if (mod != NULL && !PyUnicode_CheckExact(mod)) {
            return names_by_getattr(tp, module, name);
        }
        if (mod != NULL && PyUnicode_GET_LENGTH(mod) > 0) {
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
