/* HeapReference: the fingerprints (address and type) of every object alive
   at one moment, so that later walks show only what is new since then
   (guppy's relative heap). Not a GC object; holds no object, so a reference
   point keeps nothing alive. */
#ifndef PMT_HEAPREF_H
#define PMT_HEAPREF_H

#include "pagemap.h"

/* The HeapReference type spec; module.c creates the type from it. */
extern PyType_Spec pmt_heapref_spec;

/* The address map of op (borrowed, lives as long as op; each object's slot
   holds pmt_type_tag() of its type) when op is a HeapReference; else NULL
   with a TypeError naming argname. */
pmt_pagemap *pmt_heapref_map(PyObject *op, const char *argname);

#endif /* PMT_HEAPREF_H */
