/* Argument parsing for METH_FASTCALL | METH_KEYWORDS functions: unlike
   METH_VARARGS it builds no argument tuple, which a walk would count. */
#ifndef PMT_ARGS_H
#define PMT_ARGS_H

#include "compat.h"

/* Fills out[i] (borrowed) for names[i] from positional args then keywords;
   names is NULL-terminated, the first nrequired are required, others keep
   the default the caller put in out[i]. 0, or -1 with TypeError. */
int pmt_parse_args(const char *func, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames, const char *const *names, int nrequired,
                   PyObject **out);

#endif /* PMT_ARGS_H */
