/* garbage_cycles(): the cyclic garbage of this moment, grouped into cycles,
   without collecting it (the analysis is in garbage.c and scc.c). */
#ifndef PMT_CYCLES_H
#define PMT_CYCLES_H

#include "compat.h"

/* garbage_cycles() and its allocation-failure test hook, added by module.c. */
extern PyMethodDef pmt_cycles_methods[];

#endif /* PMT_CYCLES_H */
