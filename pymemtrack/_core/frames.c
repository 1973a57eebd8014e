/* frame_locals(frame): {name: value} of a frame's bound local, cell and free
   variables, as a new dict. frame.f_locals would do, but on 3.10-3.12 it
   stores a snapshot dict in the running frame that then keeps every local
   alive until the frame refreshes or ends: a query must not do that. Running
   frames are not GC-tracked, so their locals are roots no tp_traverse shows. */
#include "frames.h"

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
/* 3.11 has no public way to read one variable of a running frame
   (PyFrame_GetVar arrived in 3.12, gh-91248), and neither 3.11 nor 3.12 a
   way to see the f_locals snapshot a frame already holds without making
   one: read the interpreter frame as CPython's own frameobject.c does,
   from the internal header that matches the interpreter we are built for
   (greenlet does the same). 3.13 made f_locals a proxy (PEP 667). */
#  define Py_BUILD_CORE 1
#  include "internal/pycore_frame.h"
#  undef Py_BUILD_CORE
/* _PyLocals_Kind bits of co_localspluskinds (Include/internal/pycore_code.h). */
#  define PMT_CO_FAST_CELL 0x40
#  define PMT_CO_FAST_FREE 0x80
#endif

#if PY_VERSION_HEX < 0x030B0000
#  include <frameobject.h>    /* not in Python.h before 3.11 */
#endif

#if PY_VERSION_HEX < 0x030C0000
static int
put(PyObject *dict, PyObject *name, PyObject *value, int is_cell)
{
    if (value != NULL && is_cell && PyCell_Check(value)) {
        value = PyCell_GET(value);
    }
    if (value == NULL) {
        return 0;                       /* unbound */
    }
    return PyDict_SetItem(dict, name, value);
}
#endif

#if PY_VERSION_HEX >= 0x030C0000

static int
fill(PyObject *dict, PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    PyObject *groups[3] = {PyCode_GetVarnames(code), PyCode_GetCellvars(code),
                           PyCode_GetFreevars(code)};
    int ret = -1;
    for (int g = 0; g < 3; g++) {
        if (groups[g] == NULL) {
            goto done;
        }
    }
    for (int g = 0; g < 3; g++) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(groups[g]); i++) {
            PyObject *name = PyTuple_GET_ITEM(groups[g], i);
            PyObject *value = PyFrame_GetVar(frame, name);
            if (value == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_NameError)) {
                    goto done;
                }
                PyErr_Clear();          /* unbound */
                continue;
            }
            int r = PyDict_SetItem(dict, name, value);
            Py_DECREF(value);
            if (r < 0) {
                goto done;
            }
        }
    }
    ret = 0;
done:
    for (int g = 0; g < 3; g++) {
        Py_XDECREF(groups[g]);
    }
    Py_DECREF(code);
    return ret;
}

#elif PY_VERSION_HEX >= 0x030B0000

static int
fill(PyObject *dict, PyFrameObject *frame)
{
    _PyInterpreterFrame *f = frame->f_frame;
    PyCodeObject *co = f->f_code;
    for (int i = 0; i < co->co_nlocalsplus; i++) {
        unsigned char kind = (unsigned char)PyBytes_AS_STRING(co->co_localspluskinds)[i];
        if (put(dict, PyTuple_GET_ITEM(co->co_localsplusnames, i), f->localsplus[i],
                kind & (PMT_CO_FAST_CELL | PMT_CO_FAST_FREE)) < 0) {
            return -1;
        }
    }
    return 0;
}

#else   /* 3.10: the frame object holds f_localsplus itself (cpython/frameobject.h) */

static int
fill(PyObject *dict, PyFrameObject *frame)
{
    PyCodeObject *co = frame->f_code;
    Py_ssize_t nlocals = co->co_nlocals;
    Py_ssize_t ncells = PyTuple_GET_SIZE(co->co_cellvars);
    Py_ssize_t nfrees = PyTuple_GET_SIZE(co->co_freevars);
    PyObject *const *slots = frame->f_localsplus;
    for (Py_ssize_t i = 0; i < nlocals; i++) {
        if (put(dict, PyTuple_GET_ITEM(co->co_varnames, i), slots[i], 0) < 0) {
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < ncells + nfrees; i++) {
        PyObject *name = i < ncells ? PyTuple_GET_ITEM(co->co_cellvars, i)
                                    : PyTuple_GET_ITEM(co->co_freevars, i - ncells);
        if (put(dict, name, slots[nlocals + i], 1) < 0) {
            return -1;
        }
    }
    return 0;
}

#endif

static PyObject *
pmt_frame_locals(PyObject *Py_UNUSED(module), PyObject *frame)
{
    if (!PyFrame_Check(frame)) {
        PyErr_Format(PyExc_TypeError, "frame_locals() needs a frame, not %.100s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    PyObject *dict = PyDict_New();
    if (dict != NULL && fill(dict, (PyFrameObject *)frame) < 0) {
        Py_CLEAR(dict);
    }
    return dict;
}

/* The dict frame.f_locals left in the frame, if any (borrowed), or NULL. */
static PyObject *
existing_snapshot(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030D0000
    (void)frame;
    return NULL;        /* f_locals of a function frame is a new proxy every time */
#elif PY_VERSION_HEX >= 0x030B0000
    return frame->f_frame->f_locals;
#else
    return frame->f_locals;
#endif
}

static PyObject *
pmt_frame_snapshot(PyObject *Py_UNUSED(module), PyObject *frame)
{
    if (!PyFrame_Check(frame)) {
        PyErr_Format(PyExc_TypeError, "frame_snapshot() needs a frame, not %.100s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    PyObject *dict = existing_snapshot((PyFrameObject *)frame);
    return Py_NewRef(dict != NULL ? dict : Py_None);
}

PyMethodDef pmt_frames_methods[] = {
    {"frame_snapshot", pmt_frame_snapshot, METH_O,
     "frame_snapshot(frame) -> the dict an earlier frame.f_locals left in a function's"
     " frame (what frame.f_locals would refresh and return), or None; makes none."},
    {"frame_locals", pmt_frame_locals, METH_O,
     "frame_locals(frame) -> a new dict of the frame's bound local variables (cells read"
     " through), without the snapshot frame.f_locals leaves in a running frame."},
    {NULL, NULL, 0, NULL},
};
