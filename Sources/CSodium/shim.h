#ifndef CSODIUM_SHIM_H
#define CSODIUM_SHIM_H
// libsodium (Debian libsodium-dev, already a dependency of libzmq3-dev), for the BLAKE2b digest
// that content-addresses segment blobs in the shared tier.
#include <sodium.h>
#endif
