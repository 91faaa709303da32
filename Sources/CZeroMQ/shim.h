#ifndef LOMAD_CZEROMQ_SHIM_H
#define LOMAD_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
