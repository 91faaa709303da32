#ifndef LOMAD_CLMDB_SHIM_H
#define LOMAD_CLMDB_SHIM_H
#include <lmdb.h>
#endif
