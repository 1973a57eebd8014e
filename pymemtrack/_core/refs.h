/* Who refers to whom: objgraph's chain and graph searches, retention paths
   and leaking objects, answered in one C call each over the reference index
   (backwards) or tp_traverse (forwards). */
#ifndef PMT_REFS_H
#define PMT_REFS_H

#include "compat.h"

/* The reference functions, added to the module by module.c. */
extern PyMethodDef pmt_refs_methods[];

#endif /* PMT_REFS_H */
