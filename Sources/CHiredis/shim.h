#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H
// hiredis (Debian libhiredis-dev), the C Redis client the `Redis` module wraps. Debian 12's
// build has no TLS (no hiredis_ssl), so rediss:// is refused by `RedisURL`.
#include <hiredis/hiredis.h>
#endif
