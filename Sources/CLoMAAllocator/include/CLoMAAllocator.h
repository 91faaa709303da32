#ifndef CLOMAALLOCATOR_H
#define CLOMAALLOCATOR_H

/// Gives the allocator's free memory back to the operating system: glibc's `malloc_trim(0)`,
/// which walks every arena. Returns 1 if memory was released, 0 if none was or the C library
/// has no such call. A shim because Swift's Glibc module does not export <malloc.h>.
int loma_release_free_memory(void);

#endif
