// CRC-32C for the store's record checksums. In C rather than Swift because SwiftPM builds C
// targets the same way in debug and release, so the tests (debug) and the daemon (release)
// checksum at hardware speed, and the SSE4.2 instruction needs a per-function target attribute.
#include "CLoMAChecksum.h"

#include <pthread.h>
#include <string.h>

#define POLYNOMIAL 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t byte = 0; byte < 256; byte++) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (POLYNOMIAL & (0u - (crc & 1u)));
        table[0][byte] = crc;
    }
    for (uint32_t byte = 0; byte < 256; byte++) {
        for (int slice = 1; slice < 8; slice++) {
            uint32_t previous = table[slice - 1][byte];
            table[slice][byte] = (previous >> 8) ^ table[0][previous & 0xFF];
        }
    }
}

uint32_t loma_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&table_once, build_table);
    const unsigned char *bytes = data;
    crc = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        word ^= crc;
        crc = table[7][word & 0xFF] ^ table[6][(word >> 8) & 0xFF] ^ table[5][(word >> 16) & 0xFF] ^
              table[4][(word >> 24) & 0xFF] ^ table[3][(word >> 32) & 0xFF] ^ table[2][(word >> 40) & 0xFF] ^
              table[1][(word >> 48) & 0xFF] ^ table[0][word >> 56];
        bytes += 8;
        length -= 8;
    }
    while (length--) crc = (crc >> 8) ^ table[0][(crc ^ *bytes++) & 0xFF];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const unsigned char *bytes = data;
    uint64_t state = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        state = __builtin_ia32_crc32di(state, word);
        bytes += 8;
        length -= 8;
    }
    uint32_t tail = (uint32_t)state;
    while (length--) tail = __builtin_ia32_crc32qi(tail, *bytes++);
    return ~tail;
}

int loma_crc32c_is_hardware(void) {
    return __builtin_cpu_supports("sse4.2");
}

uint32_t loma_crc32c(uint32_t crc, const void *data, size_t length) {
    static int hardware = -1;
    int use = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (use < 0) {
        use = loma_crc32c_is_hardware();
        __atomic_store_n(&hardware, use, __ATOMIC_RELAXED);
    }
    return use ? crc32c_sse42(crc, data, length) : loma_crc32c_portable(crc, data, length);
}
#else
int loma_crc32c_is_hardware(void) { return 0; }

uint32_t loma_crc32c(uint32_t crc, const void *data, size_t length) {
    return loma_crc32c_portable(crc, data, length);
}
#endif
