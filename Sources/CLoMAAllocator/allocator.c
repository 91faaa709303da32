#include "CLoMAAllocator.h"

// Any C library header first: glibc defines __GLIBC__ in <features.h>, which they include.
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int loma_release_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}
