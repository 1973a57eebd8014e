/* IdMap: the addresses of every GC object, grouped by type name, for
   objgraph's get_new_ids. Not a GC object; holds names, never objects. */
#ifndef PMT_IDS_H
#define PMT_IDS_H

#include "compat.h"

/* The IdMap type spec; module.c creates the type from it. */
extern PyType_Spec pmt_idmap_spec;

#endif /* PMT_IDS_H */
