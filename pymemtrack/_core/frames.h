/* The local variables of a running frame, read without side effects. */
#ifndef PMT_FRAMES_H
#define PMT_FRAMES_H

#include "compat.h"

/* The frame functions, added to the module by module.c. */
extern PyMethodDef pmt_frames_methods[];

#endif /* PMT_FRAMES_H */
