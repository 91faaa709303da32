#ifndef CLOMACHECKSUM_H
#define CLOMACHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `length` bytes at `data`, continuing
/// from `crc` (0 to start; pass a previous result to checksum several buffers as one). Uses the
/// SSE4.2 `crc32` instruction when the CPU has it (picked once at run time) and a slicing-by-8
/// table otherwise; both give the same value.
uint32_t loma_crc32c(uint32_t crc, const void *data, size_t length);

/// 1 when `loma_crc32c` runs on the SSE4.2 instruction, 0 when it uses the table.
int loma_crc32c_is_hardware(void);

/// The table path regardless of the CPU, so tests can check both paths agree.
uint32_t loma_crc32c_portable(uint32_t crc, const void *data, size_t length);

#endif
