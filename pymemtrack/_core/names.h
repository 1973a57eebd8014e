/* Type names exactly as objgraph spells them. */
#ifndef PMT_NAMES_H
#define PMT_NAMES_H

#include "compat.h"

/* type.__name__ (new reference) and type.__module__ when it is a non-empty
   str (new reference in *module, or NULL when the type has none). 0 or -1. */
int pmt_type_names(PyTypeObject *tp, PyObject **module, PyObject **name);

/* "module.name", or name alone when module is NULL. New reference. */
PyObject *pmt_join_name(PyObject *module, PyObject *name);

/* objgraph's _short_typename (shortnames true) or _long_typename. New ref. */
PyObject *pmt_type_display(PyTypeObject *tp, int shortnames);

#endif /* PMT_NAMES_H */
