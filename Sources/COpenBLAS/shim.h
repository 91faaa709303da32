#ifndef LOMAD_COPENBLAS_SHIM_H
#define LOMAD_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
